"""Reports over the ticket read model: volumes, response times, SLA compliance, satisfaction.

Every report takes the same filters: ``since`` (inclusive) and ``until`` (exclusive) bound
the moments the report is about, and ``department`` narrows it to one department.

- volumes: tickets created per UTC day (by ``created_at``) and resolved per UTC day (by
  ``resolved_at``), per department;
- response times and SLA compliance: the tickets created in the range;
- satisfaction: the feedback submitted in the range (the time of the feedback entry).

Durations are in seconds; medians and p90s are ``percentile_cont`` (interpolated).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .db import Connection

__all__ = [
    "COMMENTS_LIMIT",
    "RATINGS",
    "response_times",
    "satisfaction",
    "sla_compliance",
    "volumes",
]

RATINGS = (1, 2, 3, 4, 5)
COMMENTS_LIMIT = 20
SLA_TARGETS = ("first_response", "resolution")


def _where(
    column: str, since: datetime | None, until: datetime | None, department: str | None
) -> tuple[str, list[Any]]:
    """A WHERE clause over ``column`` (a trusted column expression) and the filters."""
    conditions = ["TRUE"]
    args: list[Any] = []
    if since is not None:
        args.append(since)
        conditions.append(f"{column} >= ${len(args)}")
    if until is not None:
        args.append(until)
        conditions.append(f"{column} < ${len(args)}")
    if department is not None:
        args.append(department)
        conditions.append(f"t.department = ${len(args)}")
    return " AND ".join(conditions), args


async def volumes(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    department: str | None = None,
) -> list[dict[str, Any]]:
    """Tickets created and resolved per UTC day and department, oldest day first."""
    created_where, args = _where("t.created_at", since, until, department)
    resolved_where, _ = _where("t.resolved_at", since, until, department)
    rows = await conn.fetch(
        f"""WITH events AS (
                SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day, t.department,
                       1 AS created, 0 AS resolved
                FROM tickets t WHERE {created_where}
                UNION ALL
                SELECT (t.resolved_at AT TIME ZONE 'UTC')::date, t.department, 0, 1
                FROM tickets t WHERE t.resolved_at IS NOT NULL AND {resolved_where}
            )
            SELECT day, department, sum(created)::int AS created,
                   sum(resolved)::int AS resolved
            FROM events
            GROUP BY day, department
            ORDER BY day, department NULLS FIRST""",
        *args,
    )
    return [
        {
            "day": r["day"].isoformat(),
            "department": r["department"],
            "created": r["created"],
            "resolved": r["resolved"],
        }
        for r in rows
    ]


def _distribution(count: int, median: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "median_seconds": median, "p90_seconds": p90}


async def response_times(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    department: str | None = None,
) -> dict[str, Any]:
    """First-response and resolution time distributions of the tickets created in the range:
    count, median and p90 in seconds, overall and per department."""
    where, args = _where("t.created_at", since, until, department)
    rows = await conn.fetch(
        f"""WITH d AS (
                SELECT t.department,
                       extract(epoch FROM t.first_responded_at - t.created_at)::float8 AS fr,
                       extract(epoch FROM t.resolved_at - t.created_at)::float8 AS res
                FROM tickets t WHERE {where}
            )
            SELECT grouping(department) AS overall, department,
                   count(fr)::int AS fr_count,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY fr) AS fr_median,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY fr) AS fr_p90,
                   count(res)::int AS res_count,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY res) AS res_median,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY res) AS res_p90
            FROM d
            GROUP BY GROUPING SETS ((), (department))
            ORDER BY overall DESC, department NULLS FIRST""",
        *args,
    )
    overall: dict[str, Any] = {
        "first_response": _distribution(0, None, None),
        "resolution": _distribution(0, None, None),
    }
    departments: list[dict[str, Any]] = []
    for r in rows:
        entry = {
            "first_response": _distribution(r["fr_count"], r["fr_median"], r["fr_p90"]),
            "resolution": _distribution(r["res_count"], r["res_median"], r["res_p90"]),
        }
        if r["overall"]:
            overall = entry
        else:
            departments.append({"department": r["department"], **entry})
    return {"overall": overall, "departments": departments}


async def sla_compliance(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    department: str | None = None,
) -> list[dict[str, Any]]:
    """Per department and target, of the tickets created in the range with that due time
    set: how many there are, how many met it (never breached), and the percentage."""
    where, args = _where("t.created_at", since, until, department)
    rows = await conn.fetch(
        f"""SELECT t.department,
                   count(t.first_response_due)::int AS fr_total,
                   count(t.first_response_due) FILTER (
                       WHERE NOT t.first_response_breached)::int AS fr_met,
                   count(t.resolution_due)::int AS res_total,
                   count(t.resolution_due) FILTER (
                       WHERE NOT t.resolution_breached)::int AS res_met
            FROM tickets t
            WHERE (t.first_response_due IS NOT NULL OR t.resolution_due IS NOT NULL)
              AND {where}
            GROUP BY t.department
            ORDER BY t.department NULLS FIRST""",
        *args,
    )
    report: list[dict[str, Any]] = []
    for r in rows:
        for target, prefix in zip(SLA_TARGETS, ("fr", "res"), strict=True):
            total, met = r[f"{prefix}_total"], r[f"{prefix}_met"]
            if total == 0:
                continue
            report.append(
                {
                    "department": r["department"],
                    "target": target,
                    "total": total,
                    "met": met,
                    "breached": total - met,
                    "percentage": round(100.0 * met / total, 2),
                }
            )
    return report


async def satisfaction(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    department: str | None = None,
) -> dict[str, Any]:
    """The feedback submitted in the range: average rating, the distribution over 1..5 (every
    rating present), the count, and the latest comments (newest first)."""
    where, args = _where("f.created_at", since, until, department)
    # Each ticket's current feedback (the rating on the row) at the time of its latest
    # feedback entry in the thread.
    base = f"""SELECT t.ticket_id, t.department, t.feedback_rating AS rating,
                      t.feedback_comment AS comment, f.created_at
               FROM tickets t
               JOIN LATERAL (
                   SELECT e.created_at FROM thread_entries e
                   WHERE e.ticket_id = t.ticket_id AND e.kind = 'feedback'
                   ORDER BY e.version DESC LIMIT 1
               ) f ON TRUE
               WHERE t.feedback_rating IS NOT NULL AND {where}"""
    counts = await conn.fetch(
        f"SELECT rating, count(*)::int AS n FROM ({base}) s GROUP BY rating", *args
    )
    comments = await conn.fetch(
        f"""SELECT * FROM ({base}) s
            WHERE s.comment IS NOT NULL AND btrim(s.comment) <> ''
            ORDER BY s.created_at DESC, s.ticket_id
            LIMIT {COMMENTS_LIMIT}""",
        *args,
    )
    distribution = {str(rating): 0 for rating in RATINGS}
    for r in counts:
        distribution[str(r["rating"])] = r["n"]
    count = sum(distribution.values())
    total = sum(int(rating) * n for rating, n in distribution.items())
    return {
        "count": count,
        "average": round(total / count, 2) if count else None,
        "distribution": distribution,
        "comments": [
            {
                "ticket_id": r["ticket_id"],
                "department": r["department"],
                "rating": r["rating"],
                "comment": r["comment"],
                "created_at": r["created_at"],
            }
            for r in comments
        ],
    }
