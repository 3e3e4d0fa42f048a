"""Hostile fixtures (issue 20, bug 13): a corpus is input too. A link in a fixture folder could
lead the student's view (the task message, the workspace) to a host file; such a fixture must
fail to load, as a collection error of its own items only. Each attempt is a real ``pytest
--arena`` run judged on everything the run wrote; the suite's tally counts it."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_arena.engine.corpus import FixtureError, load_fixture

from ..helpers import FINISH, call, run_pytest, tiny_fixture, write_script
from .conftest import TALLY

SECRET = f"arena-host-secret-{uuid.uuid4().hex}"


def host_file(tmp_path: Path) -> Path:
    """A file outside every fixture, standing for ~/.ssh/id_rsa or a credentials file."""
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(f"{SECRET}\n")
    return secret


def link_prompt(fixture: Path, secret: Path) -> Path:
    (fixture / "prompt.md").unlink()
    (fixture / "prompt.md").symlink_to(secret)
    return fixture / "prompt.md"


def link_repo(fixture: Path, secret: Path) -> Path:
    """repo/ as a link to a host folder that holds a plausible project beside the secret."""
    os.rename(fixture / "repo", secret.parent / "project")
    (secret.parent / "project" / "secret.txt").write_text(secret.read_text())
    (fixture / "repo").symlink_to(secret.parent / "project")
    return fixture / "repo"


def link_inside(folder: str) -> Callable[[Path, Path], Path]:
    def make(fixture: Path, secret: Path) -> Path:
        (fixture / folder).mkdir(exist_ok=True)
        (fixture / folder / "secret.txt").symlink_to(secret)
        return fixture / folder / "secret.txt"

    return make


HOSTILE = {
    "prompt.md links to a host file": link_prompt,
    "repo/ links to a host folder": link_repo,
    "a file in repo/ links to a host file": link_inside("repo"),
    "a file in solution/ links to a host file": link_inside("solution"),
    "a file in hidden/ links to a host file": link_inside("hidden"),
}


@pytest.mark.parametrize("attempt", HOSTILE)
def test_a_hostile_fixture_fails_to_load_naming_the_link(tmp_path: Path, attempt: str) -> None:
    link = HOSTILE[attempt](tiny_fixture(tmp_path), host_file(tmp_path))
    try:
        spec = load_fixture(tmp_path / "tiny__01-answer")
    except FixtureError as exc:
        refused, message = True, str(exc)
    else:
        refused, message = False, spec.prompt
    TALLY.append((f"hostile fixture: {attempt}", not refused))
    assert refused, f"BREACH: {attempt}: the fixture loaded"
    assert message.startswith(f"{link}: is a symbolic link (to ") and "Fix: " in message


@pytest.mark.slow
def test_no_host_file_reaches_the_student_in_a_real_run(tmp_path: Path) -> None:
    """The student reads what it can (the task message and a file of its workspace) while two
    hostile fixtures sit beside an honest one: neither host file shows anywhere the run wrote, and
    the honest fixture still runs."""
    secret = host_file(tmp_path)
    corpus = tmp_path / "corpus"
    prompt_link = link_prompt(tiny_fixture(corpus, "tiny__01-prompt"), secret)
    repo_link = link_repo(tiny_fixture(corpus, "tiny__02-repo"), secret)
    honest = tiny_fixture(corpus, "tiny__03-honest")
    script = write_script(tmp_path / "reader.json", {"*": [call("file_read", path="secret.txt"), FINISH]})
    reports = tmp_path / "r"
    run = run_pytest(
        "--arena", "-p", "no:xdist", "--continue-on-collection-errors", "--arena-student", f"scripted:{script}",
        f"--arena-reports={reports}", *(str(corpus / name) for name in sorted(os.listdir(corpus))),
    )  # fmt: skip
    written = [p for p in reports.rglob("*") if p.is_file()]
    leaked = [str(p) for p in written if SECRET.encode() in p.read_bytes()]
    TALLY.append(("hostile fixtures in a real run", bool(leaked) or SECRET in run.output))
    assert not leaked and SECRET not in run.output, f"BREACH: the host file reached {leaked or 'the output'}"
    assert f"{prompt_link}: is a symbolic link" in run.output and f"{repo_link}: is a symbolic link" in run.output
    assert "1 failed, 2 errors" in run.output, run.output  # only the honest fixture ran (and failed: it finished)
    records = [json.loads(line) for line in (reports / "latest" / "results.jsonl").read_text().splitlines()]
    assert [r["fixture"] for r in records] == [honest.name]
