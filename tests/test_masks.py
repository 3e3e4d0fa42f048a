"""What a sandboxed command may not read of the project checkout: every corpus's answers. A folder
holding nothing but fixtures is one mask (a mount at every command's start: 415 masks, one per
answer folder of the synthesized corpus, cost 39 ms a command); a fixture anywhere else gives its
answer folders. The attack itself (reading another corpus's solution from inside the sandbox) is
tests/security/test_adversarial.py::test_home_folders_and_every_corpus_answers_are_masked."""

from __future__ import annotations

from pathlib import Path

from pytest_arena.engine.sandbox import answer_folders, masked_paths


def _fixture(folder: Path, *answers: str) -> Path:
    for name in ("repo", *answers):
        (folder / name).mkdir(parents=True)
    (folder / "meta.toml").write_text("", encoding="utf-8")
    return folder


def test_a_corpus_folder_is_one_mask_and_a_fixture_elsewhere_gives_its_answers(tmp_path: Path) -> None:
    project = tmp_path.resolve()
    for name in ("x__01-a", "x__02-b"):
        _fixture(project / "fixtures" / "a" / name, "solution", "hidden")
    _fixture(project / "fixtures" / "synth" / "rust" / "y__01-c", "solution")
    (project / "fixtures" / "synth" / "manifest.json").write_text("{}", encoding="utf-8")
    stray = _fixture(project / "examples" / "one", "solution", "noncompliant")
    (project / "examples" / "tools").mkdir()  # not only fixtures: examples/ stays readable
    top = _fixture(project / "z__01-top", "hidden")  # a fixture in the project root: never the root whole
    answer_folders.cache_clear()
    try:
        found = set(answer_folders(project))
        masks = masked_paths(project, project / "fixtures" / "a")
    finally:
        answer_folders.cache_clear()
    assert found == {
        project / "fixtures" / "a",
        project / "fixtures" / "synth" / "rust",
        stray / "solution",
        stray / "noncompliant",
        top / "hidden",
    }
    assert project not in masks and project / "examples" not in masks
    assert len(masks) == len(set(masks)) == len(found) + 1  # the named corpus once; .git beside
