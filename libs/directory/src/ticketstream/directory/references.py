"""The rules that look across the directory's entries.

Each problem names where it is (a pydantic location such as
``("help_topics", 0, "department")``), the rule it breaks and why, so a broken file gets
every problem reported at once rather than one per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .directory import Directory

__all__ = ["Problem", "find_problems"]


class Problem(NamedTuple):
    """One broken rule: where, which rule, why, and the value found there."""

    loc: tuple[str | int, ...]
    rule: str
    message: str
    value: object


def find_problems(directory: Directory) -> list[Problem]:
    """Every cross-reference problem of ``directory``, section by section."""
    return [
        *_unique_ids(directory),
        *_unique_priorities(directory.priorities),
        *_sla_plans(directory),
        *_departments(directory),
        *_agents(directory),
        *_help_topics(directory),
        *_email_help_topic(directory),
    ]


def _email_help_topic(directory: Directory) -> Iterator[Problem]:
    topic = directory.email_help_topic
    if topic is not None and topic not in directory.help_topic_ids():
        yield Problem(
            ("email_help_topic",),
            "unknown_help_topic",
            f"no help topic {topic!r}; {_known('help topics', directory.help_topic_ids())}",
            topic,
        )


def _known(kind: str, ids: Iterable[str]) -> str:
    listed = ", ".join(ids)
    return f"known {kind}: {listed}" if listed else f"there are no {kind}"


def _repeats(values: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """``(position, first_position, value)`` for each value seen before (case-insensitive)."""
    first: dict[str, int] = {}
    for position, value in enumerate(values):
        earlier = first.setdefault(value.lower(), position)
        if earlier != position:
            yield position, earlier, value


def _unique_ids(directory: Directory) -> Iterator[Problem]:
    lists: dict[str, Sequence[str]] = {
        "categories": [c.id for c in directory.categories],
        "sla_plans": [p.id for p in directory.sla_plans],
        "departments": [d.id for d in directory.departments],
        "agents": [a.id for a in directory.agents],
        "help_topics": [t.id for t in directory.help_topics],
    }
    for name, ids in lists.items():
        for position, first, value in _repeats(ids):
            yield Problem(
                (name, position, "id"),
                "duplicate_id",
                f"id {value!r} is already used by {name}[{first}]",
                value,
            )


def _unique_priorities(priorities: Sequence[str]) -> Iterator[Problem]:
    for position, first, value in _repeats(priorities):
        yield Problem(
            ("priorities", position),
            "duplicate_priority",
            f"priority {value!r} is already listed at priorities[{first}]",
            value,
        )


def _sla_plans(directory: Directory) -> Iterator[Problem]:
    for position, plan in enumerate(directory.sla_plans):
        loc = ("sla_plans", position, "targets")
        for priority in directory.priorities:
            if priority not in plan.targets:
                yield Problem(
                    loc,
                    "missing_sla_target",
                    f"SLA plan {plan.id!r} has no targets for priority {priority!r} "
                    "(every priority in `priorities` needs them)",
                    sorted(plan.targets),
                )
        for priority in plan.targets:
            if priority not in directory.priorities:
                yield Problem(
                    (*loc, priority),
                    "unknown_priority",
                    f"priority {priority!r} is not in `priorities` "
                    f"({', '.join(directory.priorities)})",
                    priority,
                )


def _departments(directory: Directory) -> Iterator[Problem]:
    plans = directory.sla_plan_ids()
    agents = {agent.id: agent for agent in directory.agents}
    for position, department in enumerate(directory.departments):
        loc = ("departments", position)
        if department.sla_plan not in plans:
            yield Problem(
                (*loc, "sla_plan"),
                "unknown_sla_plan",
                f"no SLA plan {department.sla_plan!r}; {_known('SLA plans', plans)}",
                department.sla_plan,
            )
        if department.assignment != "none" and not department.members:
            yield Problem(
                (*loc, "members"),
                "no_members",
                f"department {department.id!r} assigns by {department.assignment} "
                "but has no members (use assignment: none, or add members)",
                [],
            )
        for index, first, member in _repeats(department.members):
            yield Problem(
                (*loc, "members", index),
                "duplicate_member",
                f"agent {member!r} is already listed at members[{first}]",
                member,
            )
        for index, member in enumerate(department.members):
            agent = agents.get(member)
            if agent is None:
                yield Problem(
                    (*loc, "members", index),
                    "unknown_agent",
                    f"no agent {member!r}; {_known('agents', agents)}",
                    member,
                )
            elif department.id not in agent.departments:
                where = f"agents[{directory.agents.index(agent)}].departments"
                yield Problem(
                    (*loc, "members", index),
                    "member_not_in_department",
                    f"agent {member!r} is a member of department {department.id!r} "
                    f"but {where} does not list it",
                    member,
                )


def _agents(directory: Directory) -> Iterator[Problem]:
    departments = directory.department_ids()
    for position, agent in enumerate(directory.agents):
        loc = ("agents", position)
        for index, first, department in _repeats(agent.departments):
            yield Problem(
                (*loc, "departments", index),
                "duplicate_department",
                f"department {department!r} is already listed at departments[{first}]",
                department,
            )
        for index, department in enumerate(agent.departments):
            if department not in departments:
                yield Problem(
                    (*loc, "departments", index),
                    "unknown_department",
                    f"no department {department!r}; {_known('departments', departments)}",
                    department,
                )
    for position, first, email in _repeats([a.email for a in directory.agents]):
        yield Problem(
            ("agents", position, "email"),
            "duplicate_email",
            f"e-mail {email!r} is already agents[{first}]'s: each agent needs their own",
            email,
        )
    for position, first, digest in _repeats([a.token_sha256 for a in directory.agents]):
        yield Problem(
            ("agents", position, "token_sha256"),
            "duplicate_token",
            f"the same token as agents[{first}]: each agent needs a token of their own",
            digest,
        )


def _help_topics(directory: Directory) -> Iterator[Problem]:
    if not directory.help_topics:
        yield Problem(
            ("help_topics",),
            "no_help_topics",
            "at least one help topic is needed: requesters pick one to open a ticket",
            [],
        )
    departments = directory.department_ids()
    plans = directory.sla_plan_ids()
    categories = directory.category_ids()
    for position, topic in enumerate(directory.help_topics):
        loc = ("help_topics", position)
        if topic.department not in departments:
            yield Problem(
                (*loc, "department"),
                "unknown_department",
                f"no department {topic.department!r}; {_known('departments', departments)}",
                topic.department,
            )
        if topic.sla_plan is not None and topic.sla_plan not in plans:
            yield Problem(
                (*loc, "sla_plan"),
                "unknown_sla_plan",
                f"no SLA plan {topic.sla_plan!r}; {_known('SLA plans', plans)}",
                topic.sla_plan,
            )
        if topic.category is not None and topic.category not in categories:
            yield Problem(
                (*loc, "category"),
                "unknown_category",
                f"no category {topic.category!r}; {_known('categories', categories)}",
                topic.category,
            )
        if topic.priority not in directory.priorities:
            yield Problem(
                (*loc, "priority"),
                "unknown_priority",
                f"priority {topic.priority!r} is not in `priorities` "
                f"({', '.join(directory.priorities)})",
                topic.priority,
            )
