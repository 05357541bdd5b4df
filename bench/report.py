"""What every benchmark reports the same way: latency percentiles, rates and the table."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

DURABILITY = 'sync_interval: "always"'
"""The NATS durability every benchmark runs with (the shipped setting); printed and stored."""


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 (median), p95, p99 (nearest rank) and max of ``seconds``, in milliseconds."""
    ordered = sorted(seconds)
    if not ordered:
        raise ValueError("no samples")

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(rank(0.95) * 1000, 3),
        "p99_ms": round(rank(0.99) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "samples": len(ordered),
    }


def per_second(count: int, seconds: float) -> float:
    """A rate, rounded to what is worth printing."""
    rate = count / seconds if seconds > 0 else 0.0
    return round(rate) if rate >= 100 else round(rate, 1)


def percentiles(latency: dict[str, float]) -> str:
    """``p50 / p95 / p99`` of :func:`latency_ms`, for a table cell."""
    return f"{latency['p50_ms']:.1f} / {latency['p95_ms']:.1f} / {latency['p99_ms']:.1f}"


def number(value: float) -> str:
    """A rate or count with thousands separators."""
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(c) for c in cells)
        out = [first.ljust(widths[0])]
        out += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
