"""``arena-synth SOURCE... OUT [--max N] [--seed S] [--class NAME] [--operator OP] [--jobs N]``

Plants bugs in working projects and keeps the proven ones as fixtures under OUT/<language>/.
SOURCE: a curated fixture (its repo/ with solution/ applied) or your own crate or Python package
whose tests pass. Exit status: 0 every source gave at least one fixture, 1 some gave none, 2 bad
input or a source refused (the other sources still give their fixtures).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

from ..engine.corpus import CLASS_RE, RESERVED_CLASSES
from .manifest import record
from .mutants import OPERATORS
from .run import Outcome, Settings, synthesize
from .source import SynthError, stage


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arena-synth", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="SOURCE... OUT", help="sources, then the output folder")
    parser.add_argument("--max", type=int, default=10, help="fixtures kept per source (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="the order mutants are tried in (default 0)")
    parser.add_argument("--class", dest="fixture_class", help="the fixtures' class (default: the source's)")
    parser.add_argument(
        "--operator", action="append", choices=sorted(OPERATORS), help="only this operator (repeatable)"
    )
    parser.add_argument("--jobs", "-j", type=int, default=1, help="mutants screened and proven at once")
    parser.add_argument("--repeat", type=int, default=2, help="proof repeats; a changed verdict rejects (default 2)")
    parser.add_argument("--sandbox", choices=("bwrap", "none"), default="bwrap")
    parser.add_argument(
        "--no-twin", action="store_true", help="keep fixtures whose impossible twin cannot be proven (faster)"
    )
    parser.add_argument("--oracle", help="test command for a project that is not a fixture")
    parser.add_argument("--compliance", help="compliance command for a project that is not a fixture")
    return parser


def _bad(args: argparse.Namespace) -> str | None:
    if len(args.paths) < 2:
        return "name at least one SOURCE and then OUT (e.g. arena-synth fixtures/python/unix__01-uniq out/)"
    if args.max < 1 or args.jobs < 1 or args.repeat < 1:
        return "--max, --jobs and --repeat take an integer >= 1"
    if args.fixture_class is not None and not CLASS_RE.match(args.fixture_class):
        return f"--class {args.fixture_class!r}: one lowercase word ([a-z][a-z0-9_]*), e.g. mutants"
    if args.fixture_class in RESERVED_CLASSES:
        return f"--class {args.fixture_class!r} is a mark pytest or the arena gives items itself: pick another word"
    out = args.paths[-1].resolve()
    for source in args.paths[:-1]:
        if out == source.resolve() or out.is_relative_to(source.resolve()):
            return f"OUT {args.paths[-1]} lies inside SOURCE {source}: name a folder outside it"
    if out.exists() and not out.is_dir():
        return f"OUT {args.paths[-1]} is a file: name a folder"
    return None


def summary(outcome: Outcome) -> str:
    reasons = "; ".join(f"{n} {why}" for why, n in outcome.rejected.most_common())
    return (
        f"{outcome.source.name}: {outcome.sites} sites, {outcome.tried} mutants tried, {outcome.built} built, "
        f"{len(outcome.kept)} kept in {outcome.seconds:.0f}s; rejected: {reasons or 'none'}"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    problem = _bad(args)
    if problem:
        print(f"arena-synth: {problem}", file=sys.stderr)
        return 2
    out: Path = args.paths[-1]
    operators = tuple(args.operator or ())
    settings = Settings(args.max, args.seed, operators, args.jobs, args.repeat, args.sandbox, not args.no_twin)
    overrides = {k: v for k, v in (("oracle_cmd", args.oracle), ("compliance_cmd", args.compliance)) if v}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"arena-synth: OUT {out}: cannot be made ({exc.strerror}). Fix: name a writable folder", file=sys.stderr)
        return 2
    totals: Counter[str] = Counter()
    empty, refused = [], []
    with tempfile.TemporaryDirectory(prefix="arena-synth-") as work:
        for number, path in enumerate(args.paths[:-1]):
            try:
                source = stage(path, Path(work) / str(number), args.fixture_class, overrides)
                print(f"{source.name}: mutating {len(source.files)} {source.language} files")
                outcome = synthesize(source, out, settings)
            except SynthError as exc:  # this source only: the others still give their fixtures
                print(f"arena-synth: {exc}", file=sys.stderr)
                refused.append(str(path))
                continue
            record(out, outcome, settings)
            print(summary(outcome))
            totals.update(tried=outcome.tried, built=outcome.built, kept=len(outcome.kept))
            if not outcome.kept:
                empty.append(source.name)
    print(f"{totals['kept']} fixtures kept of {totals['tried']} mutants tried ({totals['built']} built) under {out}")
    if empty:
        print(f"arena-synth: no proven fixture from {', '.join(empty)}", file=sys.stderr)
    if refused:
        print(f"arena-synth: refused (see above): {', '.join(refused)}", file=sys.stderr)
    return 2 if refused else 1 if empty else 0


if __name__ == "__main__":
    sys.exit(main())
