from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace


@pytest.fixture
def pristine(tmp_path: Path) -> Path:
    repo = tmp_path / "fixture" / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "src" / "lib.rs").write_text("pub fn one() -> i32 {\n    2\n}\n")
    (repo / "tests" / "t.rs").write_text("#[test]\nfn t() {}\n")
    (repo / "target").mkdir()
    (repo / "target" / "junk").write_text("build output")
    return repo


@pytest.fixture
def ws(pristine: Path):
    workspace = Workspace(pristine, ["tests/**"])
    yield workspace
    workspace.cleanup()


def test_copy_is_private_and_skips_build_output(ws: Workspace, pristine: Path) -> None:
    assert (ws.root / "src" / "lib.rs").read_text() == (pristine / "src" / "lib.rs").read_text()
    assert not (ws.root / "target").exists()
    assert pristine not in ws.root.parents and ws.root != pristine


def test_read_write_edit_glob_grep(ws: Workspace) -> None:
    box = Toolbox(ws)
    read = box.execute("file_read", {"path": "src/lib.rs"})
    assert read.ok and "2|     2" in read.output
    assert box.execute("file_edit", {"path": "src/lib.rs", "old": "    2\n", "new": "    1\n"}).ok
    assert "    1" in (ws.root / "src/lib.rs").read_text()
    wrote = box.execute("file_write", {"path": "src/new/mod.rs", "content": "// new\n"})
    assert wrote.ok and wrote.path == "src/new/mod.rs"
    assert box.execute("glob", {"pattern": "src/**/*.rs"}).output.splitlines() == ["src/lib.rs", "src/new/mod.rs"]
    assert box.execute("grep", {"pattern": "pub fn"}).output == "src/lib.rs:1: pub fn one() -> i32 {"
    assert ws.changed_files() == ["src/lib.rs", "src/new/mod.rs"]
    assert "-    2\n+    1\n" in ws.diff()


def test_edit_needs_a_single_occurrence(ws: Workspace) -> None:
    box = Toolbox(ws)
    (ws.root / "a.txt").write_text("x x")
    assert "occurs 2 times" in box.execute("file_edit", {"path": "a.txt", "old": "x", "new": "y"}).output
    assert "not found" in box.execute("file_edit", {"path": "a.txt", "old": "z", "new": "y"}).output


@pytest.mark.parametrize("path", ["../outside.txt", "/tmp/arena-escape.txt", "src/../../x", "a\x00b"])
def test_writes_outside_are_refused(ws: Workspace, path: str) -> None:
    result = Toolbox(ws).execute("file_write", {"path": path, "content": "escape"})
    assert not result.ok and result.output.startswith("error:")
    assert not (ws.root.parent / "outside.txt").exists()
    assert not Path("/tmp/arena-escape.txt").exists()
    assert not (ws.root.parent / "x").exists()


