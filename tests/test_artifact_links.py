"""Warm artifacts reach a workspace as reflinks, hard links or copies, and nothing done in the
workspace, by a student through the sandbox or by the harness outside it, writes through into the
cache."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_arena.engine import artifact_links
from pytest_arena.engine.artifact_links import SEALED_UID, links_allowed, place_tree, reflink
from pytest_arena.engine.corpus import fixture_digest, load_fixture
from pytest_arena.engine.languages import replaced_output
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.warm import COMPLETE, WarmCache, entry_digest
from pytest_arena.engine.workspace import Workspace

from .helpers import CORPUS, cache_snapshot

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="hard links are used only by a root that can seal files")
LIB = "target/debug/deps/libtwo_sum-0123456789abcdef.rlib"
EXE = "target/debug/deps/two_sum-0123456789abcdef"
DEP_INFO = "target/debug/deps/two_sum-0123456789abcdef.d"
FINGERPRINT = "target/debug/.fingerprint/two_sum-0123456789abcdef/lib-two_sum"


@pytest.fixture(autouse=True)
def _fresh_reflink_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifact_links, "_NO_REFLINK", set())


def make_entry(entry: Path) -> Path:
    """A warm entry's target/ with one file of each kind, old mtimes, an uncopied incremental cache."""
    for rel in (LIB, EXE, DEP_INFO, FINGERPRINT, "target/.rustc_info.json", "target/debug/incremental/s/dep.bin"):
        path = entry / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"built {rel}\n".encode())
        os.utime(path, (1_600_000_000, 1_600_000_000))
    os.chmod(entry / EXE, 0o755)
    os.symlink("deps/two_sum-0123456789abcdef", entry / "target/debug/two_sum")
    return entry / "target"


def same_inode(a: Path, b: Path) -> bool:
    return os.path.samestat(a.stat(), b.stat())


def test_only_what_cargo_replaces_may_be_linked() -> None:
    assert replaced_output(LIB) and replaced_output(EXE) and replaced_output("target/debug/two_sum")
    assert replaced_output("target/release/deps/libserde-0123.rmeta")
    assert not replaced_output(DEP_INFO) and not replaced_output(FINGERPRINT)
    assert not replaced_output("target/.rustc_info.json") and not replaced_output("target/debug/.cargo-lock")
    assert not replaced_output("target/debug/build/x-0123/build-script-build")
    assert not replaced_output(".mypy_cache/3.12/x.data.json") and not replaced_output("src/deps/lib.rlib")
    assert links_allowed("bwrap") == (os.geteuid() == 0) and not links_allowed("none")


@ROOT_ONLY
def test_without_reflinks_replaced_files_are_sealed_and_linked_the_rest_copied(tmp_path: Path) -> None:
    source = make_entry(tmp_path / "entry")
    ways = place_tree(source, tmp_path / "ws" / "target", replaced=replaced_output, may_link=True)
    ws = tmp_path / "ws"
    assert ways == {"link": 2, "copy": 3, "symlink": 1}  # this filesystem (ext4) does not clone
    for rel in (LIB, EXE):
        assert same_inode(ws / rel, tmp_path / "entry" / rel)
        info = (tmp_path / "entry" / rel).stat()
        assert info.st_uid == SEALED_UID and not info.st_mode & 0o022
    assert (tmp_path / "entry" / EXE).stat().st_mode & 0o111, "a sealed program still runs"
    for rel in (DEP_INFO, FINGERPRINT, "target/.rustc_info.json"):
        assert not same_inode(ws / rel, tmp_path / "entry" / rel) and (ws / rel).stat().st_mode & 0o200
        assert (ws / rel).stat().st_mtime == 1_600_000_000
    assert os.readlink(ws / "target/debug/two_sum") == "deps/two_sum-0123456789abcdef"
    assert not (ws / "target/debug/incremental").exists()


def test_without_the_sandbox_every_file_is_copied(tmp_path: Path) -> None:
    source = make_entry(tmp_path / "entry")
    ways = place_tree(source, tmp_path / "ws" / "target", replaced=replaced_output, may_link=False)
    assert ways == {"copy": 5, "symlink": 1}
    assert not same_inode(tmp_path / "ws" / LIB, tmp_path / "entry" / LIB)
    assert (tmp_path / "ws" / LIB).stat().st_mtime == 1_600_000_000


