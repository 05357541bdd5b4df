"""Each cross-reference rule rejects a broken variant of the default directory, naming the key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ticketstream.directory import (
    DirectoryError,
    directory_from_env,
    validate_directory,
)

pytestmark = pytest.mark.unit

Data = dict[str, Any]


@pytest.fixture(scope="module")
def default_data() -> Data:
    return directory_from_env({}).model_dump(mode="json")


def topic(data: Data, topic_id: str) -> Data:
    return next(t for t in data["help_topics"] if t["id"] == topic_id)


def department(data: Data, department_id: str) -> Data:
    return next(d for d in data["departments"] if d["id"] == department_id)


def agent(data: Data, agent_id: str) -> Data:
    return next(a for a in data["agents"] if a["id"] == agent_id)


def set_(getter: Callable[[Data], Data], key: str, value: object) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        getter(data)[key] = value

    return edit


def drop_target(data: Data) -> None:
    del data["sla_plans"][1]["targets"]["urgent"]


def fewer_priorities(data: Data) -> None:
    data["priorities"] = ["low", "medium", "high"]


def duplicate_department(data: Data) -> None:
    data["departments"].append(copy.deepcopy(department(data, "billing")))


def duplicate_topic(data: Data) -> None:
    data["help_topics"].append(copy.deepcopy(topic(data, "hardware")))


def duplicate_category(data: Data) -> None:
    data["categories"].append({"id": "email", "name": "Mail"})


def duplicate_agent(data: Data) -> None:
    data["agents"].append({**agent(data, "sam"), "email": "sam2@example.com"})


def duplicate_plan(data: Data) -> None:
    data["sla_plans"].append(copy.deepcopy(data["sla_plans"][0]))


def shared_token(data: Data) -> None:
    agent(data, "jordan")["token_sha256"] = agent(data, "alex")["token_sha256"]


def shared_email(data: Data) -> None:
    agent(data, "jordan")["email"] = "ALEX@example.com"


def no_help_topics(data: Data) -> None:
    data["help_topics"] = []


def member_elsewhere(data: Data) -> None:
    department(data, "billing")["members"] = ["jordan", "sam"]


BROKEN = [
    # (what, edit, key path, rule)
    (
        "help topic names an unknown department",
        set_(lambda d: topic(d, "billing"), "department", "finance"),
        "help_topics[3].department",
        "unknown_department",
    ),
    (
        "help topic names an unknown SLA plan",
        set_(lambda d: topic(d, "network"), "sla_plan", "gold"),
        "help_topics[2].sla_plan",
        "unknown_sla_plan",
    ),
    (
        "help topic names an unknown category",
        set_(lambda d: topic(d, "hardware"), "category", "printers"),
        "help_topics[1].category",
        "unknown_category",
    ),
    (
        "department's member does not exist",
        set_(lambda d: department(d, "general"), "members", ["alex", "casey"]),
        "departments[2].members[1]",
        "unknown_agent",
    ),
    (
        "department's member does not list the department",
        member_elsewhere,
        "departments[1].members[1]",
        "member_not_in_department",
    ),
    (
        "department lists a member twice",
        set_(lambda d: department(d, "it-support"), "members", ["alex", "sam", "alex"]),
        "departments[0].members[2]",
        "duplicate_member",
    ),
    (
        "department assigns automatically without members",
        set_(lambda d: department(d, "billing"), "members", []),
        "departments[1].members",
        "no_members",
    ),
    (
        "department names an unknown SLA plan",
        set_(lambda d: department(d, "general"), "sla_plan", "gold"),
        "departments[2].sla_plan",
        "unknown_sla_plan",
    ),
    (
        "agent names an unknown department",
        set_(lambda d: agent(d, "sam"), "departments", ["it-support", "sales"]),
        "agents[1].departments[1]",
        "unknown_department",
    ),
    (
        "agent lists a department twice",
        set_(lambda d: agent(d, "sam"), "departments", ["it-support", "it-support"]),
        "agents[1].departments[1]",
        "duplicate_department",
    ),
    ("two agents share a token", shared_token, "agents[2].token_sha256", "duplicate_token"),
    ("two agents share an e-mail address", shared_email, "agents[2].email", "duplicate_email"),
    (
        "SLA plan lacks targets for a priority",
        drop_target,
        "sla_plans[1].targets",
        "missing_sla_target",
    ),
    (
        "SLA plan has targets for an unconfigured priority",
        fewer_priorities,
        "sla_plans[0].targets.urgent",
        "unknown_priority",
    ),
    (
        "first response later than resolution",
        set_(
            lambda d: d["sla_plans"][0]["targets"],
            "high",
            {"first_response": "2d", "resolution": "4h"},
        ),
        "sla_plans[0].targets.high.first_response",
        "first_response_after_resolution",
    ),
    ("repeated department id", duplicate_department, "departments[3].id", "duplicate_id"),
    ("repeated help topic id", duplicate_topic, "help_topics[5].id", "duplicate_id"),
    ("repeated category id", duplicate_category, "categories[4].id", "duplicate_id"),
    ("repeated agent id", duplicate_agent, "agents[3].id", "duplicate_id"),
    ("repeated SLA plan id", duplicate_plan, "sla_plans[2].id", "duplicate_id"),
    (
        "repeated priority",
        set_(lambda d: d, "priorities", ["low", "high", "low"]),
        "priorities[2]",
        "duplicate_priority",
    ),
    ("no help topics", no_help_topics, "help_topics", "no_help_topics"),
]


@pytest.mark.parametrize(
    ("edit", "path", "rule"),
    [pytest.param(edit, path, rule, id=what) for what, edit, path, rule in BROKEN],
)
def test_a_broken_reference_is_rejected_naming_the_key_and_the_rule(
    default_data: Data, edit: Callable[[Data], None], path: str, rule: str
) -> None:
    data = copy.deepcopy(default_data)
    edit(data)

    with pytest.raises(DirectoryError) as rejected:
        validate_directory(data, "directory.yaml")

    expected = f"directory.yaml: {path}: "
    lines = [line for line in rejected.value.problems if line.startswith(expected)]
    assert lines, rejected.value
    assert lines[0].endswith(f"[rule: {rule}]"), lines[0]


def test_an_unconfigured_priority_is_reported_everywhere_it_is_used(default_data: Data) -> None:
    data = copy.deepcopy(default_data)
    data["priorities"] = ["low", "medium", "high"]
    topic(data, "network")["priority"] = "urgent"

    with pytest.raises(DirectoryError) as rejected:
        validate_directory(data, "d.yaml")

    assert rejected.value.problems == (
        "d.yaml: sla_plans[0].targets.urgent: priority 'urgent' is not in `priorities` "
        "(low, medium, high) [rule: unknown_priority]",
        "d.yaml: sla_plans[1].targets.urgent: priority 'urgent' is not in `priorities` "
        "(low, medium, high) [rule: unknown_priority]",
        "d.yaml: help_topics[2].priority: priority 'urgent' is not in `priorities` "
        "(low, medium, high) [rule: unknown_priority]",
    )


def test_every_problem_is_reported_at_once_with_the_known_ids(default_data: Data) -> None:
    data = copy.deepcopy(default_data)
    topic(data, "billing")["department"] = "finance"
    agent(data, "sam")["departments"] = ["it-support", "sales"]

    with pytest.raises(DirectoryError) as rejected:
        validate_directory(data, "d.yaml")

    assert rejected.value.problems == (
        "d.yaml: agents[1].departments[1]: no department 'sales'; known departments: "
        "it-support, billing, general [rule: unknown_department]",
        "d.yaml: help_topics[3].department: no department 'finance'; known departments: "
        "it-support, billing, general [rule: unknown_department]",
    )
    assert str(rejected.value).startswith("invalid directory configuration d.yaml (2 problems):")


def test_a_help_topic_may_name_its_own_sla_plan(default_data: Data) -> None:
    data = copy.deepcopy(default_data)
    topic(data, "network")["sla_plan"] = "priority-support"

    directory = validate_directory(data)

    assert directory.sla_plan_for_topic("network").id == "priority-support"
    assert directory.sla_plan_for_topic("hardware").id == "standard"


def test_an_agent_may_work_a_department_without_being_auto_assigned_there(
    default_data: Data,
) -> None:
    data = copy.deepcopy(default_data)
    agent(data, "jordan")["departments"] = ["billing", "general"]

    directory = validate_directory(data)

    assert [a.id for a in directory.active_members("general")] == ["alex"]


def test_the_email_help_topic_defaults_to_the_first_topic_and_must_exist() -> None:
    from ticketstream.directory import directory_from_env, validate_directory

    directory = directory_from_env({})
    assert directory.email_topic.id == "general-inquiry"
    data = directory.model_dump(mode="json")
    data["email_help_topic"] = None
    assert validate_directory(data).email_topic.id == "email-support"
    data["email_help_topic"] = "plumbing"
    with pytest.raises(Exception, match=r"email_help_topic: no help topic 'plumbing'"):
        validate_directory(data)
