"""OUT/manifest.json: what a synthesized corpus was made from and of (each source's hash, the
tool version, the seed, every fixture's content hash), so it can be regenerated and compared.
A second arena-synth run into the same OUT replaces its own sources' entries only."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..engine.corpus import SYNTH_MANIFEST, fixture_digest
from .run import Outcome, Settings

TOOL = "arena-synth"
FORMAT = 1


def tool_version() -> str:
    try:
        return version("pytest-arena")
    except PackageNotFoundError:
        return "unknown"


def read_manifest(out: Path) -> dict[str, Any]:
    path = out / SYNTH_MANIFEST
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("tool") == TOOL:
            return data
    return {"tool": TOOL, "format": FORMAT, "sources": {}, "fixtures": {}}


def record(out: Path, outcome: Outcome, settings: Settings) -> Path:
    data = read_manifest(out)
    source = outcome.source
    data["version"] = tool_version()
    data["sources"][source.name] = {
        "path": str(source.path),
        "language": source.language,
        "sha256": source.digest,
        "seed": settings.seed,
        "max": settings.max_kept,
        "operators": list(settings.operators),
        "repeat": settings.repeat,
        "twin": settings.twin,
        "sites": outcome.sites,
        "tried": outcome.tried,
        "built": outcome.built,
        "kept": len(outcome.kept),
        "rejected": dict(sorted(outcome.rejected.items())),
        "seconds": outcome.seconds,
    }
    fixtures = {k: v for k, v in data["fixtures"].items() if v.get("source") != source.name}
    for kept in outcome.kept:
        fixtures[kept.id] = {
            "source": source.name,
            "path": kept.folder.relative_to(out).as_posix(),
            "sha256": fixture_digest(kept.folder),
            "operator": kept.mutant.operator,
            "file": kept.mutant.file,
            "line": kept.mutant.line,
            "fail_to_pass": kept.proof.fail_to_pass,
            "pass_to_pass": kept.proof.pass_to_pass,
        }
    data["fixtures"] = dict(sorted(fixtures.items()))
    data["sources"] = dict(sorted(data["sources"].items()))
    path = out / SYNTH_MANIFEST
    # "tool" first: is_synthesized_corpus reads only the file's first bytes.
    ordered = {"tool": TOOL, "format": FORMAT, **{k: v for k, v in data.items() if k not in ("tool", "format")}}
    path.write_text(json.dumps(ordered, indent=1) + "\n", encoding="utf-8")
    return path
