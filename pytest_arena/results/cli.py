"""What the command-line tools share: a reader that goes away (`arena-gate ... | head -3`) ends the
tool quietly, as with other command-line tools, not with a BrokenPipeError traceback."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import TypeVar, cast

SIGPIPE_STATUS = 141  # what a shell reports for a tool ended by SIGPIPE
Main = TypeVar("Main", bound=Callable[..., int])


def quiet_on_broken_pipe(main: Main) -> Main:
    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            status = main(argv)
            sys.stdout.flush()
        except BrokenPipeError:
            # Python flushes stdout again at exit: point it at /dev/null so that flush is silent.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return SIGPIPE_STATUS
        return status

    return cast(Main, run)


def add_skip_bad_lines(parser: argparse.ArgumentParser) -> None:
    """arena-gate and arena-report read results.jsonl the same way; one option says so."""
    parser.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="leave out results.jsonl lines that are not records (each one skipped is named in the output)",
    )
