"""ArenaGroupScheduling in-process, with mock worker nodes (as pytest-xdist's own test_dsession.py
does): groups stay on one node, a crashed node costs only its running item, the rest of its group
is requeued on a live node, and a node with nothing to do is shut down."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_arena.items import group_name
from pytest_arena.xdist_schedule import ArenaGroupScheduling

pytest.importorskip("xdist")


class MockNode:
    """The part of xdist's WorkerController the scheduler calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[int] = []
        self.shutting_down = False
        self.gateway = type("Gateway", (), {"id": name})()

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return f"<MockNode {self.name}>"


def nodeid(fixture: str, student: str = "reference") -> str:
    return f"fixtures/{fixture}/meta.toml::{fixture}[{student}-t0-s0]"


FIXTURES = [f"leetcode__0{n}-f" for n in range(1, 9)]


def scheduler(pytester: pytest.Pytester, nodes: int) -> tuple[ArenaGroupScheduling, list[MockNode], list[str]]:
    config = pytester.parseconfig(f"--tx={nodes}*popen")
    sched = ArenaGroupScheduling(config, None)
    workers = [MockNode(f"gw{n}") for n in range(nodes)]
    collection = [nodeid(f) for f in FIXTURES] + ["tests/test_other.py::test_plain"]
    node: Any
    for node in workers:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    sched.schedule()
    return sched, workers, collection


def sent_ids(node: MockNode, collection: list[str]) -> list[str]:
    return [collection[i] for i in node.sent]


def complete_all(sched: ArenaGroupScheduling, node: MockNode, collection: list[str]) -> None:
    for index in list(node.sent):
        nodeid_ = collection[index]
        scope = sched._split_scope(nodeid_)
        if not sched.assigned_work[node][scope][nodeid_]:
            sched.mark_test_complete(node, index)  # type: ignore[arg-type]


def test_an_arena_items_group_is_its_students_fixture_share(pytester: pytest.Pytester) -> None:
    sched, _, collection = scheduler(pytester, 2)
    assert sched._split_scope(collection[0]) == group_name("reference", FIXTURES[0])
    assert sched._split_scope(collection[-1]) == collection[-1]  # not an arena item: a group alone
    assert sched._split_scope(collection[0] + "@mygroup") == "mygroup"  # an xdist_group marker wins


def test_each_group_runs_on_one_node_and_every_item_runs_once(pytester: pytest.Pytester) -> None:
    sched, workers, collection = scheduler(pytester, 2)
    for _ in range(10):  # drain: nodes finish what they hold and get more
        for node in workers:
            complete_all(sched, node, collection)
    ran = [nodeid_ for node in workers for nodeid_ in sent_ids(node, collection)]
    assert sorted(ran) == sorted(collection)
    groups = {node.name: {sched._split_scope(n) for n in sent_ids(node, collection)} for node in workers}
    assert not groups["gw0"] & groups["gw1"]
    assert sched.tests_finished and not sched.has_pending


def test_a_crashed_node_costs_only_its_running_item(pytester: pytest.Pytester) -> None:
    sched, (dead, live), collection = scheduler(pytester, 2)
    held = sent_ids(dead, collection)
    assert len(held) >= 2, "the dead node must hold more than the item that killed it"
    live_before = set(sent_ids(live, collection))
    crashed = sched.remove_node(dead)  # type: ignore[arg-type]
    assert crashed == held[0]
    for _ in range(10):
        complete_all(sched, live, collection)
    rerun = set(sent_ids(live, collection)) - live_before
    assert crashed not in rerun  # the item that killed a worker does not kill the next one
    assert set(held) - {crashed} <= rerun
    assert set(sent_ids(live, collection)) | {crashed} == set(collection)
    assert not sched.has_pending


def test_a_node_that_dies_with_nothing_pending_names_no_crashed_item(pytester: pytest.Pytester) -> None:
    sched, workers, collection = scheduler(pytester, 2)
    for _ in range(10):
        for node in workers:
            complete_all(sched, node, collection)
    assert sched.remove_node(workers[0]) is None  # type: ignore[arg-type]


def test_nodes_beyond_the_groups_get_an_empty_share_and_are_shut_down(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig("--tx=3*popen")
    sched = ArenaGroupScheduling(config, None)
    workers = [MockNode(f"gw{n}") for n in range(3)]
    one_group = [nodeid(FIXTURES[0])]
    node: Any
    for node in workers:
        sched.add_node(node)
        sched.add_node_collection(node, one_group)
    sched.schedule()
    busy = [node for node in workers if node.sent]
    assert len(busy) == 1
    assert all(node.shutting_down for node in workers if not node.sent)


def test_groups_go_to_whichever_node_is_free(pytester: pytest.Pytester) -> None:
    """A slow node keeps only what it holds: the fast one takes every group still queued (a fixed
    split of the groups between the nodes left the fast one idle)."""
    sched, (fast, slow), collection = scheduler(pytester, 2)
    for _ in range(20):
        complete_all(sched, fast, collection)
    assert len(sent_ids(fast, collection)) > len(sent_ids(slow, collection)) + 2
    assert sorted(sent_ids(fast, collection) + sent_ids(slow, collection)) == sorted(collection)


def test_a_node_keeps_its_student_while_its_groups_last(pytester: pytest.Pytester) -> None:
    """Collected fixture by fixture (a, b, a, b, ...), yet each node runs one student's groups
    until none is queued: a model loads once per node, not once per group."""
    config = pytester.parseconfig("--tx=2*popen")
    sched = ArenaGroupScheduling(config, None)
    workers = [MockNode("gw0"), MockNode("gw1")]
    collection = [nodeid(f, student) for f in FIXTURES for student in ("a", "b")]
    node: Any
    for node in workers:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    sched.schedule()
    for _ in range(20):
        complete_all(sched, workers[0], collection)  # gw0 is faster: it ends up running both students
        if _ % 3 == 0:
            complete_all(sched, workers[1], collection)
    for node in workers:
        order = [collection[i].rsplit("[", 1)[1].split("-")[0] for i in node.sent]
        assert sum(a != b for a, b in zip(order, order[1:], strict=False)) <= 1, (node, order)
    assert sorted(i for node in workers for i in node.sent) == list(range(len(collection)))


def test_a_node_that_replaces_a_dead_one_holds_two_items_or_is_shut_down(pytester: pytest.Pytester) -> None:
    """An xdist worker runs an item only once it knows the next one (or is shut down): the worker
    that replaced a dead one, handed the dead one's one-item rest, waited forever (a real run hung)."""
    config = pytester.parseconfig("--tx=2*popen")
    sched = ArenaGroupScheduling(config, None)
    workers = [MockNode("gw0"), MockNode("gw1")]
    collection = [nodeid(f).replace("-s0]", f"-s{seed}]") for f in FIXTURES[:3] for seed in (0, 1)]
    node: Any
    for node in workers:
        sched.add_node(node)
        sched.add_node_collection(node, collection)
    sched.schedule()
    complete_all(sched, workers[1], collection)
    assert sched.remove_node(workers[0]) == collection[0]  # type: ignore[arg-type]
    new = MockNode("gw2")
    sched.add_node(new)
    sched.add_node_collection(new, collection)
    sched.schedule()
    assert len(new.sent) >= 2 or new.shutting_down, sent_ids(new, collection)
    for _ in range(10):
        complete_all(sched, new, collection)
    assert sorted(sent_ids(new, collection)) == sorted(
        set(collection) - set(sent_ids(workers[1], collection)) - {collection[0]}
    )
