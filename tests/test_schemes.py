"""The one student-scheme registry: labels, lookup, static facts and help all read the same table."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_arena.engine.student import StudentError
from pytest_arena.options import OPTIONS
from pytest_arena.students.builtin import static_info, student_label, student_labels
from pytest_arena.students.schemes import SCHEMES, forms, lookup


def config(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(invocation_params=SimpleNamespace(dir=tmp_path))


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("reference", "reference"),
        ("default", "smollm2-135m"),
        ("scripted:runs/good.json", "scripted-good"),
        ("llama:/m/Qwen3-Coder.Q4.gguf", "qwen3-coder.q4"),
        ("openai:http://h:8000/v1#qwen", "qwen"),
        ("mine:models/x.bin", "mine-x"),  # a plugin's scheme naming a file
        ("mine thing", "mine-thing"),
    ],
)
def test_labels_come_from_the_registry_or_the_plugin_rule(spec: str, label: str) -> None:
    assert student_label(spec) == label


def test_lookup_needs_the_bare_word_or_the_colon() -> None:
    assert lookup("reference") == (SCHEMES["reference"], "")
    assert lookup("reference:x") is None
    assert lookup("llama") is None  # a scheme with a file needs its colon
    assert lookup("llama:a.gguf") == (SCHEMES["llama"], "a.gguf")
    assert lookup("nosuch:thing") is None


def test_an_empty_path_names_the_form(tmp_path: Path) -> None:
    with pytest.raises(StudentError, match=r"'llama:' needs a file after the colon: --arena-student llama:PATH.gguf"):
        SCHEMES["llama"].make(config(tmp_path), "")


def test_static_facts_of_a_missing_gguf_and_of_a_scheme_without_facts(tmp_path: Path) -> None:
    assert static_info(config(tmp_path), "llama:gone.gguf") == {"backend": "llama_cpp", "model_file": "gone.gguf"}
    assert static_info(config(tmp_path), "reference") == {}
    assert static_info(config(tmp_path), "nosuch:x") == {}


def test_help_and_labels_list_every_scheme() -> None:
    help_text = next(option.help for option in OPTIONS if option.name == "arena-student")
    assert forms() in help_text
    assert all(scheme.form in forms() for scheme in SCHEMES.values())
    labels = student_labels(("llama:a/m.gguf", "llama:b/m.gguf"))
    assert len(set(labels.values())) == 2
