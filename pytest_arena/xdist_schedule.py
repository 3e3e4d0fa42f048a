"""The arena's pytest-xdist scheduler, imported only once xdist runs a session (xdist is the
optional ``parallel`` extra).

Under ``-n N`` an arena run schedules by group unless ``--dist``/``-d`` was given: a group is one
student's items on one fixture (:func:`~pytest_arena.items.group_name`), and groups go to workers
as they free up, so the workers end together (a fixed split into N groups by a fixture hash left
one worker idle while the other ran its last items). A worker is handed its own student's groups
while any are queued and another student's only after that, so each worker loads each model
about once (the student pool holds one model at a time). The group comes from the node id, so node
ids (JUnit names, ``--lf``) stay those of a run without ``-n``. An explicit ``--dist loadgroup`` gets
this scheduler too; where xdist appends the ``xdist_group`` marker's ``@group`` to node ids (pytest
8: xdist 3.8 sets ``item._nodeid``, which pytest 9 no longer reads), that names the same group.

xdist's own group scheduler requeues a dead worker's whole group, the item that killed it
included, before ``pytest_handlecrashitem`` runs: a backend that kills its process would crash
worker after worker. Here the crashed item counts as done (xdist reports it once, recorded as a
``DriverError``) and only the rest of its group runs again, on another worker.
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING

import pytest
from xdist.scheduler import LoadGroupScheduling
from xdist.workermanage import WorkerController

from .items import group_name
from .progress import is_arena_nodeid
from .results.item_id import ItemId

if TYPE_CHECKING:
    from xdist.remote import Producer


def _dist_given(config: pytest.Config) -> bool:
    """Whether the user chose a distribution mode (``--dist MODE``, ``--dist=MODE``, ``-d``) on the
    command line, in PYTEST_ADDOPTS or in the ini file's addopts (the words pytest itself reads)."""
    words = [
        *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
        *config.getini("addopts"),
        *config.invocation_params.args,
    ]
    for word in words:
        if word == "--":
            break
        if word in ("--dist", "-d") or word.startswith("--dist="):
            return True
    return False


def arena_scheduler(config: pytest.Config, log: Producer) -> LoadGroupScheduling | None:
    """The scheduler of an arena run: grouped under ``-n`` unless another ``--dist`` was chosen."""
    dist = config.getvalue("dist")
    if dist == "loadgroup" or (dist == "load" and not _dist_given(config)):
        return ArenaGroupScheduling(config, log)
    return None


class ArenaGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]  # xdist ships no types
    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self._student_of: dict[str, str] = {}  # group -> its student (arena groups only)
        self._serving: dict[WorkerController, str] = {}  # worker -> the student of its last group

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.rfind("@") > nodeid.rfind("]") or not is_arena_nodeid(nodeid):
            return str(super()._split_scope(nodeid))  # xdist's group, or the item alone
        item = ItemId.parse(nodeid)
        scope = group_name(item.student, item.fixture)
        self._student_of[scope] = item.student
        return scope

    def _assign_work_unit(self, node: WorkerController) -> None:
        """The first queued group of the student this worker last ran, else the first queued."""
        serving = self._serving.get(node)
        if serving is not None:
            mine = next((scope for scope in self.workqueue if self._student_of.get(scope) == serving), None)
            if mine is not None:
                self.workqueue.move_to_end(mine, last=False)
        scope = next(iter(self.workqueue))
        super()._assign_work_unit(node)
        if scope in self._student_of:
            self._serving[node] = self._student_of[scope]

    def _reschedule(self, node: WorkerController) -> None:
        """xdist's, then more groups while the worker holds fewer than two items: a worker keeps its
        last item until it learns the next one (or is shut down), so a worker that came in for a
        dead one, handed a one-item group, would wait forever."""
        super()._reschedule(node)
        while not node.shutting_down and self.workqueue and self._pending_of(self.assigned_work[node]) < 2:
            self._assign_work_unit(node)

    def remove_node(self, node: WorkerController) -> str | None:
        """A node that stopped with work left died running its first unfinished item: that item
        is done (the caller reports it as crashed); the rest of its group goes back in the queue."""
        workload = self.assigned_work.pop(node)
        pending: list[str] = [nodeid for unit in workload.values() for nodeid, done in unit.items() if not done]
        if not pending:
            return None
        crashed = pending[0]
        for unit in workload.values():
            if crashed in unit:
                unit[crashed] = True
        self.workqueue.update((scope, unit) for scope, unit in workload.items() if not all(unit.values()))
        for other in self.assigned_work:
            self._reschedule(other)
        return crashed
