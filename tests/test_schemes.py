"""The one student-scheme registry: labels, lookup, static facts and help all read the same table."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_arena import plugin
from pytest_arena.dialect_option import dialect_option
from pytest_arena.engine.scheme_traits import TRAITS, SchemeTraits, record_keys
from pytest_arena.engine.student import StudentError
from pytest_arena.option_types import PARSERS, OptionError
from pytest_arena.options import OPTIONS
from pytest_arena.results.gate_keys import known_keys
from pytest_arena.students.builtin import (
    BuiltinStudents,
    offload_warning,
    static_info,
    student_label,
    student_labels,
)
from pytest_arena.students.schemes import (
    SCHEMES,
    LoadSettings,
    Scheme,
    forms,
    loads_gguf,
    lookup,
    text_only,
)
from pytest_arena.students.scripted import ReferenceStudent
from pytest_arena.students.threads import llama_threads, usable_cores


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
        SCHEMES["llama"].make(config(tmp_path), "", LoadSettings())


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


def test_every_scheme_has_its_traits_and_the_old_tables_are_derived_from_them() -> None:
    assert set(SCHEMES) == set(TRAITS)
    assert [name for name, scheme in SCHEMES.items() if scheme.traits.text_only] == [
        "default",
        "reference",
        "scripted",
        "llama",
    ]
    assert [name for name, scheme in SCHEMES.items() if scheme.traits.gpu_offload] == ["default", "llama"]
    assert record_keys() == {
        "backend", "model_file", "model_sha256", "gguf_architecture", "gguf_name", "chat_template",
        "chat_template_sha256", "n_ctx", "n_gpu_layers", "gpu_offload_supported", "load_s", "grammar",
        "n_threads", "url", "model", "script", "student", "server_model", "server_model_path", "server_build",
        "server_tools",
    }  # fmt: skip
    openai_http = pytest.importorskip("pytest_arena.students.openai_http", exc_type=ImportError)
    assert openai_http.OpenAIStudent.native_tools is True


def test_a_new_scheme_is_seen_by_every_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """One entry in SCHEMES and its traits: the dialect check, the offload warning's selection, the
    gate's known keys, help forms and labels all see it, with nothing else edited."""
    toy = Scheme("toy", "toy:PATH.bin", make=lambda config, rest, load: ReferenceStudent(), label=lambda rest: "toy")
    monkeypatch.setitem(SCHEMES, "toy", toy)
    monkeypatch.setitem(TRAITS, "toy", SchemeTraits(gpu_offload=True, record_keys=frozenset({"toy_key"})))
    with pytest.raises(OptionError, match="student 'toy:m.bin' has no server-side function calling"):
        dialect_option("native", ("toy:m.bin",))
    assert loads_gguf("toy:m.bin") and text_only("toy:m.bin")
    assert {"toy_key", "student.toy_key"} <= known_keys([])
    assert "toy:PATH.bin" in forms() and student_label("toy:m.bin") == "toy"
    monkeypatch.setitem(TRAITS, "toy", SchemeTraits(text_only=False))
    assert dialect_option("native", ("toy:m.bin",)) == ("native",)
    assert not loads_gguf("toy:m.bin") and "toy_key" not in known_keys([])


def test_the_glue_passes_the_load_settings_in(tmp_path: Path) -> None:
    hook = BuiltinStudents(LoadSettings(gpu_layers=0, n_ctx=512, gpus=(1,)))
    assert isinstance(hook.pytest_arena_make_student(config(tmp_path), "reference"), ReferenceStudent)
    assert hook.pytest_arena_make_student(config(tmp_path), "nosuch:x") is None
    assert offload_warning(asked=False, gpu_layers=8, students=("default",)) is None
    assert offload_warning(asked=True, gpu_layers=8, students=("reference", "openai:http://h#m")) is None


def test_worker_n_loads_on_gpu_n_modulo_the_gpus_given() -> None:
    assert [LoadSettings(gpus=(2, 5), worker=n).main_gpu for n in range(4)] == [2, 5, 2, 5]
    assert LoadSettings(worker=3).main_gpu == 0


@pytest.mark.parametrize(("workers", "cores", "threads"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8)])
def test_llama_threads_are_the_cores_shared_among_the_workers(workers: int, cores: int, threads: int) -> None:
    assert llama_threads(workers, cores) == threads


def test_an_explicit_thread_count_wins() -> None:
    assert llama_threads(2, 2, chosen=4) == 4
    assert LoadSettings(workers=2, threads=3).n_threads == 3
    assert PARSERS["arena-threads"]("arena-threads", "") is None  # not given: cores / workers
    with pytest.raises(OptionError, match="a thread count >= 0"):
        PARSERS["arena-threads"]("arena-threads", "-1")


def test_the_cores_are_those_of_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {3}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert usable_cores() == 1 and LoadSettings().n_threads == 1


def test_the_glue_reads_the_worker_count_and_the_option() -> None:
    options = SimpleNamespace(gpu_layers=-1, n_ctx=0, gpus=(), threads=0)
    worker = SimpleNamespace(workerinput={"workerid": "gw1", "workercount": 2})
    load = plugin.load_settings(worker, options)  # type: ignore[arg-type]
    assert (load.worker, load.workers, load.threads) == (1, 2, 0)
    chosen = plugin.load_settings(SimpleNamespace(), SimpleNamespace(**{**vars(options), "threads": 5}))  # type: ignore[arg-type]
    assert (chosen.workers, chosen.n_threads) == (1, 5)


def test_the_thread_count_reaches_llama(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers on two cores: Llama(...) is asked for one thread, for generation and prefill."""
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed")
    asked: dict[str, object] = {}

    def refuse(**kwargs: object) -> None:
        asked.update(kwargs)
        raise ValueError("not a model")

    monkeypatch.setattr("pytest_arena.students.llama_cpp.probe", lambda *_args: None)
    monkeypatch.setattr(llama_cpp, "Llama", refuse)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(StudentError, match="could not load"):
        SCHEMES["llama"].make(config(tmp_path), str(model), LoadSettings(workers=2))
    assert (asked["n_threads"], asked["n_threads_batch"]) == (1, 1)
