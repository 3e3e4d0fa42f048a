"""pytest hooks of the arena: options, collection, markers, report status, terminal summary."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from . import hookspecs
from .engine.commands import share_cores
from .engine.corpus import META, is_inside_fixture, root_problem
from .engine.outcomes import BY_NAME
from .engine.tempdirs import clean_stale
from .items import POOL_KEY, RUN_DIR_KEY, ArenaFile, ArenaItem, ArenaSetupError, student_pool
from .language_hook import add_plugin_languages, remove_plugin_languages
from .options import OPTIONS_KEY, ArenaOptions, OptionError, add_options, ini_value, read_options
from .outcome_display import SHOWN
from .progress import PROGRESS_KEY, Progress, arena_outcome, mark_crash
from .recorder import RECORDER_KEY, RunRecorder
from .results.record import new_run_id
from .results.resume import completed
from .results.run_folder import ReportsUnwritable, RunFolderError, check_run_folder
from .results.trajectory_transit import attach
from .results.writer import RunWriter
from .run_script import tell_run_script
from .students import builtin
from .students.pool import StudentPool
from .students.schemes import LoadSettings
from .students.threads import llama_threads
from .synth_collect import MARKER as SYNTH_MARKER
from .synth_collect import asks_for_synth, unasked_synthesized
from .warmup import WarmUp
from .xdist_role import is_worker, worker_count, worker_input, worker_number

if TYPE_CHECKING:
    from xdist.remote import Producer
    from xdist.scheduler.protocol import Scheduling
    from xdist.workermanage import WorkerController

KNOWN_CLASSES = ("leetcode", "oo", "transpile", "unix", "refactor")


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "arena: an arena item (fixture x student x settings)")
    config.addinivalue_line("markers", "arena_outcome(name): the outcome an arena item ended with")
    for name in KNOWN_CLASSES:
        config.addinivalue_line("markers", f"{name}: arena fixtures of class {name}")
    config.addinivalue_line("markers", SYNTH_MARKER)
    add_plugin_languages(config)
    try:
        options = read_options(config)
    except OptionError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[OPTIONS_KEY] = options
    if not config.pluginmanager.has_plugin("arena-builtin-students"):
        load = load_settings(config, options)
        config.pluginmanager.register(builtin.BuiltinStudents(load), "arena-builtin-students")
    if not options.enabled:
        return
    if options.sandbox == "none" and not is_worker(config):
        config.issue_config_time_warning(
            pytest.PytestWarning(
                "ARENA SANDBOX DISABLED (--arena-sandbox none): student shell commands and oracles run "
                "unconfined, with your user's rights, network and files"
            ),
            stacklevel=2,
        )
    # A broken meta.toml fails collection of that fixture only; the others still run.
    config.option.continue_on_collection_errors = True
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --arena` alone runs the corpus, not the project's own tests.
        config.args = [str(options.root)]
    student_pool(config)
    if is_worker(config):
        config.stash[RUN_DIR_KEY] = options.reports / str(worker_input(config)["arena_run_id"])
        share_cores(llama_threads(worker_count(config)))
    else:
        run_dir = options.resume or options.reports / new_run_id()
        shard = options.shard.text if options.shard is not None else ""
        recorder = RunRecorder(RunWriter(run_dir.parent, run_dir.name), config.rootpath / "gates.toml", shard)
        _check_before_work(config, options, recorder)
        tell_run_script(config, options)
        progress = Progress(config)
        config.stash[RECORDER_KEY], config.stash[PROGRESS_KEY] = recorder, progress
        config.pluginmanager.register(recorder, "arena-recorder")
        config.pluginmanager.register(progress, "arena-progress")
        config.pluginmanager.register(WarmUp(config), "arena-warmup")
        config.stash[RUN_DIR_KEY] = recorder.writer.run_dir


def load_settings(config: pytest.Config, options: ArenaOptions) -> LoadSettings:
    """How this process loads GGUFs: its worker number picks its GPU, the run's worker count its
    share of the CPU cores."""
    return LoadSettings(
        options.gpu_layers,
        options.n_ctx,
        options.gpus,
        worker=worker_number(config),
        workers=worker_count(config),
        threads=options.threads,
    )


def _check_before_work(config: pytest.Config, options: ArenaOptions, recorder: RunRecorder) -> None:
    """Everything that would otherwise fail only after the items ran: where results go, the corpus."""
    writer, resuming = recorder.writer, options.resume is not None
    try:
        if resuming:  # before anything reads or repairs the results file another run may be writing
            writer.lock()
        warning = check_run_folder(options.reports, writer.run_dir, resuming=resuming)
    except RunFolderError as exc:
        writer.close()
        raise pytest.UsageError(str(exc)) from None
    if warning is not None:
        config.issue_config_time_warning(pytest.PytestWarning(warning), stacklevel=2)
    try:
        recovered = recorder.recover() if resuming else 0
    except ReportsUnwritable as exc:
        raise pytest.UsageError(f"--arena-resume={writer.run_dir}: {exc}") from None
    if recovered:
        config.issue_config_time_warning(
            pytest.PytestWarning(
                f"{writer.path}: recovered {recovered} results that a killed run wrote only as trajectories"
            ),
            stacklevel=2,
        )
    clean_stale()  # workspaces of processes that died (a killed xdist worker) in earlier runs
    asked = config.getoption("arena_gpu_layers") is not None or str(ini_value(config, "arena-gpu-layers")) != "-1"
    offload = builtin.offload_warning(asked, options.gpu_layers, options.students)
    if offload is not None:
        config.issue_config_time_warning(pytest.PytestWarning(offload), stacklevel=2)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        problem = root_problem(options.root, synthesized=asks_for_synth(config))
        if problem is not None:
            raise pytest.UsageError(problem)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: WorkerController) -> None:
    """xdist: workers name their records with the controller's run id (their trajectories travel
    with the reports: trajectory_transit)."""
    run_dir = node.config.stash.get(RUN_DIR_KEY, None)
    if run_dir is not None:
        node.workerinput["arena_run_id"] = run_dir.name


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> Scheduling | None:
    """xdist: an arena run under -n schedules by student group, crash-safe (xdist_schedule)."""
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None or not options.enabled:
        return None
    from .xdist_schedule import arena_scheduler  # xdist is installed: it is asking

    return arena_scheduler(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Scheduling) -> None:
    """xdist: an item whose worker died is recorded as a DriverError (RunRecorder, Progress)."""
    mark_crash(crashitem, report)


def pytest_unconfigure(config: pytest.Config) -> None:
    remove_plugin_languages(config)
    pool = config.stash.get(POOL_KEY, None)
    if pool is not None:
        pool.release()
    recorder = config.stash.get(RECORDER_KEY, None)
    if recorder is not None:
        recorder.writer.close()
        del config.stash[RECORDER_KEY]
        config.pluginmanager.unregister(recorder)  # like junitxml's LogXML: one run object per config


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Nothing inside a fixture folder is a test of this project (a Python fixture's own tests
    included); with --arena its meta.toml is the one thing collected there. A synthesized corpus
    is collected only when asked for (synth_collect)."""
    options = config.stash.get(OPTIONS_KEY, None)
    if not is_inside_fixture(collection_path):
        if options is not None and options.enabled and unasked_synthesized(collection_path, config, options.root):
            return True
        return None
    wanted = options is not None and options.enabled and collection_path.name == META
    return None if wanted else True


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    options = parent.config.stash.get(OPTIONS_KEY, None)
    if options is not None and options.enabled and file_path.name == META:
        return ArenaFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drops items of other --arena-shard shares and those an --arena-resume run already holds, then
    orders student-major: a worker (or the single process) loads each model once and keeps it while
    its items run; xdist hands out contiguous runs of this order."""
    options = config.stash.get(OPTIONS_KEY, None)
    if options is not None and options.shard is not None:
        shard = options.shard
        _deselect(config, items, [it for it in items if isinstance(it, ArenaItem) and not shard.holds(it.spec.id)])
    if options is not None and options.resume is not None:
        done = completed(options.resume)
        _deselect(config, items, [it for it in items if isinstance(it, ArenaItem) and it.resume_key in done])
    arena = [(i, item) for i, item in enumerate(items) if isinstance(item, ArenaItem)]
    if not arena:
        return
    first_seen: dict[str, int] = {}
    for _, item in arena:
        first_seen.setdefault(item.variant.student_spec, len(first_seen))
    ordered = sorted(
        (item for _, item in arena),
        key=lambda it: (first_seen[it.variant.student_spec], it.variant.temperature, it.variant.seed),
    )
    for (slot, _), item in zip(arena, ordered, strict=True):
        items[slot] = item


def _deselect(config: pytest.Config, items: list[pytest.Item], dropped: list[ArenaItem]) -> None:
    """Reported as deselected, like ``-k``: the summary counts them and they are no failure."""
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(dropped)
        items[:] = [it for it in items if it not in gone]


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, Mapping[str, bool]]] | None:
    if report.when != "call":
        return None
    name = arena_outcome(report)
    outcome = BY_NAME.get(name or "")
    if outcome is None:
        return None
    letter, word = SHOWN[outcome.__name__]  # the one table of letters and words, passed included
    if outcome.passed:
        return "passed", letter, (word, {"green": True})
    return "failed", letter, (word, {"red": True})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # pytest renders setup errors as tracebacks without asking the item (repr_failure is only
    # used for the call phase); an item that cannot start is one readable line instead.
    if call.excinfo is not None and isinstance(call.excinfo.value, ArenaSetupError):
        report.longrepr = str(call.excinfo.value)
    if isinstance(item, ArenaItem) and item.packed_trajectory:
        attach(report, item.packed_trajectory)
        item.packed_trajectory = ""
    return report


@pytest.fixture(scope="session")
def arena_student_pool(pytestconfig: pytest.Config) -> StudentPool:
    """The per-process student pool: a model is loaded once per worker and reused across items."""
    return student_pool(pytestconfig)
