"""The worked language example (examples/arena_bats_language/): a third fixture language added by
a plugin alone. Its parts on their own, then the README's command: the reference student passes
its fixture and a student that only calls finish fails it, with per-test FAIL_TO_PASS and
PASS_TO_PASS read by the plugin's TAP parser."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pytest_arena.engine import languages
from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.editable import EditPolicy, default_editable

from .helpers import FINISH, ROOT, junit_cases, run_pytest, write_script

EXAMPLE = ROOT / "examples" / "arena_bats_language"
SLUGIFY = EXAMPLE / "fixtures" / "unix__01-slugify"
README = (ROOT / "README.md").read_text(encoding="utf-8")
requires_bats = pytest.mark.skipif(shutil.which("bats") is None, reason="bats not found (./run setup installs it)")


@pytest.fixture
def bats() -> Iterator[ModuleType]:
    """The example module, imported from its folder, its language registered as the hook would."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        import arena_bats_language

        for language in arena_bats_language.pytest_arena_languages(config=None):
            languages.register(language)
        yield arena_bats_language
    finally:
        languages.unregister("bats")
        sys.path.remove(str(EXAMPLE))


def test_entry_point_names_the_module() -> None:
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["entry-points"]["pytest11"] == {"arena_bats_language": "arena_bats_language"}


def test_tap_lines_become_per_test_results(bats: ModuleType) -> None:
    output = "1..4\nok 1 a b\nnot ok 2 c\n# (in test file x.bats, line 3)\nok 3 d # skip no network\nok 4 c\n"
    assert bats.parse_tap(output) == {"a b": "passed", "c": "failed", "d": "skipped"}


def test_the_fixture_is_a_bats_project(bats: ModuleType) -> None:
    spec = load_fixture(SLUGIFY)  # test_format = "tap" is known once the language is registered
    assert spec.test_format == "tap" and spec.editable is None
    assert languages.language_of(spec.repo_dir).name == "bats"
    assert default_editable(spec.repo_dir) == ["slugify.sh"]
    policy = EditPolicy.of(None, spec.protected, spec.repo_dir)
    assert policy.allows("slugify.sh") and not policy.allows("test/slugify.bats")
    assert policy.kind("test/setup_suite.bash") == "runner config"


@pytest.mark.slow
@requires_bats
def test_readme_command_reference_passes_and_finish_fails(tmp_path: Path) -> None:
    (command,) = [line for line in README.splitlines() if line.startswith("PYTHONPATH=examples/arena_bats_language ")]
    env_part, _, rest = command.partition(" ")
    finish = write_script(tmp_path / "finish.json", {"*": [FINISH]})
    junit = tmp_path / "junit.xml"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(
            "PYTHONPATH", os.pathsep.join([str(ROOT / env_part.partition("=")[2]), os.environ.get("PYTHONPATH", "")])
        )
        run = run_pytest(
            *shlex.split(rest)[1:],
            "--arena-student",
            f"scripted:{finish}",
            f"--junitxml={junit}",
            f"--arena-reports={tmp_path / 'reports'}",
        )
    cases = junit_cases(junit)
    outcomes = {name.partition("[")[2].partition("-")[0]: props["arena.outcome"] for name, props in cases.items()}
    assert outcomes == {"reference": "OraclePassed", "scripted": "OracleFailed"}, run.output
    for props in cases.values():
        assert (props["arena.f2p_total"], props["arena.p2p_total"]) == ("1", "4"), props
    assert run.returncode == 1 and "1 failed, 1 passed" in run.output


@pytest.mark.slow
@requires_bats
def test_arena_validate_proves_the_fixture(bats: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_arena.validate import main

    assert main([str(SLUGIFY.parent)]) == 0, capsys.readouterr().out
