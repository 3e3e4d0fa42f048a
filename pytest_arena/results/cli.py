"""What the command-line tools share: a reader that goes away (`arena-gate ... | head -3`) ends the
tool quietly, as with other command-line tools, not with a BrokenPipeError traceback."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import Protocol

SIGPIPE_STATUS = 141  # what a shell reports for a tool ended by SIGPIPE
Body = Callable[[argparse.Namespace], int]


class Main(Protocol):
    def __call__(self, argv: list[str] | None = None) -> int: ...


def command(parser: Callable[[], argparse.ArgumentParser]) -> Callable[[Body], Main]:
    """A console script's ``main(argv)``: parse with ``parser``, run the body, and end quietly when the
    reader of stdout has gone away."""

    def wrap(body: Body) -> Main:
        @functools.wraps(body)
        def main(argv: list[str] | None = None) -> int:
            args = parser().parse_args(argv)
            try:
                status = body(args)
                sys.stdout.flush()
            except BrokenPipeError:
                # Python flushes stdout again at exit: point it at /dev/null so that flush is silent.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                return SIGPIPE_STATUS
            return status

        return main

    return wrap


def records_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser for a tool that reads records: arena-gate and arena-report read results.jsonl the
    same way, so one option says how."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="leave out results.jsonl lines that are not records (each one skipped is named in the output)",
    )
    return parser