def test_symlink_made_with_shell_cannot_carry_a_write_out(ws: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "victim"
    outside.mkdir()
    box = Toolbox(ws)
    assert box.execute("shell", {"command": f"ln -s {outside} escape && ln -s {outside}/f.txt link.txt"}).ok
    for path in ("escape/f.txt", "link.txt"):
        result = box.execute("file_write", {"path": path, "content": "pwned"})
        assert not result.ok and "outside the project" in result.output
        assert not box.execute("file_read", {"path": path}).ok
    assert list(outside.iterdir()) == []


def test_absolute_path_inside_is_accepted(ws: Workspace) -> None:
    result = Toolbox(ws).execute("file_read", {"path": str(ws.root / "src" / "lib.rs")})
    assert result.ok


def test_bad_inputs_are_tool_errors(ws: Workspace) -> None:
    box = Toolbox(ws)
    assert "missing key(s) content" in box.execute("file_write", {"path": "a"}).output
    assert "'path' must be a string, got int" in box.execute("file_read", {"path": 3}).output
    assert "input must be a JSON object" in box.execute("glob", ["*"]).output
    assert "unknown tool 'rm'" in box.execute("rm", {}).output
    assert "invalid regular expression" in box.execute("grep", {"pattern": "("}).output
    # A null for a required key is a missing key, not a tool failing internally on None.
    assert "missing key(s) path" in box.execute("file_read", {"path": None}).output


def test_binary_and_huge_reads(ws: Workspace) -> None:
    (ws.root / "blob.bin").write_bytes(b"\x00\x01" * 100)
    (ws.root / "big.txt").write_text("line\n" * 100_000)
    box = Toolbox(ws)
    assert "binary file" in box.execute("file_read", {"path": "blob.bin"}).output
    big = box.execute("file_read", {"path": "big.txt"}).output
    assert "[truncated: file has 500000 bytes" in big and big.count("\n") < 500


def test_device_files_are_refused(ws: Workspace) -> None:
    os.symlink("/dev/zero", ws.root / "zero")
    assert not Toolbox(ws).execute("file_read", {"path": "zero"}).ok


def test_shell_runs_in_workspace_with_scrubbed_env(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_TEST_SECRET", "hunter2")
    result = Toolbox(ws).execute("shell", {"command": "pwd; echo HOME=$HOME; env"})
    assert result.ok and result.exit_code == 0
    assert str(ws.root) in result.output
    assert "hunter2" not in result.output and "TZ=UTC" in result.output
    failing = Toolbox(ws).execute("shell", {"command": "exit 3"})
    assert not failing.ok and failing.exit_code == 3 and failing.output.startswith("exit code 3")


def test_protected_files_are_restored(ws: Workspace) -> None:
    (ws.root / "tests" / "t.rs").write_text("// tests deleted\n")
    (ws.root / "tests" / "extra.rs").write_text("// added\n")
    assert ws.restore_protected() == ["tests/extra.rs", "tests/t.rs"]
    assert (ws.root / "tests" / "t.rs").read_text() == "#[test]\nfn t() {}\n"
    assert not (ws.root / "tests" / "extra.rs").exists()
    assert ws.restore_protected() == []


def test_cleanup_removes_read_only_trees(pristine: Path) -> None:
    ws = Workspace(pristine, [])
    (ws.root / "locked").mkdir()
    (ws.root / "locked" / "f").write_text("x")
    (ws.root / "locked").chmod(0o500)
    ws.cleanup()
    assert not ws.base.exists()


def test_glob_semantics() -> None:
    from pytest_arena.engine.workspace import matches_any

    assert matches_any("tests/a/b.rs", ["tests/**"]) and matches_any("Cargo.toml", ["Cargo.toml"])
    assert matches_any("src/lib.rs", ["src/**/*.rs"]) and matches_any("src/a/b.rs", ["**/*.rs"])
    assert not matches_any("src/lib.rs", ["*.rs"]) and not matches_any("xtests/a", ["tests/**"])


def test_missing_bwrap_is_a_clear_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_arena.engine.sandbox import Sandbox, SandboxUnavailable

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable, match=r"bwrap not found: install bubblewrap .* --arena-sandbox none"):
        Sandbox(kind="bwrap").check()
    Sandbox(kind="none").check()


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed (./run setup installs it)")
def test_tools_installed_under_tmp_stay_visible_read_only_in_the_sandbox(tmp_path: Path) -> None:
    """A CI checkout cloned under /tmp keeps its venv there: the sandbox's private /tmp must not
    hide it (ruff and mypy of the Python corpus were 'command not found'), nor make it writable,
    nor uncover a hidden folder inside it."""
    from pytest_arena.engine.commands import command_env, run_command
    from pytest_arena.engine.sandbox import Sandbox

    root = Path(tempfile.mkdtemp(prefix="arena-toolroot-", dir="/tmp"))
    try:
        (root / "bin").mkdir()
        (root / "lib").mkdir()
        (root / "secret").mkdir()
        (root / "secret" / "answer").write_text("solution")
        (root / "lib" / "marker").write_text("from-lib\n")
        tool = root / "bin" / "arena-probe-tool"
        tool.write_text(f"#!/bin/sh\ncat {root}/lib/marker\n")
        tool.chmod(0o755)
        env = command_env(tmp_path, tmp_path)
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env['PATH']}"
        script = f"arena-probe-tool; ls {root}/secret | wc -l; touch {root}/lib/new && echo WROTE"
        result = run_command(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            timeout_s=30,
            sandbox=Sandbox(kind="bwrap", hidden=(root / "secret",)),
        )
        assert result.output.splitlines()[:2] == ["from-lib", "0"], result.output
        assert "WROTE" not in result.output and not (root / "lib" / "new").exists()
    finally:
        shutil.rmtree(root)


