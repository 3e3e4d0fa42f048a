"""One HTML page per item, from its trajectory: what the model was shown and said, turn by turn,
the calls parsed from it, the tool results, the final diff and the oracle's output.

Pages are separate files under ``items/`` next to report.html, so the report stays small however
many items a campaign has; ``items/index.html`` lists them all. Every text on a page is escaped
(model output is untrusted: a ``<script>`` in a turn shows as text), and a page fetches nothing.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from .record import ItemRecord
from .trajectory import CheckDetail, StoredCall, StoredResult, StoredTurn, Trajectory, read_trajectory, safe_name

ITEMS_DIR = "items"
COLLAPSE_CHARS = 1500  # longer texts start folded
COLLAPSE_LINES = 25

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
pre { background: #f6f6f6; padding: 0.6em; white-space: pre-wrap; word-break: break-word; margin: 0.3em 0; }
.turn { border: 1px solid #ccc; border-radius: 4px; padding: 0.5em 1em; margin: 1em 0; }
.meta { color: #555; font-size: 0.85em; }
.pass { color: #2e7d32; } .fail { color: #c62828; }
.tag { font-size: 0.8em; padding: 0 0.4em; border-radius: 3px; background: #eee; }
.salvaged { background: #fff3cd; } .strict { background: #d4edda; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
"""


@dataclass(frozen=True)
class ItemLink:
    record: ItemRecord
    href: str  # relative to report.html


def page_name(item: str) -> str:
    return f"{ITEMS_DIR}/{safe_name(item)}.html"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _block(text: str, label: str = "") -> str:
    """Preformatted text, folded behind its first line when long."""
    body = f"<pre>{_esc(text)}</pre>"
    if len(text) <= COLLAPSE_CHARS and text.count("\n") <= COLLAPSE_LINES:
        return (f"<div>{_esc(label)}</div>" if label else "") + body
    summary = f"{label} ({len(text)} characters, {text.count(chr(10)) + 1} lines)".strip()
    return f"<details><summary>{_esc(summary)}</summary>{body}</details>"


def _outcome_section(record: ItemRecord, oracle: str) -> list[str]:
    css = "pass" if record.passed else "fail"
    fields = record.outcome_details
    why = "; ".join(f"{key}: {value}" for key, value in fields.items()) or "-"
    parts = [
        f'<h2>Outcome: <span class="{css}">{_esc(record.outcome)}</span></h2>',
        "<table>",
        f"<tr><th>why</th><td>{_esc(why)}</td></tr>",
        f"<tr><th>failed clause of the oracle</th><td>{_esc(record.failed_clause or '-')}</td></tr>",
        f"<tr><th>student</th><td>{_esc(record.student)} ({_esc(record.student_spec)})</td></tr>",
        f"<tr><th>sampling</th><td>t={record.temperature:g}, seed {record.seed}, top_k {record.top_k}, "
        f"top_p {record.top_p:g}, min_p {record.min_p:g}, max_tokens {record.max_tokens}, "
        f"repetition stop {_esc(record.repetition_stop or '-')}</td></tr>",
        f"<tr><th>turns</th><td>{record.turns} ({record.text_turns} without a tool call, "
        f"{record.truncated_turns} cut short)</td></tr>",
        f"<tr><th>tokens</th><td>prompt {record.tokens_prompt}, prefill {record.tokens_prefill}, "
        f"completion {record.tokens_completion}</td></tr>",
        f"<tr><th>time</th><td>wall {record.wall_s:.1f}s: generation {record.generation_s:.1f}s, "
        f"tools {record.tools_s:.1f}s, oracle {record.oracle_s:.1f}s</td></tr>",
        "</table>",
    ]
    if oracle:
        parts.append(_block(oracle, "oracle verdict"))
    return parts


def _list(title: str, items: list[str]) -> str:
    return f"<div>{title}:</div><ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _call(call: StoredCall) -> str:
    kind = "salvaged" if call.salvaged else "strict"
    args = json.dumps(call.input, indent=1, ensure_ascii=False)
    return f'<span class="tag {kind}">{kind}</span> <b>{_esc(call.name)}</b>{_block(args)}'


def _calls(calls: list[StoredCall]) -> str:
    if not calls:
        return '<p class="meta">No tool call parsed: a text turn.</p>'
    return _list("Parsed calls", [_call(call) for call in calls])


def _result(result: StoredResult) -> str:
    status = "ok" if result.ok else "failed"
    label = f"{result.name}: {status}, {result.seconds:.2f}s"
    return _block(result.output, label)


def _results(results: list[StoredResult]) -> str:
    return _list("Tool results", [_result(result) for result in results]) if results else ""


def _turn(turn: StoredTurn) -> str:
    gen_s = turn.generation_s
    completion = turn.completion_tokens
    rate = f", {completion / gen_s:.0f} tok/s" if gen_s > 0 else ""
    stop: str = turn.finish_reason
    if turn.stop_detail:
        stop += f" ({turn.stop_detail})"
    if turn.cached:
        stop += "; replayed from the response cache"
    delta = "\n\n".join(f"[{m.get('role', '?')}]\n{m.get('content', '')}" for m in turn.prompt_delta)
    return "".join(
        [
            f'<div class="turn"><h3>Turn {turn.index}</h3>',
            f'<p class="meta">stop reason: {_esc(stop)}; tokens: prompt {turn.prompt_tokens}, '
            f"prefill {turn.prefill_tokens}, completion {completion}; generation {gen_s:.2f}s"
            f"{rate}, tools {turn.tools_s:.2f}s</p>",
            _block(delta, "prompt added since the previous turn") if delta else "",
            _block(turn.raw_text, "model output (raw)"),
            _calls(turn.calls),
            _results(turn.results),
            "</div>",
        ]
    )


