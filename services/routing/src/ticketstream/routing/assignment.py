"""Which agent a department's strategy picks for a new ticket: a pure choice.

The shared state a strategy needs is passed in: the agent round-robin assigned last (the
service keeps it in a key-value bucket shared by its replicas) and each agent's open-ticket
count (folded from events). Away agents are never picked; an agent an agent chose by hand is
the service's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import assert_never

from ticketstream.directory import Directory

__all__ = ["choose_least_open", "choose_round_robin", "decide_assignment", "eligible_members"]


def choose_round_robin(
    members_in_order: Sequence[str],
    last_assigned: str | None,
    *,
    eligible: Collection[str] | None = None,
) -> str | None:
    """The next member after ``last_assigned`` in ``members_in_order``, wrapping around.

    ``eligible`` (default: every member) says who may be picked; the others are skipped but
    keep their place in the turn order, so when the agent assigned last has gone away the
    turn still passes to the one after them. Starts with the first member when
    ``last_assigned`` is ``None`` or not a member. ``None`` when nobody is eligible.
    """
    if not members_in_order:
        return None
    try:
        start = members_in_order.index(last_assigned) + 1 if last_assigned is not None else 0
    except ValueError:
        start = 0
    count = len(members_in_order)
    for step in range(count):
        member = members_in_order[(start + step) % count]
        if eligible is None or member in eligible:
            return member
    return None


def choose_least_open(members: Sequence[str], open_counts: Mapping[str, int]) -> str | None:
    """The member with the fewest open tickets (absent from ``open_counts``: none).

    Ties go to the member listed first, so the choice is deterministic. ``None`` when
    ``members`` is empty.
    """
    if not members:
        return None
    return min(members, key=lambda member: open_counts.get(member, 0))


def eligible_members(directory: Directory, department_id: str) -> list[str]:
    """The department's members who may be auto-assigned (not away), in configured order."""
    return [agent.id for agent in directory.active_members(department_id)]


def decide_assignment(
    directory: Directory,
    department_id: str,
    *,
    last_assigned: str | None,
    open_counts: Mapping[str, int],
) -> str | None:
    """The agent the department's strategy assigns, or ``None`` (strategy ``none``, or nobody
    is eligible). Raises ``UnknownIdError`` for a department the directory does not have.
    """
    department = directory.department(department_id)
    match department.assignment:
        case "none":
            return None
        case "round_robin":
            return choose_round_robin(
                department.members,
                last_assigned,
                eligible=frozenset(eligible_members(directory, department_id)),
            )
        case "least_open":
            return choose_least_open(eligible_members(directory, department_id), open_counts)
        case _:
            assert_never(department.assignment)
