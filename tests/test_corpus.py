from __future__ import annotations

from pathlib import Path

import pytest

from pytest_arena.engine.corpus import FixtureError, discover, load_fixture

GOOD = """id = "{id}"
class = "leetcode"
description = "a tiny fixture"
oracle_cmd = "true"
expected_pattern = "ok"
"""


def make_fixture(root: Path, fixture_id: str = "leetcode__09-tiny", meta: str | None = None) -> Path:
    folder = root / fixture_id
    (folder / "repo").mkdir(parents=True)
    (folder / "prompt.md").write_text("fix it\n")
    (folder / "meta.toml").write_text(GOOD.format(id=fixture_id) if meta is None else meta)
    return folder


def test_loads_a_valid_fixture_with_defaults(tmp_path: Path) -> None:
    spec = load_fixture(make_fixture(tmp_path))
    assert spec.fixture_class == "leetcode"
    assert (spec.max_turns, spec.max_tokens, spec.protected, spec.compliance_cmd) == (20, 1024, [], None)
    assert spec.repo_dir == tmp_path / "leetcode__09-tiny" / "repo"
    assert spec.prompt == "fix it\n"


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('colour = "red"\n', "colour", "remove it or rename it"),
        ("max_turns = 'many'\n", "max_turns", "valid integer"),
        ("max_turns = 0\n", "max_turns", "greater than or equal to 1"),
        ("difficulty = 7\n", "difficulty", "less than or equal to 3"),
        ("protected = 'tests/**'\n", "protected", "valid list"),
    ],
)
def test_bad_keys_name_file_key_and_fix(tmp_path: Path, extra: str, key: str, words: str) -> None:
    folder = make_fixture(tmp_path, meta=GOOD.format(id="leetcode__09-tiny") + extra)
    with pytest.raises(FixtureError) as info:
        load_fixture(folder)
    message = str(info.value)
    assert str(folder / "meta.toml") in message
    assert f"key '{key}'" in message
    assert words in message and "Fix:" in message


def test_missing_required_key(tmp_path: Path) -> None:
    meta = GOOD.format(id="leetcode__09-tiny").replace('oracle_cmd = "true"\n', "")
    with pytest.raises(FixtureError, match=r"key 'oracle_cmd'.*Fix: add `oracle_cmd = \.\.\.`"):
        load_fixture(make_fixture(tmp_path, meta=meta))


def test_id_must_match_folder(tmp_path: Path) -> None:
    folder = make_fixture(tmp_path, meta=GOOD.format(id="leetcode__01-other"))
    with pytest.raises(FixtureError, match=r"key 'id'.*does not match the folder name"):
        load_fixture(folder)


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    folder = make_fixture(tmp_path, meta='id = "x\nclass = \n')
    with pytest.raises(FixtureError, match=r"meta\.toml: malformed TOML .*line"):
        load_fixture(folder)


def test_invalid_regex_is_named(tmp_path: Path) -> None:
    meta = GOOD.format(id="leetcode__09-tiny").replace('"ok"', '"test result: (ok"')
    with pytest.raises(FixtureError, match=r"key 'expected_pattern'.*not a valid regular expression"):
        load_fixture(make_fixture(tmp_path, meta=meta))


def test_class_must_be_a_marker_word(tmp_path: Path) -> None:
    meta = GOOD.format(id="leetcode__09-tiny").replace('class = "leetcode"', 'class = "Leet Code"')
    with pytest.raises(FixtureError, match=r"key 'class'"):
        load_fixture(make_fixture(tmp_path, meta=meta))


@pytest.mark.parametrize("missing", ["repo", "prompt.md"])
def test_missing_repo_or_prompt(tmp_path: Path, missing: str) -> None:
    folder = make_fixture(tmp_path)
    target = folder / missing
    target.rmdir() if target.is_dir() else target.unlink()
    with pytest.raises(FixtureError, match=f"missing {missing}"):
        load_fixture(folder)


def test_discover_skips_private_folders(tmp_path: Path) -> None:
    folder = make_fixture(tmp_path)
    (folder / "solution").mkdir()
    (folder / "solution" / "meta.toml").write_text("not a fixture")
    (folder / "repo" / "meta.toml").write_text("not a fixture")
    assert list(discover(tmp_path)) == [folder / "meta.toml"]


def test_a_synthesized_corpus_is_discovered_only_when_asked_for_or_named(tmp_path: Path) -> None:
    curated = make_fixture(tmp_path)
    synth = tmp_path / "synth"
    planted = make_fixture(synth / "rust")
    (synth / "manifest.json").write_text('{\n "tool": "arena-synth",\n "format": 1\n}\n')
    assert list(discover(tmp_path)) == [curated / "meta.toml"]
    assert sorted(discover(tmp_path, synthesized=True)) == sorted([curated / "meta.toml", planted / "meta.toml"])
    assert list(discover(synth)) == list(discover(synth / "rust")) == [planted / "meta.toml"]
    (synth / "manifest.json").write_text('{"tool": "something else"}')  # not arena-synth's: an ordinary folder
    assert len(list(discover(tmp_path))) == 2
