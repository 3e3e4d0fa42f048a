"""report.html and summary.md from an assembled Report: rendering only, no numbers computed here."""

from __future__ import annotations

import base64
import html

from .report_blocks import Chart, Report


def _md_text(text: str) -> str:
    """Text for one line of Markdown, shown as written: model output in a cell must not become
    HTML (``<script>``, ``<img onerror>``), a link or an image, emphasis or code, or a new line."""
    text = text.replace("\\", "\\\\").replace("\r", " ").replace("\n", " ")
    text = html.escape(text, quote=False)  # & < >: no raw HTML, no <autolink>
    for char in "*`~":
        text = text.replace(char, "\\" + char)
    return text.replace("](", "]\\(")  # [text](url) and ![alt](src) need "](" together


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|")


def render_markdown(report: Report) -> str:
    lines = [f"# {_md_text(report.title)}", ""]
    lines += [f"- {_md_text(line)}" for line in report.overview]
    lines += ["", "Charts: see report.html next to this file.", ""]
    for heading, blocks in report.sections:
        lines += [f"## {_md_text(heading)}", ""]
        for block in blocks:
            if isinstance(block, Chart):
                continue
            lines += [f"### {_md_text(block.title)}", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "|".join("---" for _ in block.headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            if block.note:
                lines += ["", _md_text(block.note)]
            lines.append("")
    return "\n".join(lines)


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
figure { margin: 1em 0; }
figcaption, .note { color: #555; font-size: 0.85em; }
img { max-width: 100%; }
"""


def render_html(report: Report) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
        "<ul>",
    ]
    parts += [f"<li>{esc(line)}</li>" for line in report.overview]
    parts.append("</ul>")
    for heading, blocks in report.sections:
        parts.append(f"<h2>{esc(heading)}</h2>")
        for block in blocks:
            if isinstance(block, Chart):
                data = base64.b64encode(block.png).decode("ascii")
                parts.append(
                    f'<figure><img alt="{esc(block.title)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{esc(block.caption)}</figcaption></figure>"
                )
                continue
            parts.append(f"<h3>{esc(block.title)}</h3><table><thead><tr>")
            parts += [f"<th>{esc(h)}</th>" for h in block.headers]
            parts.append("</tr></thead><tbody>")
            for n, row in enumerate(block.rows):
                cells = [f"<td>{esc(c)}</td>" for c in row]
                if n < len(block.links) and block.links[n] and cells:
                    cells[0] = f'<td><a href="{esc(block.links[n])}">{esc(row[0])}</a></td>'
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table>")
            if block.note:
                parts.append(f'<p class="note">{esc(block.note)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)