def _verdict(checks: list[CheckDetail]) -> list[str]:
    return [_block(check.output, f"{check.name}: `{check.command}` ({check.status})") for check in checks]


def _listed(given: list[str] | None, fallback: str) -> list[str]:
    """The trajectory's list (with the oracle's reasons) when it has one, else the record's
    comma-separated paths (a JUnit-only record, or a trajectory written before the key existed)."""
    if given is not None:
        return given
    return [part for part in fallback.split(",") if part]


def _entries(title: str, items: list[str], empty: str) -> str:
    if not items:
        return f'<p class="meta">{_esc(title)}: {_esc(empty)}</p>'
    return _list(_esc(title), [_esc(item) for item in items])


_TWIN = (
    '<p class="fail">An impossible twin: its FAIL_TO_PASS assertion contradicts the task, so any pass '
    "here is forged (counted in the cheat rate, not in pass rates).</p>"
)


def _clean_tree_section(record: ItemRecord, trajectory: Trajectory) -> list[str]:
    """What the oracle's clean tree left out or refused, and, for a tamper attempt, what the
    student's own tree said: the evidence behind a verdict the student's edits could not decide."""
    parts = ["<h2>The oracle's clean tree</h2>"]
    if record.impossible:
        parts.append(_TWIN)
    if record.outcome == "TamperDetected":
        fields = record.outcome_details
        parts.append(f'<p class="fail">Tamper attempt: {_esc(fields.get("kind", "?"))}</p>')
        parts.append(_block(str(fields.get("evidence", "")), "evidence"))
    dropped = _listed(trajectory.dropped_changes, record.dropped_changes)
    parts.append(_entries("Changes dropped (outside the editable paths)", dropped, "none"))
    added = _listed(trajectory.suppressions, record.suppressions)
    parts.append(_entries("Lint suppressions the student added", added, "none"))
    own = trajectory.own_tree_verdict
    if own is not None:
        parts.append("<h3>The student's own tree (as left, dropped changes included)</h3>")
        parts.extend(_verdict(own.checks) or ['<p class="meta">No check output recorded.</p>'])
    return parts


_NO_ORACLE = (
    '<p class="meta">No oracle output: the session ended before the oracle (see the outcome), '
    "or the run predates per-check output in trajectories.</p>"
)


def render_item(record: ItemRecord, trajectory: Trajectory) -> str:
    turns = trajectory.turns
    verdict = trajectory.verdict.checks if trajectory.verdict is not None else []
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(record.item)}</title>",
        f"<style>{STYLE}</style></head><body>",
        '<p><a href="../report.html">report</a> · <a href="index.html">all items</a></p>',
        f"<h1>{_esc(record.item)}</h1>",
        *_outcome_section(record, trajectory.oracle),
        *_clean_tree_section(record, trajectory),
        f"<h2>Turns ({len(turns)})</h2>",
        *(_turn(t) for t in turns),
        "<h2>Final diff</h2>",
        _block(record.diff or "(no change)", "diff against the fixture"),
        "<h2>Oracle output</h2>",
        *(_verdict(verdict) or [_NO_ORACLE]),
        "</body></html>",
    ]
    return "\n".join(parts)


def render_index(links: list[ItemLink]) -> str:
    rows = "".join(
        f'<tr><td><a href="{_esc(link.href.removeprefix(ITEMS_DIR + "/"))}">{_esc(link.record.item)}</a></td>'
        f"<td>{_esc(link.record.outcome)}</td><td>{link.record.turns}</td>"
        f"<td>{link.record.tokens_completion}</td><td>{link.record.wall_s:.1f}</td></tr>"
        for link in links
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>items</title>'
        f'<style>{STYLE}</style></head><body><p><a href="../report.html">report</a></p>'
        f"<h1>All items ({len(links)})</h1><table><thead><tr><th>item</th><th>outcome</th><th>turns</th>"
        f"<th>completion tokens</th><th>wall s</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    )


def write_item_pages(records: list[ItemRecord], run_dirs: dict[str, Path], out: Path) -> list[ItemLink]:
    """A page for every record whose trajectory can be read; returns the links, in record order."""
    links: list[ItemLink] = []
    folder = out / ITEMS_DIR
    for record in records:
        run_dir = run_dirs.get(record.item)
        if run_dir is None or not record.trajectory:
            continue
        try:
            trajectory = read_trajectory(run_dir / record.trajectory)
        except (OSError, ValueError):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        href = page_name(record.item)
        (out / href).write_text(render_item(record, trajectory), encoding="utf-8")
        links.append(ItemLink(record, href))
    if links:
        (folder / "index.html").write_text(render_index(links), encoding="utf-8")
    return links
