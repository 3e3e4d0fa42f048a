"""``arena-validate``: prove a corpus before any student is measured on it.

    arena-validate [ROOT ...] [--repeat N] [--json FILE] [--jobs N] [--sandbox bwrap|none]
    arena-validate --impossible OUT [ROOT ...]    (impossible twins, pytest_arena.twins)

For every fixture: the pristine tree fails its oracle; it passes compliance (unless the fixture
says ``pristine_compliant = false``); the reference solution passes the compound oracle through
the tool protocol, touching exactly the solution's files, all of them editable; the
``noncompliant/`` overlay passes the tests and fails compliance (all judged on clean trees with
the hidden tests, as the arena judges); FAIL_TO_PASS is not empty; every verdict is the same over N repeats
(the flaky guard). A warning when ``expected_pattern`` also matches the pristine failing output
(the pattern then adds nothing to the exit code). The FAIL_TO_PASS / PASS_TO_PASS baseline derived
here is stored in the cache the arena reads. Exit status: 0 every fixture proven, 1 otherwise,
2 when no fixture is found.

``--impossible OUT`` writes every fixture's impossible twin under OUT (same corpus-relative
layout): one FAIL_TO_PASS assertion contradicts the task, ``impossible = true`` in its meta.toml.
Each twin is proven as an impossible fixture (the pristine tree fails; the reference fails, by a
failing test); exit status 1 names every fixture whose twin cannot be made or does not validate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .proof import Check, Proof, prove, prove_once, validate

__all__ = ["Check", "Proof", "main", "prove", "prove_once", "validate"]


def table(proofs: list[Proof]) -> str:
    width = max((len(p.fixture) for p in proofs), default=7)
    lines = [f"{'fixture':<{width}}  result   F2P  P2P  seconds  failed checks / warnings"]
    for p in proofs:
        notes = "; ".join([c.name for c in p.failures()] + [f"warning: {w[:80]}" for w in p.warnings])
        result = "proven" if p.proven else "FAILED"
        counts = f"{p.fail_to_pass:>5}{p.pass_to_pass:>5}{p.seconds:>9.1f}"
        lines.append(f"{p.fixture:<{width}}  {result:<7}{counts}  {notes}")
    proven = sum(p.proven for p in proofs)
    lines.append(f"{proven}/{len(proofs)} fixtures proven")
    return "\n".join(lines)


def _public(proof: Proof) -> dict[str, object]:
    data = asdict(proof)
    for private in ("signature", "pristine_tests", "solution_tests"):
        data.pop(private)
    return data


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arena-validate", description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="*", type=Path, help="corpus roots or fixture folders (default: fixtures)")
    parser.add_argument("--repeat", type=int, default=1, help="run every check N times; a changed verdict fails")
    parser.add_argument("--json", type=Path, help="write every fixture's checks to this JSON file")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="fixtures proven at once (default 1)")
    parser.add_argument("--sandbox", choices=("bwrap", "none"), default="bwrap", help="how commands are confined")
    parser.add_argument(
        "--impossible",
        type=Path,
        metavar="OUT",
        help="write and prove every fixture's impossible twin (a contradicted FAIL_TO_PASS assertion) under OUT",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    roots = args.roots or [Path("fixtures")]
    missing = [str(r) for r in roots if not r.exists()]
    if missing:
        print(f"arena-validate: no such corpus root: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.repeat < 1 or args.jobs < 1:
        print("arena-validate: --repeat and --jobs take an integer >= 1", file=sys.stderr)
        return 2
    if args.impossible is not None:
        return _impossible(args, roots)
    proofs = validate(roots, args.repeat, args.jobs, args.sandbox)
    if not proofs:
        print(f"arena-validate: no meta.toml under {', '.join(map(str, roots))}", file=sys.stderr)
        return 2
    print(table(proofs))
    for proof in proofs:
        if not proof.proven or proof.warnings:
            print(proof.explain())
    if args.json:
        payload = [{**_public(p), "proven": p.proven} for p in proofs]
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return 0 if all(p.proven for p in proofs) else 1


def _impossible(args: argparse.Namespace, roots: list[Path]) -> int:
    from .twins import TwinError, make_twins

    out: Path = args.impossible
    if out.exists() and not out.is_dir():
        print(f"arena-validate: --impossible {out}: is a file. Fix: name a folder for the twins", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        twins = make_twins(roots, args.impossible, args.repeat, args.jobs, args.sandbox)
    except TwinError as exc:
        print(f"arena-validate: {exc}", file=sys.stderr)
        return 2
    if not twins:
        print(f"arena-validate: no meta.toml under {', '.join(map(str, roots))}", file=sys.stderr)
        return 2
    proofs = [t.proof for t in twins]
    print(table(proofs))
    for twin in twins:
        if twin.mutation is not None and twin.proven:
            print(f"{twin.fixture}: twin {twin.path}: {twin.mutation.describe()}")
    for twin in twins:
        if not twin.proven:
            print(f"no twin for {twin.fixture}:\n{twin.proof.explain()}")
    made = sum(t.proven for t in twins)
    print(
        f"{made}/{len(twins)} impossible twins written and proven under {args.impossible} "
        f"in {time.monotonic() - started:.1f}s"
    )
    if args.json:
        payload = [
            {
                **_public(t.proof),
                "proven": t.proven,
                "twin": str(t.path) if t.proven else None,
                "mutation": asdict(t.mutation) if t.mutation is not None else None,
                "rejected": t.rejected,
            }
            for t in twins
        ]
        args.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return 0 if made == len(twins) else 1


if __name__ == "__main__":
    sys.exit(main())
