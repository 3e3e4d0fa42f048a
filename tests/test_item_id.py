"""The item id is written and read back by one module: every id the collector can make parses to
what made it, and the collector's names are ItemId's own."""

from __future__ import annotations

import pytest

from pytest_arena.items import Variant
from pytest_arena.results.item_id import ItemId
from pytest_arena.results.record import crash_record

CASES = [
    ItemId("leetcode__01-two-sum", "reference"),
    ItemId("unix__01-wc", "default", 0.7, 3),
    ItemId("unix__01-wc", "scripted-a-t1-s2", 1e-05, 12),  # a label that looks like a variant
    ItemId("python__02-tr", "llama-qwen3", 1.5, 0, "qwen3-coder"),
    ItemId("python__02-tr", "openai-x", 2.0, 7, "hermes"),
]


@pytest.mark.parametrize("item", CASES, ids=str)
def test_an_item_id_round_trips(item: ItemId) -> None:
    assert ItemId.parse(str(item)) == item
    assert ItemId.parse(f"fixtures/{item.fixture}/meta.toml::{item}") == item  # a node id too


@pytest.mark.parametrize("item", CASES, ids=str)
def test_the_collector_names_items_as_item_id_writes_them(item: ItemId) -> None:
    variant = Variant("spec", item.student, item.temperature, item.seed, item.dialect or "auto", bool(item.dialect))
    assert f"{item.fixture}[{variant.label}]" == str(item)


def test_a_crashed_items_record_reads_its_id() -> None:
    record = crash_record(f"fixtures/x/meta.toml::{CASES[1]}", "worker died")
    assert (record.fixture, record.student, record.temperature, record.seed) == ("unix__01-wc", "default", 0.7, 3)


def test_a_foreign_id_still_names_something() -> None:
    assert ItemId.parse("odd[whatever]") == ItemId("odd", "whatever")
    assert ItemId.parse("odd") == ItemId("odd", "?")
