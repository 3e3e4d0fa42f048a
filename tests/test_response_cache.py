"""The response cache (--arena-cache): a re-run campaign replays its generations instead of asking
the student again, a different seed or script is a different key, a damaged entry is a miss and
an unwritable cache folder still runs, said once."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from pytest_arena.engine import cachenote
from pytest_arena.engine.cachenote import CacheWarning
from pytest_arena.engine.corpus import FixtureSpec
from pytest_arena.engine.student import GenerationResult, Message, StudentBase, StudentConfig
from pytest_arena.results.item_page import render_item
from pytest_arena.results.trajectory import read_trajectory
from pytest_arena.students import response_cache
from pytest_arena.students.response_cache import CachedStudent, ResponseCache, cached, identity, prompt_of
from pytest_arena.students.scripted import ReferenceStudent, ScriptedStudent

from .helpers import FINISH, call, fault_probe, session, tiny_fixture, write_script

WRITE = call("file_write", path="answer.txt", content="42\n")

COUNTING_CONFTEST = """
from pytest_arena import GenerationResult, StudentBase

TURNS = TURNS_HERE


class Counting(StudentBase):
    name = "counting"

    def start(self, fixture, config):
        pass

    def generate(self, messages, config):
        turn = sum(m["role"] == "assistant" for m in messages)
        with open(LOG_HERE, "a") as log:
            log.write(f"seed {config.seed} turn {turn}\\n")
        return GenerationResult(text=TURNS[min(turn, 1)], prompt_tokens=7, completion_tokens=3)

    def describe(self):
        return {"backend": "counting", "model": "counting-1"}


def pytest_arena_make_student(config, spec):
    return Counting() if spec == "counting" else None
