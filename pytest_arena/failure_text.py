"""A failed arena item's text as pytest shows it: whole under FAILURES, one line elsewhere.

pytest puts a string longrepr whole into the short test summary when it runs on CI (the CI
environment variable) or under -vv: every failed item would repeat its oracle's output tail there,
fixture tracebacks included, and JUnit's failure message would hold it all too. A crash location
whose message is the first line (the outcome) keeps those to one line, survives xdist's report
serialization (a native traceback entry plus a location), and leaves FAILURES as before."""

from __future__ import annotations

from pathlib import Path

from _pytest._code.code import ReprEntryNative, ReprExceptionInfo, ReprFileLocation, ReprTraceback


def failure_repr(text: str, path: Path) -> ReprExceptionInfo:
    body = text if text.endswith("\n") else text + "\n"
    headline = text.split("\n", 1)[0]
    return ReprExceptionInfo(
        reprtraceback=ReprTraceback([ReprEntryNative([body])], None, "native"),
        reprcrash=ReprFileLocation(str(path), 0, headline),
    )
