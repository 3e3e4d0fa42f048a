"""What `./run arena` asks of the plugin, through ARENA_RUN_STATE=<file>: the JUnit file goes into
the reports folder, however that folder was given (option, ini key, `-o`, default), unless
--junitxml names one; and the folder is written to <file> for the script's report step. The script
cannot read ini files itself, so it must not guess the folder from its own arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .options import ArenaOptions

STATE_ENV = "ARENA_RUN_STATE"


def tell_run_script(config: pytest.Config, options: ArenaOptions) -> None:
    """In the controller's pytest_configure, before pytest's junitxml plugin reads its path."""
    state = os.environ.get(STATE_ENV)
    if not state:
        return
    if not config.option.xmlpath:
        config.option.xmlpath = str(options.reports / "junit.xml")
    Path(state).write_text(str(options.reports.resolve()))