"""


class Counting(StudentBase):
    """Answers the turns it is given, counting every generation (the model's work a hit saves)."""

    name = "counting"

    def __init__(self, turns: list[GenerationResult], model: str = "counting-1") -> None:
        self.turns, self.model, self.calls = turns, model, 0

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        return None

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        self.calls += 1
        turn = sum(m["role"] == "assistant" for m in messages)
        return self.turns[min(turn, len(self.turns) - 1)]

    def describe(self) -> dict[str, object]:
        return {"backend": "counting", "model": self.model}


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.setattr(cachenote, "_SAID", set())  # "said once" per test, not per test process
    return folder


def _records(reports: Path) -> list[dict[str, object]]:
    runs = sorted(reports.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(line) for line in (runs[-1] / "results.jsonl").read_text().splitlines()]


def test_a_re_run_campaign_with_the_cache_generates_nothing_again(pytester: pytest.Pytester, xdg: Path) -> None:
    log = pytester.path / "generations.log"
    conftest = COUNTING_CONFTEST.replace("TURNS_HERE", repr([WRITE, FINISH]))
    pytester.makeconftest(conftest.replace("LOG_HERE", repr(str(log))))
    corpus = tiny_fixture(pytester.path / "corpus")
    reports = pytester.path / "reports"

    def campaign(*extra: str) -> dict[str, object]:
        args = ("--arena", "--arena-student", "counting", "--arena-reports", str(reports), *extra, str(corpus))
        pytester.inline_run(*args).assertoutcome(passed=1)
        (record,) = _records(reports)
        return record

    first = campaign("--arena-cache")
    assert log.read_text().splitlines() == ["seed 0 turn 0", "seed 0 turn 1"] and first["cache_hits"] == 0
    again = campaign("--arena-cache")
    assert log.read_text().count("\n") == 2  # no second generation: both turns came from the cache
    assert again["cache_hits"] == 2 and again["outcome"] == first["outcome"] == "OraclePassed"
    assert (again["tokens_prompt"], again["tokens_completion"]) == (first["tokens_prompt"], first["tokens_completion"])
    path = reports / str(again["run_id"]) / str(again["trajectory"])
    assert [turn.get("cached") for turn in json.loads(path.read_text())["turns"]] == [True, True]
    stored = read_trajectory(path)
    assert stored.record is not None and render_item(stored.record, stored).count("from the response cache") == 2
    other_seed = campaign("--arena-cache", "--arena-seed", "1")
    assert log.read_text().splitlines()[2:] == ["seed 1 turn 0", "seed 1 turn 1"] and other_seed["cache_hits"] == 0
    campaign()  # without --arena-cache the student is asked again
    assert log.read_text().count("\n") == 6
    pytester.makeini("[pytest]\narena_cache = true\n")  # the ini key turns it on too
    assert campaign()["cache_hits"] == 2 and log.read_text().count("\n") == 6


def test_a_hit_reproduces_every_field_the_session_uses(xdg: Path) -> None:
    answer = GenerationResult(
        text="<tool_call>x</tool_call>", finish_reason="tool_calls", prompt_tokens=120, prefill_tokens=80,
        completion_tokens=9, seconds=3.5, extra={"repetition": "cut at token 30"}, prompt_text="<|im_start|>...",
        tool_calls=[{"id": "c1", "name": "file_read", "arguments": {"path": "a.py"}}],
    )  # fmt: skip
    student = cached(Counting([answer]), ResponseCache())
    assert isinstance(student, CachedStudent)
    messages: list[Message] = [{"role": "user", "content": "fix it"}]
    first = student.generate(messages, StudentConfig())
    replayed = student.generate(messages, StudentConfig())
    assert isinstance(student.inner, Counting) and student.inner.calls == 1
    assert first is answer and not first.cached and replayed.cached
    for name in ("text", "finish_reason", "prompt_tokens", "prefill_tokens", "completion_tokens", "extra"):
        assert getattr(replayed, name) == getattr(answer, name), name
    assert replayed.tool_calls == answer.tool_calls and replayed.prompt_text == answer.prompt_text
    assert replayed.seconds < 1.0  # the lookup's time, not the generation's


def test_the_key_holds_every_sampling_setting_the_model_and_the_prompt(xdg: Path) -> None:
    student = cached(Counting([GenerationResult(text="hi")]), ResponseCache())
    assert isinstance(student, CachedStudent)
    messages: list[Message] = [{"role": "user", "content": "fix it"}]
    base = student.key(messages, StudentConfig())
    assert student.key(messages, StudentConfig(turn_timeout_s=5)) == base  # a limit on waiting only
    changed = [StudentConfig(seed=1), StudentConfig(temperature=0.7), StudentConfig(top_k=1), StudentConfig(stop=())]
    assert base not in {student.key(messages, config) for config in changed}
    assert student.key([{"role": "user", "content": "fix that"}], StudentConfig()) != base
    other = cached(Counting([GenerationResult(text="hi")], model="counting-2"), ResponseCache())
    assert isinstance(other, CachedStudent) and other.key(messages, StudentConfig()) != base


def test_a_template_student_is_keyed_by_its_rendered_prompt() -> None:
    class Rendering(Counting):
        def render(self, messages: list[Message], tools: object = ()) -> str:
            return "<|im_start|>" + "|".join(str(m["content"]) for m in messages)

    messages: list[Message] = [{"role": "user", "content": "fix it"}]
    assert prompt_of(Rendering([]), messages, StudentConfig()) == "<|im_start|>fix it"
    assert "fix it" in prompt_of(Counting([]), messages, StudentConfig())  # the messages and tools as sent


def test_students_naming_no_model_are_not_cached_and_scripts_are_keyed_by_content(tmp_path: Path) -> None:
    reference = ReferenceStudent()
    assert cached(reference, ResponseCache(tmp_path)) is reference  # its answers are the solution/, not a model's
    script = write_script(tmp_path / "s.json", {"*": ["one"]})
    before = identity(ScriptedStudent(script))
    write_script(script, {"*": ["two"]})
    after = identity(ScriptedStudent(script))
    assert before is not None and after is not None and before != after


def test_a_scripted_student_replayed_in_part_resumes_at_the_right_turn(tmp_path: Path, xdg: Path) -> None:
    """Hits never reach the script: the turn after them is the history's, not the script's counter."""
    fixture = tiny_fixture(tmp_path)
    script = write_script(tmp_path / "s.json", {"*": ["let me look", "still looking", WRITE, FINISH]})
    cache = ResponseCache()
    first = session(fixture, cached(ScriptedStudent(script), cache), max_turns=2)[0]
    assert first.outcome.name == "OracleFailedAfterMaxTurns" and first.cache_hits == 0
    longer = session(fixture, cached(ScriptedStudent(script), cache), max_turns=4)[0]
    assert longer.outcome.name == "OraclePassed" and longer.cache_hits == 2
    assert [turn.cached for turn in longer.turns] == [True, True, False, False]


def test_a_corrupt_entry_is_a_miss_without_a_traceback(tmp_path: Path, xdg: Path) -> None:
    fixture = tiny_fixture(tmp_path)
    counting = Counting([GenerationResult(text=WRITE), GenerationResult(text=FINISH)])
    student = cached(counting, ResponseCache())
    assert session(fixture, student)[0].outcome.name == "OraclePassed" and counting.calls == 2
    entries = sorted((xdg / "pytest-arena" / "responses").glob("*/*.json"))
    assert len(entries) == 2
    entries[0].write_text('{"format": 1, "key": "truncated')
    entries[1].write_text(json.dumps(json.loads(entries[1].read_text()) | {"text": 42}))  # a wrong type
    result = session(fixture, student)[0]
    assert result.outcome.name == "OraclePassed" and counting.calls == 4 and result.cache_hits == 0
    assert not fault_probe("corrupt response-cache entry", result.outcome.summary())
    assert session(fixture, student)[0].cache_hits == 2  # the misses were stored again, whole


def test_an_unwritable_cache_folder_still_runs_and_says_so_once(tmp_path: Path, xdg: Path) -> None:
    xdg.write_text("")  # a file where the cache folder would go: unwritable even for root
    fixture = tiny_fixture(tmp_path)
    counting = Counting([GenerationResult(text=WRITE), GenerationResult(text=FINISH)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            assert session(fixture, cached(counting, ResponseCache()))[0].outcome.name == "OraclePassed"
    said = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    lines = [line for line in said if "response cache" in line]  # the baselines' cache says its own line
    assert counting.calls == 4 and len(lines) == 1  # computed without saving, said once
    assert "without saving" in lines[0] and "\n" not in lines[0]
    assert not fault_probe("unwritable response cache", lines[0])


def test_oversized_and_timed_out_generations_are_not_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ResponseCache(tmp_path)
    monkeypatch.setattr(response_cache, "MAX_ENTRY_BYTES", 1000)
    cache.put("aa" * 32, GenerationResult(text="x" * 2000))
    cache.put("bb" * 32, GenerationResult(text="half", finish_reason="timeout"))
    cache.put("cc" * 32, GenerationResult(text="fits"))
    assert cache.get("aa" * 32) is None and cache.get("bb" * 32) is None
    found = cache.get("cc" * 32)
    assert found is not None and found.text == "fits"
    assert not list(tmp_path.glob("*/*.tmp"))  # written whole: no temporary left behind
    (tmp_path / "cd").mkdir()
    (tmp_path / "cc" / f"{'cc' * 32}.json").rename(tmp_path / "cd" / f"{'cd' * 32}.json")
    assert cache.get("cd" * 32) is None  # an entry under another key's name is not that key's


class ToolsBlocked(Counting):
    """A server-backed student whose server renders no tools (as llama-server reports in /props)."""

    native_tools = True

    def native_tools_blocked(self) -> str:
        return "the server reports supports_tools: false"


def test_the_cache_keeps_every_capability_of_the_student_it_wraps(xdg: Path) -> None:
    """Behind the cache the dialect choice must still hear that the server renders no tools, or the
    model would get tool calls it never saw described."""
    inner = ToolsBlocked([GenerationResult(text="x")])
    student = cached(inner, ResponseCache())
    assert isinstance(student, CachedStudent)
    assert student.native_tools and student.native_tools_blocked() == inner.native_tools_blocked()
