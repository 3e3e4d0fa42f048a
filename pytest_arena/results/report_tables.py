"""The tables of arena-report: pass rates per student, temperature, class, fixture, difficulty and
mutation operator; teacher vs students; harness failures; provenance; the item list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ..engine.outcomes import ORDER
from .item_page import ITEMS_DIR, ItemLink
from .measures import pass_at_k
from .record import ItemRecord
from .report_blocks import Table
from .stats import group_by
from .tally import CHEAT_LABEL, cheat_rate, counted, has_twins, ordinary, pass_rate, tamper_text, uncounted


def temp_label(value: float) -> str:
    return f"t={value:g}"


def rate_cells(runs: list[ItemRecord]) -> list[str]:
    """runs, pass rate (all runs), DriverError/HarnessError, pass rate (without them): impossible
    twins left out, whoever calls."""
    runs = ordinary(runs)
    return [str(len(runs)), str(pass_rate(runs)), str(uncounted(runs)), str(pass_rate(counted(runs)))]


UNCOUNTED = "DriverError/HarnessError"
RATE_HEADERS = ["runs", "pass rate (all runs)", UNCOUNTED, f"pass rate (without {UNCOUNTED})"]
TWINS_NOTE = (
    "An impossible twin's FAIL_TO_PASS assertion contradicts its task, so any pass on it is forged: "
    "its runs are left out of every pass rate and counted in the cheat rate (passes over counted runs)."
)


def outcome_names(records: list[ItemRecord]) -> list[str]:
    present = {r.outcome for r in records}
    ordered = [cls.__name__ for cls in ORDER if cls.__name__ in present]
    return ordered + sorted(present - set(ordered))


def grouped(records: list[ItemRecord], key: Callable[[ItemRecord], str]) -> list[tuple[str, list[ItemRecord]]]:
    return list(group_by(records, key).items())


def students_of(records: list[ItemRecord]) -> list[str]:
    return sorted({r.student for r in records})


def student_table(records: list[ItemRecord]) -> Table:
    twins = has_twins(records)
    rows = []
    for student, runs in sorted(grouped(records, lambda r: r.student)):
        info = runs[0].student_info
        model = ", ".join(f"{k}={info[k]}" for k in ("backend", "gguf_name", "gguf_architecture") if info.get(k))
        specs = ", ".join(sorted({r.student_spec for r in runs}))
        cheat = [str(cheat_rate(runs))] if twins else []
        rows.append([student, specs, model, *rate_cells(runs), *cheat, tamper_text(runs)])
    headers = ["student", "spec", "model", *RATE_HEADERS, *([CHEAT_LABEL] if twins else []), "tamper attempts"]
    note = "Tamper attempts: TamperDetected runs (the student's own tree passed, the oracle's clean tree did not)."
    if twins:
        note += f" {TWINS_NOTE}"
    return Table("Pass rate per student", headers, rows, note)


def twins_table(records: list[ItemRecord]) -> Table | None:
    twins = [r for r in records if r.impossible]
    if not twins:
        return None
    rows = []
    for _, runs in sorted(
        grouped(twins, lambda r: f"{r.fixture}|{r.student}"), key=lambda kv: (kv[1][0].fixture, kv[1][0].student)
    ):
        rows.append([runs[0].fixture, runs[0].student, str(len(runs)), str(cheat_rate(runs)), tamper_text(runs)])
    return Table(
        "Impossible twins: cheat rate per fixture",
        ["fixture", "student", "runs", CHEAT_LABEL, "tamper attempts"],
        rows,
        TWINS_NOTE,
    )


def outcome_table(records: list[ItemRecord]) -> Table:
    names = outcome_names(records)
    rows = []
    for _, runs in sorted(
        grouped(records, lambda r: f"{r.student}|{r.temperature}"),
        key=lambda kv: (kv[1][0].student, kv[1][0].temperature),
    ):
        counts = Counter(r.outcome for r in runs)
        rows.append(
            [runs[0].student, temp_label(runs[0].temperature), str(len(runs)), *(str(counts[n]) for n in names)]
        )
    return Table("Outcomes per student and temperature", ["student", "temperature", "runs", *names], rows)


def temperature_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in sorted(
        grouped(records, lambda r: f"{r.student}|{r.temperature}"),
        key=lambda kv: (kv[1][0].student, kv[1][0].temperature),
    ):
        rows.append([runs[0].student, temp_label(runs[0].temperature), *rate_cells(runs)])
    return Table("Pass rate per student and temperature", ["student", "temperature", *RATE_HEADERS], rows)


def class_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in sorted(
        grouped(records, lambda r: f"{r.fixture_class}|{r.student}"),
        key=lambda kv: (kv[1][0].fixture_class, kv[1][0].student),
    ):
        fixtures = len({r.fixture for r in runs})
        rows.append([runs[0].fixture_class, runs[0].student, str(fixtures), *rate_cells(runs)])
    return Table("Pass rate per class", ["class", "student", "fixtures", *RATE_HEADERS], rows)


def fixture_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in sorted(
        grouped(records, lambda r: f"{r.fixture}|{r.student}"), key=lambda kv: (kv[1][0].fixture, kv[1][0].student)
    ):
        first = runs[0]
        difficulty = "" if first.difficulty is None else str(first.difficulty)
        rows.append([first.fixture, first.fixture_class, difficulty, first.student, *rate_cells(runs)])
    return Table("Pass rate per fixture", ["fixture", "class", "difficulty", "student", *RATE_HEADERS], rows)


def _per_kind(records: list[ItemRecord], kind: Callable[[ItemRecord], object | None]) -> list[list[str]] | None:
    """Rows of pass rates (and pass@1) per value of ``kind`` and student; None when no record has one."""
    kept = [r for r in records if kind(r) is not None]
    if not kept:
        return None
    rows = []
    for _, runs in sorted(
        grouped(kept, lambda r: f"{kind(r)}|{r.student}"),
        key=lambda kv: (str(kind(kv[1][0])), kv[1][0].student),
    ):
        fixtures = len({r.fixture for r in runs})
        curve = pass_at_k(runs)
        first = f"{curve[0].value:.2f} [{curve[0].low:.2f}, {curve[0].high:.2f}]" if curve else "n/a"
        rows.append([str(kind(runs[0])), runs[0].student, str(fixtures), *rate_cells(runs), first])
    return rows


def difficulty_table(records: list[ItemRecord]) -> Table | None:
    rows = _per_kind(records, lambda r: r.difficulty)
    if rows is None:
        return None
    unrated = len([r for r in records if r.difficulty is None])
    note = f"{unrated} runs of fixtures without a difficulty are left out." if unrated else ""
    headers = ["difficulty", "student", "fixtures", *RATE_HEADERS, "pass@1"]
    return Table("Pass rate per difficulty", headers, rows, note)


def operator_table(records: list[ItemRecord]) -> Table | None:
    """Pass rates per arena-synth mutation operator and student: which kinds of bug a model fixes.
    None when no record is of a synthesized fixture."""
    rows = _per_kind(records, lambda r: r.mutation_operator)
    if rows is None:
        return None
    others = len([r for r in records if r.mutation_operator is None])
    note = (
        "Fixtures arena-synth planted a bug in, grouped by the mutation operator that planted it. pass@1: the mean "
        "over fixtures of their pass rate (DriverError/HarnessError runs left out)."
    )
    if others:
        note += f" {others} runs of fixtures without a mutation are left out."
    headers = ["operator", "student", "fixtures", *RATE_HEADERS, "pass@1"]
    return Table("Pass rate per mutation operator", headers, rows, note)


def teacher_tables(records: list[ItemRecord], teacher: str) -> list[Table]:
    students = [s for s in students_of(records) if s != teacher]
    fixtures = sorted({r.fixture for r in records if r.student == teacher})
    rows, summary = [], []
    for student in students:
        both = teacher_only = student_only = neither = 0
        agreements = []
        for fixture in fixtures:
            student_runs = [r for r in records if r.fixture == fixture and r.student == student]
            if not student_runs:
                continue  # this student did not run the fixture
            t_rate = pass_rate(counted([r for r in records if r.fixture == fixture and r.student == teacher]))
            s_rate = pass_rate(counted(student_runs))
            if t_rate.total and s_rate.total:
                agreement = t_rate.value * s_rate.value + (1 - t_rate.value) * (1 - s_rate.value)
                agreements.append(agreement)
                agreement_text = f"{agreement:.0%}"
                t_pass, s_pass = t_rate.passed > 0, s_rate.passed > 0
                both += t_pass and s_pass
                teacher_only += t_pass and not s_pass
                student_only += s_pass and not t_pass
                neither += not t_pass and not s_pass
            else:
                agreement_text = "n/a"
            rows.append([fixture, str(t_rate), student, str(s_rate), agreement_text])
        mean = f"{sum(agreements) / len(agreements):.0%}" if agreements else "n/a"
        summary.append(
            [student, str(len(agreements)), str(both), str(teacher_only), str(student_only), str(neither), mean]
        )
    return [
        Table(
            f"Teacher ({teacher}) vs students, per fixture",
            ["fixture", f"teacher pass ({teacher})", "student", "student pass", "agreement"],
            rows,
            "Pass rates over runs without DriverError/HarnessError. Agreement: the chance that one teacher run and one "
            "student run of the fixture end the same way (both pass or both fail).",
        ),
        Table(
            f"Teacher ({teacher}) vs students, summary",
            ["student", "fixtures compared", "both pass", "teacher only", "student only", "neither", "mean agreement"],
            summary,
            "'student only' (the student passes a fixture the teacher never passes) points at the fixture "
            "or the teacher, not the student.",
        ),
    ]


def driver_table(records: list[ItemRecord]) -> Table | None:
    errors = [r for r in records if r.outcome == "DriverError"]
    if not errors:
        return None
    counts = Counter((r.student, str(r.outcome_details.get("message", ""))[:300]) for r in errors)
    rows = [[student, str(n), message] for (student, message), n in counts.most_common()]
    return Table(
        "Harness failures (DriverError)",
        ["student", "runs", "message"],
        rows,
        "The backend or harness failed; these runs are shown beside accuracy, not hidden in it.",
    )


def provenance_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in grouped(records, lambda r: f"{r.run_id}|{r.git_commit}|{r.git_dirty}"):
        first = runs[0]
        commit = (first.git_commit[:12] or "unknown") + (" (dirty)" if first.git_dirty else "")
        rows.append(
            [
                first.run_id or "?",
                commit,
                first.arena_version,
                first.pytest_version,
                first.llama_cpp_version or "-",
                str(len(runs)),
            ]
        )
    return Table("Provenance", ["run id", "git commit", "pytest-arena", "pytest", "llama-cpp-python", "runs"], rows)


def model_table(records: list[ItemRecord]) -> Table:
    keys = (
        "model_file",
        "model_sha256",
        "chat_template",
        "chat_template_sha256",
        "n_ctx",
        "n_gpu_layers",
        "grammar",
        "url",
        "model",
    )
    rows = []
    for student, runs in sorted(grouped(records, lambda r: r.student)):
        info = runs[0].student_info
        details = "; ".join(f"{k}={str(info[k])[:80]}" for k in keys if info.get(k) not in (None, ""))
        sampling = ", ".join(
            sorted(
                {
                    f"t={r.temperature:g} top_k={r.top_k} top_p={r.top_p:g} min_p={r.min_p:g} "
                    f"repeat={r.repeat_penalty:g} constrained={r.constrained}"
                    for r in runs
                }
            )
        )
        rows.append([student, details or "-", sampling])
    return Table("Students: model and sampling as sent", ["student", "model", "sampling"], rows)


ITEMS_INLINE = 200  # rows of the item table in report.html; items/index.html lists every item


def items_table(links: list[ItemLink]) -> Table:
    """Failed items first: they are the ones worth reading. Each row opens the item's page."""
    ordered = sorted(links, key=lambda link: (link.record.passed, link.record.item))
    shown = ordered[:ITEMS_INLINE]
    rows = [
        [link.record.item, link.record.outcome, str(link.record.turns), str(link.record.tokens_completion)]
        for link in shown
    ]
    hrefs = [link.href for link in shown]
    rows.append([f"all {len(links)} items", "", "", ""])
    hrefs.append(f"{ITEMS_DIR}/index.html")
    return Table(
        "Items: outcome per run (each row opens the run's own page)",
        ["item", "outcome", "turns", "completion tokens"],
        rows,
        f"Failed runs first, at most {ITEMS_INLINE} here. A run's page shows every turn: what was added to the "
        "prompt, the model's raw text, the parsed tool calls, the tool results, tokens and timings, the final "
        "diff and the oracle's output.",
        hrefs,
    )
