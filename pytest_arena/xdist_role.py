"""Which process this is under pytest-xdist: a worker's config has ``workerinput`` (xdist sets it
before plugins configure); the controller's, and that of a run without ``-n``, has not. The one
place that asks."""

from __future__ import annotations

import pytest


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def worker_input(config: pytest.Config) -> dict[str, object]:
    """What the controller handed this worker (``pytest_configure_node``); empty elsewhere."""
    given = getattr(config, "workerinput", None)
    return given if isinstance(given, dict) else {}


def worker_number(config: pytest.Config) -> int:
    """N of worker gwN; 0 in any other process."""
    worker = str(worker_input(config).get("workerid", "gw0"))
    return int(worker[2:]) if worker[2:].isdigit() else 0


def worker_count(config: pytest.Config) -> int:
    """The run's number of workers, as a worker sees it; 1 in any other process."""
    return int(str(worker_input(config).get("workercount", 1))) or 1