def test_writes_outside_editable_paths_are_refused_with_the_reason(pristine: Path) -> None:
    from pytest_arena.engine.editable import EditPolicy

    (pristine / "Cargo.toml").write_text("[package]\n")  # a crate: `src/**` by default
    rules = EditPolicy.of(None, ["tests/**"], pristine)
    ws = Workspace(pristine, ["tests/**"], refuse=rules.refusal)
    try:
        box = Toolbox(ws)
        assert box.execute("file_write", {"path": "src/lib.rs", "content": "pub fn one() -> i32 { 1 }\n"}).ok
        for path, reason in (
            ("build.rs", "build script"),
            ("src/.cargo/config.toml", "toolchain config"),
            ("tests/t.rs", "protected"),
            ("README.md", "outside the editable paths (src/**)"),
        ):
            outcome = box.execute("file_write", {"path": path, "content": "x"})
            assert not outcome.ok and reason in outcome.output and "editable" in outcome.output, outcome.output
            assert not (ws.root / path).exists() or path == "tests/t.rs"
        assert (ws.root / "tests" / "t.rs").read_text() == "#[test]\nfn t() {}\n"
    finally:
        ws.cleanup()


def test_default_editable_paths(tmp_path: Path, pristine: Path) -> None:
    from pytest_arena.engine.editable import default_editable

    (pristine / "Cargo.toml").write_text("[package]\n")
    assert default_editable(pristine) == ["src/**"]
    python = tmp_path / "py"
    for folder in ("pkg", "tests", "notes"):
        (python / folder).mkdir(parents=True)
    (python / "pkg" / "__init__.py").write_text("")
    (python / "tests" / "__init__.py").write_text("")
    (python / "conftest.py").write_text("")
    assert default_editable(python) == ["pkg/**"]


def test_the_harness_never_follows_a_link_out_when_restoring(ws: Workspace, tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    shutil.rmtree(ws.root / "tests")
    os.symlink(host, ws.root / "tests")
    assert ws.restore_protected() == ["tests/t.rs"]
    assert list(host.iterdir()) == []
    assert not (ws.root / "tests").is_symlink() and (ws.root / "tests" / "t.rs").is_file()


def test_a_fifo_is_listed_never_opened(ws: Workspace) -> None:
    os.mkfifo(ws.root / "src" / "pipe")
    assert "src/pipe" in ws.changed_files()
    assert "<not a regular file: FIFO>" in ws.diff()


def test_a_tamper_attempt_is_named_by_its_most_telling_dropped_change(pristine: Path) -> None:
    from pytest_arena.engine.editable import EditPolicy

    rules = EditPolicy(("src/**",), ("tests/**",))
    assert rules.tamper_kind(["notes.txt", "tests/t.rs", "build.rs"]) == "build script"
    assert rules.tamper_kind(["notes.txt", "tests/t.rs"]) == "test files"
    assert rules.tamper_kind(["src/.cargo/config.toml", "roman/ruff.toml"]) == "toolchain config"
    assert rules.tamper_kind(["pkg/sitecustomize.py"]) == "interpreter hook"
    assert rules.tamper_kind(["notes.txt"]) == "other"


def test_an_edit_to_a_large_file_that_keeps_its_size_is_a_change(pristine: Path) -> None:
    """Files past the diff limit were compared by size alone: a same-size fix to a large editable
    file was not carried to the clean tree the oracle judges."""
    (pristine / "src" / "table.txt").write_bytes(b"0" * (300 * 1024))
    workspace = Workspace(pristine, ["tests/**"])
    try:
        assert workspace.changed_files() == []
        (workspace.root / "src" / "table.txt").write_bytes(b"0" * (300 * 1024 - 1) + b"1")
        assert workspace.changed_files() == ["src/table.txt"]
        assert "sha256" in workspace.diff()
    finally:
        workspace.cleanup()