def test_a_filesystem_that_clones_gets_every_file_reflinked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FICLONE cannot run on this machine's ext4: a stand-in clones by copying the bytes."""

    def clone(dst: int, request: int, src: int) -> int:
        assert request == artifact_links.FICLONE
        os.sendfile(dst, src, 0, os.fstat(src).st_size)
        return 0

    monkeypatch.setattr(artifact_links.fcntl, "ioctl", clone)
    source = make_entry(tmp_path / "entry")
    ways = place_tree(source, tmp_path / "ws" / "target", replaced=replaced_output, may_link=True)
    assert ways == {"reflink": 5, "symlink": 1}
    assert (tmp_path / "ws" / LIB).read_bytes() == (tmp_path / "entry" / LIB).read_bytes()
    assert (tmp_path / "entry" / LIB).stat().st_mode & 0o200, "a clone needs no seal"


def test_a_filesystem_that_cannot_clone_is_asked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def refuse(dst: int, request: int, src: int) -> int:
        calls.append(request)
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(artifact_links.fcntl, "ioctl", refuse)
    (tmp_path / "a").write_bytes(b"x")
    assert not reflink(tmp_path / "a", tmp_path / "b") and not (tmp_path / "b").exists()
    assert not reflink(tmp_path / "a", tmp_path / "c") and calls == [artifact_links.FICLONE]


@ROOT_ONLY
def test_the_harness_own_writes_never_reach_the_cache(tmp_path: Path) -> None:
    """The file tool and freshen run outside the sandbox, with every capability: a linked artifact
    (left in target/, or moved among the sources by the student) gets its own copy first."""
    entry = tmp_path / "entry"
    make_entry(entry)
    before = cache_snapshot(entry)
    spec = load_fixture(CORPUS / "leetcode__01-two-sum")
    ws = Workspace(spec.repo_dir, spec.protected)
    try:
        place_tree(entry / "target", ws.root / "target", replaced=replaced_output, may_link=True)
        assert same_inode(ws.root / LIB, entry / LIB)
        ws.write_text(LIB, "written by the file tool")
        os.replace(ws.root / EXE, ws.root / "src" / "moved.rs")
        ws.freshen(["src/moved.rs"])
        assert (ws.root / LIB).read_text() == "written by the file tool"
        assert (ws.root / "src/moved.rs").stat().st_mtime > 1_600_000_000
    finally:
        ws.cleanup()
    assert cache_snapshot(entry) == before


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    """The two-sum fixture's workspace seeded by WarmCache.seed from a ready-made entry."""
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap not installed")
    spec = load_fixture(CORPUS / "leetcode__01-two-sum")
    digest = fixture_digest(spec.directory)
    entry = WarmCache(tmp_path / "cache").entry(spec, digest)
    make_entry(entry)
    (entry / COMPLETE).write_text(f"{spec.id}\nsha256 {entry_digest(entry)}\n", encoding="utf-8")
    ws = Workspace(spec.repo_dir, spec.protected, sandbox=Sandbox("bwrap"))
    try:
        assert WarmCache(tmp_path / "cache").seed(spec, digest, ws) == ["target"]
        yield ws, entry
    finally:
        ws.cleanup()


@pytest.mark.slow
def test_a_linked_or_reflinked_artifact_is_never_written_through_into_the_cache(
    seeded: tuple[Workspace, Path],
) -> None:
    """A student's command appends to, truncates, chmods and stamps every file under target/ in
    place: the workspace's own copies change, the cache does not."""
    ws, entry = seeded
    if os.geteuid() == 0:
        assert same_inode(ws.root / LIB, entry / LIB), "this test is about linked files"
    before = cache_snapshot(entry)
    result = ws.run(
        'find target -type f | while read -r f; do chmod u+w "$f"; echo tampered >> "$f"; '
        'python3 -c \'import sys; open(sys.argv[1], "r+b").write(b"X")\' "$f"; touch -d 2001-01-01 "$f"; '
        "done; truncate -s 1 target/debug/deps/*; true",
        60,
    )
    assert result.exit_code == 0, result.output
    assert cache_snapshot(entry) == before
    assert (ws.root / DEP_INFO).read_bytes() == b"X", "the workspace's own copy took every write"
