"""Whether the records read make whole shard sets: each record names the ``--arena-shard I/N`` run
that made it, so a merge of CI shards can name a shard that left nothing behind (its job failed
before writing, its artifact was not downloaded, or it was not given)."""

from __future__ import annotations

from collections import defaultdict

from ..engine.shard import Shard, ShardError
from .record import ItemRecord


def missing_shards(records: list[ItemRecord]) -> list[str]:
    """One line per shard I/N absent from records that name shards of N."""
    seen: dict[int, set[int]] = defaultdict(set)
    unreadable: set[str] = set()
    for record in records:
        if not record.shard:
            continue
        try:
            shard = Shard.parse(record.shard)
        except ShardError:
            unreadable.add(record.shard)
            continue
        seen[shard.count].add(shard.index)
    lines = [
        f"records name shard {text!r}, which is not I/N: left out of the shard check" for text in sorted(unreadable)
    ]
    if len(seen) > 1:
        counts = ", ".join(f"of {n}" for n in sorted(seen))
        lines.append(f"records come from shard sets of different sizes ({counts}): were runs of two campaigns merged?")
    for count, indices in sorted(seen.items()):
        lines += [
            f"shard {index}/{count} missing: no records from it (its run failed or was not given, "
            "or no fixture falls in it)"
            for index in range(1, count + 1)
            if index not in indices
        ]
    return lines
