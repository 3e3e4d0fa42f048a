"""The resume key comes from the option table (issue 21, item 4): every option that can change a
result joins it, so ``--arena-resume`` never takes a run made with another value as already done,
and a run with default settings keeps the key it had when the key was written by hand."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_arena import options
from pytest_arena.items import ArenaItem
from pytest_arena.options import OPTIONS, OPTIONS_KEY, Option
from pytest_arena.results.resume import settings_digest

from .helpers import tiny_fixture

# A value other than the default for every option that changes a result. A new such option
# without one here fails test_every_result_option_has_a_sample.
SAMPLES = {
    "arena-student": "scripted:other.json",
    "arena-temperature": "0.5",
    "arena-seed": "7",
    "arena-epochs": "2",
    "arena-dialect": "arena",
    "arena-n-ctx": "4096",
    "arena-max-turns": "3",
    "arena-max-tokens": "99",
    "arena-turn-timeout": "30",
    "arena-repetition-stop": "off",
    "arena-text-loop-limit": "9",
    "arena-compliance-enforced": None,
    "arena-constrain": None,
    "arena-sandbox": "none",
    "arena-tool-choice": "required",
    "arena-workspace-quota": "1G",
}


def _item(pytester: pytest.Pytester, *args: str) -> ArenaItem:
    root = pytester.path / "corpus"
    if not root.exists():
        tiny_fixture(root)
    items, _ = pytester.inline_genitems("--arena", f"--arena-root={root}", *args)
    arena = [item for item in items if isinstance(item, ArenaItem)]
    assert arena, "no arena item collected"
    return arena[-1]


def _args(name: str) -> list[str]:
    value = SAMPLES[name]
    return [f"--{name}"] if value is None else [f"--{name}={value}"]


def test_every_result_option_has_a_sample() -> None:
    assert {o.name for o in OPTIONS if o.result} == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_an_option_that_changes_a_result_changes_the_resume_key(pytester: pytest.Pytester, name: str) -> None:
    default = _item(pytester, "--arena-student=reference")
    other = _item(pytester, *(["--arena-student=reference"] if name != "arena-student" else []), *_args(name))
    assert default.resume_key[2] != other.resume_key[2], f"--{name} left the resume key unchanged"


def test_default_settings_keep_the_key_written_by_hand_before(pytester: pytest.Pytester) -> None:
    item = _item(pytester, "--arena-student=reference")
    settings = item._settings()
    by_hand = {  # the dictionary items.py digested before the option table did (commit e20c30f)
        "student": "reference",
        **settings.config.record(),
        "max_turns": settings.max_turns or item.spec.max_turns,
        "sandbox": "bwrap",
        "text_loop_limit": settings.text_loop_limit,
        "enforced": False,
    }
    assert item.resume_key[2] == settings_digest(by_hand)


def test_an_option_must_say_what_it_does_to_a_result() -> None:
    with pytest.raises(TypeError, match="--arena-new: give result="):
        Option("arena-new", "a new knob", "string", "")


def test_a_new_option_whose_setting_the_item_lacks_is_an_error_not_a_silent_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = _item(pytester, "--arena-student=reference")
    added = Option("arena-new", "a new knob", "string", "", result="new_knob")
    monkeypatch.setattr(options, "OPTIONS", (*OPTIONS, added))
    with pytest.raises(LookupError, match="--arena-new changes 'new_knob'"):
        item.resume_key  # noqa: B018 (the property is the call under test)


def test_a_new_option_read_into_arena_options_joins_the_key_with_no_other_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain new option is one row in the table and one ArenaOptions field: nothing else."""
    item = _item(pytester, "--arena-student=reference")
    before = item.resume_key[2]
    added = Option(
        "arena-cold-too", "as if --arena-cold changed results", "bool", False, result="cold", keyed_unless=False
    )
    monkeypatch.setattr(options, "OPTIONS", (*OPTIONS, added))
    assert item.resume_key[2] == before  # the default is left out: earlier runs stay resumable
    item.config.stash[OPTIONS_KEY] = dataclasses.replace(item.options, cold=True)
    assert item.resume_key[2] != before


def test_inert_options_say_why() -> None:
    assert all(o.inert for o in OPTIONS if not o.result)
