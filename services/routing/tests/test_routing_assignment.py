"""Choosing an agent: round-robin, least open tickets, away agents, the department's strategy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketstream.directory import Directory, UnknownIdError, hash_token
from ticketstream.routing.assignment import (
    choose_least_open,
    choose_round_robin,
    decide_assignment,
    eligible_members,
)

pytestmark = pytest.mark.unit


def make_directory(
    departments: Sequence[tuple[str, str, Sequence[str]]], away: Sequence[str] = ()
) -> Directory:
    """A directory with ``(id, assignment, members)`` departments; agents named by members."""
    agents: dict[str, list[str]] = {}
    for department, _, members in departments:
        for member in members:
            agents.setdefault(member, []).append(department)
    data: dict[str, Any] = {
        "organization": {
            "name": "Example Co",
            "support_address": "support@example.com",
            "public_url": "http://127.0.0.1:8001",
        },
        "sla_plans": [
            {
                "id": "standard",
                "name": "Standard",
                "targets": {
                    p: {"first_response": "1h", "resolution": "8h"}
                    for p in ("low", "medium", "high", "urgent")
                },
            }
        ],
        "departments": [
            {
                "id": d,
                "name": d.title(),
                "assignment": a,
                "members": list(m),
                "sla_plan": "standard",
            }
            for d, a, m in departments
        ],
        "agents": [
            {
                "id": agent,
                "name": agent.title(),
                "email": f"{agent}@example.com",
                "departments": in_departments,
                "token_sha256": hash_token(f"token-{agent}"),
                "status": "away" if agent in away else "active",
            }
            for agent, in_departments in agents.items()
        ],
        "help_topics": [
            {"id": "general", "name": "General", "department": departments[0][0], "priority": "low"}
        ],
    }
    return Directory.model_validate(data)


def simulate_round_robin(
    order: Sequence[str], rounds: int, eligible: Sequence[str] | None = None
) -> Counter[str]:
    counts: Counter[str] = Counter()
    last: str | None = None
    for _ in range(rounds):
        last = choose_round_robin(order, last, eligible=eligible)
        assert last is not None
        counts[last] += 1
    return counts


# ------------------------------------------------------------------------------ round-robin


def test_round_robin_takes_turns_and_wraps() -> None:
    order = ["alex", "sam", "kim"]
    assert choose_round_robin(order, None) == "alex"
    assert choose_round_robin(order, "alex") == "sam"
    assert choose_round_robin(order, "sam") == "kim"
    assert choose_round_robin(order, "kim") == "alex"


def test_round_robin_starts_over_when_the_last_agent_left_the_list() -> None:
    assert choose_round_robin(["alex", "sam"], "former-agent") == "alex"


def test_round_robin_with_nobody() -> None:
    assert choose_round_robin([], None) is None
    assert choose_round_robin([], "alex") is None
    assert choose_round_robin(["alex"], "alex", eligible=()) is None


def test_round_robin_skips_ineligible_agents_but_keeps_the_turn_order() -> None:
    order = ["alex", "sam", "kim", "lee"]
    eligible = {"alex", "kim", "lee"}  # sam is away
    assert choose_round_robin(order, "alex", eligible=eligible) == "kim"
    # sam was assigned last, then went away: the turn passes to the one after sam.
    assert choose_round_robin(order, "sam", eligible=eligible) == "kim"
    assert choose_round_robin(order, "lee", eligible=eligible) == "alex"


def test_a_single_agent_gets_every_ticket() -> None:
    assert choose_round_robin(["alex"], "alex") == "alex"


@settings(max_examples=50, deadline=None)
@given(agents=st.integers(min_value=1, max_value=12), rounds=st.integers(1, 1_000))
def test_round_robin_shares_are_within_one_of_the_mean(agents: int, rounds: int) -> None:
    order = [f"agent-{i}" for i in range(agents)]
    counts = simulate_round_robin(order, rounds)
    mean = rounds / agents
    assert all(abs(counts[agent] - mean) <= 1 for agent in order)


@pytest.mark.parametrize("agents", [2, 3, 5, 7])
def test_round_robin_fairness_over_1000_tickets(agents: int) -> None:
    order = [f"agent-{i}" for i in range(agents)]
    counts = simulate_round_robin(order, 1_000)
    assert sum(counts.values()) == 1_000
    assert max(counts.values()) - min(counts.values()) <= 1
    assert all(abs(counts[agent] - 1_000 / agents) <= 1 for agent in order)


def test_round_robin_fairness_over_1000_tickets_skipping_away_agents() -> None:
    directory = make_directory(
        [("desk", "round_robin", ["alex", "sam", "kim", "lee", "max"])], away=["sam", "lee"]
    )
    counts: Counter[str] = Counter()
    last: str | None = None
    for _ in range(1_000):
        last = decide_assignment(directory, "desk", last_assigned=last, open_counts={})
        assert last is not None
        counts[last] += 1
    assert set(counts) == {"alex", "kim", "max"}
    assert all(abs(count - 1_000 / 3) <= 1 for count in counts.values())


# ------------------------------------------------------------------------------ least open


def test_least_open_picks_the_fewest_open_tickets() -> None:
    assert choose_least_open(["alex", "sam", "kim"], {"alex": 5, "sam": 1, "kim": 3}) == "sam"


def test_least_open_counts_a_missing_agent_as_zero() -> None:
    assert choose_least_open(["alex", "sam"], {"alex": 2}) == "sam"


def test_least_open_breaks_ties_by_member_order() -> None:
    counts = {"alex": 2, "sam": 1, "kim": 1}
    assert choose_least_open(["alex", "sam", "kim"], counts) == "sam"
    assert choose_least_open(["alex", "kim", "sam"], counts) == "kim"
    assert choose_least_open(["alex", "sam"], {}) == "alex"


def test_least_open_with_nobody() -> None:
    assert choose_least_open([], {"alex": 0}) is None


def test_least_open_evens_out_uneven_load() -> None:
    members = ["alex", "sam", "kim"]
    open_counts = {"alex": 12, "sam": 0, "kim": 5}
    for _ in range(300):
        chosen = choose_least_open(members, open_counts)
        assert chosen is not None
        assert open_counts[chosen] == min(open_counts.values())
        open_counts[chosen] += 1
    # 317 tickets in all: the load ends as even as it can be.
    assert sorted(open_counts.values()) == [105, 106, 106]


# ------------------------------------------------------------------- the department's strategy

DIRECTORY = make_directory(
    [
        ("desk", "round_robin", ["alex", "sam", "kim"]),
        ("billing", "least_open", ["jordan", "sam", "pat"]),
        ("general", "none", ["alex"]),
        ("ghost-town", "round_robin", ["pat"]),
    ],
    away=["sam", "pat"],
)


def test_eligible_members_are_the_active_ones_in_configured_order() -> None:
    assert eligible_members(DIRECTORY, "desk") == ["alex", "kim"]
    assert eligible_members(DIRECTORY, "billing") == ["jordan"]
    assert eligible_members(DIRECTORY, "ghost-town") == []


def test_strategy_none_assigns_nobody() -> None:
    assert decide_assignment(DIRECTORY, "general", last_assigned=None, open_counts={}) is None


def test_round_robin_department_skips_away_agents() -> None:
    assert decide_assignment(DIRECTORY, "desk", last_assigned=None, open_counts={}) == "alex"
    assert decide_assignment(DIRECTORY, "desk", last_assigned="alex", open_counts={}) == "kim"
    assert decide_assignment(DIRECTORY, "desk", last_assigned="kim", open_counts={}) == "alex"


def test_least_open_department_never_picks_an_away_agent() -> None:
    counts = {"jordan": 9, "sam": 0, "pat": 0}
    assert decide_assignment(DIRECTORY, "billing", last_assigned=None, open_counts=counts) == (
        "jordan"
    )


def test_everybody_away_assigns_nobody() -> None:
    assert decide_assignment(DIRECTORY, "ghost-town", last_assigned="pat", open_counts={}) is None


def test_unknown_department() -> None:
    with pytest.raises(UnknownIdError, match="no department 'nowhere'"):
        decide_assignment(DIRECTORY, "nowhere", last_assigned=None, open_counts={})


def test_default_directory_strategies() -> None:
    from ticketstream.directory import directory_from_env

    directory = directory_from_env({})
    assert decide_assignment(directory, "it-support", last_assigned="alex", open_counts={}) == (
        "sam"
    )
    assert decide_assignment(directory, "billing", last_assigned=None, open_counts={}) == "jordan"
    assert decide_assignment(directory, "general", last_assigned=None, open_counts={}) is None
