"""The degeneration stop: degenerate samples seen from the default student are cut early; long
legitimate code, the corpus, every reference turn and scripted turn are never cut (real tokenizer)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.protocol import ToolCall
from pytest_arena.engine.repetition import (
    BLOCK_REPEATS,
    MIN_SPAN,
    RepetitionRule,
    RepetitionSettingError,
    first_cut,
    parse_rule,
)
from pytest_arena.engine.workspace import iter_files

from .helpers import CORPUS, FINISH, ROOT, call, run_pytest, tiny_fixture, write_script

RULE = RepetitionRule()
PYTEST_SNIPPET = (
    "```python\nimport pytest\n\ndef test_two_sum():\n    assert two_sum([2, 7, 11, 15], 9) == [0, 1]\n"
    "    assert two_sum([3, 2, 4], 6) == [1, 2]\n    assert two_sum([3, 3], 6) == [0, 1]\n"
    "    assert two_sum([1, 5, 9, 13], 14) == [1, 2]\n```\n\n"
)


def words(text: str) -> list[tuple[str, str]]:
    """A rough tokenizer for the pure tests: words, single punctuation, whitespace runs."""
    return [(piece, piece) for piece in re.findall(r"\w+|\s+|[^\w\s]", text)]


@pytest.mark.parametrize(
    ("sample", "cap"),
    [
        ("# Two-Sum\n\n" * 200, 200),
        ("```rust\n" * 250, 200),
        ("To solve this, " + PYTEST_SNIPPET * 12, 2000),
    ],
)
def test_degenerate_samples_from_the_issue_are_cut_early(sample: str, cap: int) -> None:
    tokens = words(sample)
    cut = first_cut(RULE, tokens)
    assert cut is not None, "a looping turn must be stopped"
    assert cut.at_token < min(cap, len(tokens) // 2), cut
    assert cut.repeats >= 2
    assert "repeated" in cut.describe()


def test_long_snippet_loop_is_cut_by_the_line_rule() -> None:
    """A block longer than PERIOD tokens escapes the token rule; the line rule catches it."""
    assert first_cut(RULE, words(PYTEST_SNIPPET * 3)) is None
    cut = first_cut(RepetitionRule(period=8, repeats=8), words(PYTEST_SNIPPET * 12))
    assert cut is not None and cut.unit == "lines" and cut.repeats == BLOCK_REPEATS


def test_one_line_repeated_ten_times_is_cut() -> None:
    line = "let result = two_sum(vec![2, 7, 11, 15], 9); // check the answer for this case\n"
    assert first_cut(RepetitionRule(period=4, repeats=8), words(line * 9)) is None
    cut = first_cut(RepetitionRule(period=4, repeats=8), words(line * 10))
    assert cut is not None and (cut.unit, cut.period, cut.repeats) == ("lines", 1, 10)


def test_short_runs_of_identical_tokens_are_not_cut() -> None:
    banner = "// " + "=" * 40 + "\n"
    zeros = "let grid = [" + ", ".join(["0"] * 20) + "];\n"
    assert first_cut(RULE, [(c, c) for c in banner]) is None
    assert first_cut(RULE, words(zeros)) is None
    # the same token MIN_SPAN times is a loop
    assert first_cut(RULE, [("x", "x")] * MIN_SPAN) is not None


def test_legitimate_code_with_repeated_lines_is_not_cut() -> None:
    nested = "fn f() {\n" + "".join("    " * i + "if x {\n" for i in range(1, 8))
    nested += "".join("    " * i + "}\n" for i in range(7, 0, -1)) + "}\n"
    tests = "".join(
        f"#[test]\nfn case_{i}() {{\n    assert_eq!(two_sum(&[{i}, {i + 1}], {2 * i + 1}), Some((0, 1)));\n}}\n\n"
        for i in range(40)
    )
    python = "".join(f"def test_{i}():\n    assert solve({i}) == {i * i}\n\n\n" for i in range(40))
    nested = "".join(nested.replace("fn f(", f"fn f{i}(") for i in range(5))
    for text in (nested, tests, python):
        assert first_cut(RULE, words(text)) is None


def test_the_detector_stays_cut_and_counts_tokens() -> None:
    detector = RULE.detector()
    cuts = [detector.feed(1, "a") for _ in range(MIN_SPAN + 5)]
    assert cuts[MIN_SPAN - 2] is None and cuts[MIN_SPAN - 1] is not None
    assert cuts[-1] is cuts[MIN_SPAN - 1]
    assert cuts[-1].at_token == MIN_SPAN


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("off", None), ("64:8", RepetitionRule(64, 8)), ("16:4", RepetitionRule(16, 4)), ("", RepetitionRule())],
)
def test_parse_rule(raw: str, expected: RepetitionRule | None) -> None:
    assert parse_rule(raw) == expected


@pytest.mark.parametrize("raw", ["64", "a:b", "0:8", "64:1", "64:8:2"])
def test_parse_rule_refuses_bad_values(raw: str) -> None:
    with pytest.raises(RepetitionSettingError, match="PERIOD:REPEATS"):
        parse_rule(raw)


# ---------------------------------------------------------------- the real tokenizer, real texts


def _corpus_texts() -> list[tuple[str, str]]:
    """Every turn the reference student sends (both corpora), the fixtures' own files as a model
    would write them back, and every scripted turn shipped with the project."""
    texts: list[tuple[str, str]] = []
    for meta in sorted((ROOT / "fixtures").glob("*/*/meta.toml")):
        spec = load_fixture(meta.parent)
        for folder in (spec.repo_dir, spec.solution_dir, spec.directory / "noncompliant"):
            if not folder.is_dir():
                continue
            for rel in iter_files(folder):
                path = folder / rel
                try:
                    content = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue
                turn = ToolCall("file_write", {"path": rel, "content": content}).to_text()
                texts.append((f"{spec.id}/{folder.name}/{rel}", turn))
    for script in sorted(ROOT.glob("examples/**/*.jsonl")):
        for n, line in enumerate(script.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                texts.append((f"{script.name}:{n}", json.dumps(json.loads(line))))
    texts.append(("call", call("shell", command="cargo test --offline 2>&1 | tail -5")))
    return texts


@pytest.fixture(scope="module")
def tokenizer() -> object:
    llama_cpp = pytest.importorskip("llama_cpp")
    from pytest_arena.students.llama_cpp import default_model_path

    try:
        path = default_model_path()
    except Exception as exc:  # the default model is installed by ./run setup
        pytest.skip(str(exc))
    return llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)


def real_tokens(llm: object, text: str) -> list[tuple[int, str]]:
    ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)  # type: ignore[attr-defined]
    return [(i, llm.detokenize([i]).decode("utf-8", errors="replace")) for i in ids]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_no_reference_or_scripted_turn_is_cut(tokenizer: object) -> None:
    texts = _corpus_texts()
    assert len(texts) > 100
    cut = {name: c.describe() for name, text in texts if (c := first_cut(RULE, real_tokens(tokenizer, text)))}
    assert cut == {}


def test_issue_samples_are_cut_with_the_real_tokenizer(tokenizer: object) -> None:
    for sample in ("# Two-Sum\n\n" * 200, "```rust\n" * 250, "Here is a test:\n" + PYTEST_SNIPPET * 12):
        tokens = real_tokens(tokenizer, sample)
        cut = first_cut(RULE, tokens)
        # well before the default 1024-token cap: at most half of it
        assert cut is not None and cut.at_token < 512 and cut.at_token < len(tokens) // 2, (sample[:20], cut)


@pytest.mark.slow
def test_reference_turns_are_long_enough_to_matter(tokenizer: object) -> None:
    longest = max(len(real_tokens(tokenizer, text)) for _, text in _corpus_texts())
    assert longest > 8 * MIN_SPAN  # the no-cut test above covers turns far longer than any rule's span


@pytest.mark.slow
def test_a_bad_setting_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    bad = run_pytest("--arena", "--arena-repetition-stop", "64", "--collect-only", str(CORPUS / "unix__01-wc"))
    assert bad.returncode == 4, bad.output
    assert "argument --arena-repetition-stop: '64': expected off or PERIOD:REPEATS" in bad.stderr
    assert "Traceback" not in bad.output
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\narena_repetition_stop = 8:1\n", encoding="utf-8")
    from_ini = run_pytest("-c", str(ini), "--arena", "--collect-only", str(CORPUS / "unix__01-wc"))
    assert from_ini.returncode == 4 and "'8:1': expected off or PERIOD:REPEATS" in from_ini.stderr


@pytest.mark.slow
def test_the_setting_is_recorded_with_the_sampling_values(tmp_path: Path) -> None:
    script = write_script(tmp_path / "talk.json", {"*": [FINISH]})
    fixture = tiny_fixture(tmp_path)
    for value, recorded in (("off", "off"), ("16:4", "16:4"), (None, "64:8")):
        reports = tmp_path / f"r-{recorded.replace(':', '-')}"
        extra = [f"--arena-repetition-stop={value}"] if value else []
        run = run_pytest(
            "--arena", "--arena-student", f"scripted:{script}", "--arena-sandbox", "none",
            f"--arena-reports={reports}", *extra, str(fixture), "-W", "ignore",
        )  # fmt: skip
        assert run.returncode == 1, run.output
        record = json.loads((reports / "latest" / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
        assert record["repetition_stop"] == recorded
