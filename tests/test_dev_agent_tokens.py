"""The agent tokens ``make run`` hands to tools (``services.json``) open the development
directory, each as its own agent."""

from __future__ import annotations

import pytest

from ticketstream.directory import directory_from_env
from ticketstream.embedded.supervisor import DEV_AGENT_TOKENS

pytestmark = pytest.mark.unit


def test_each_development_token_is_its_agents() -> None:
    directory = directory_from_env({})
    assert set(DEV_AGENT_TOKENS) == set(directory.agent_ids())
    for agent_id, token in DEV_AGENT_TOKENS.items():
        agent = directory.agent_by_token(token)
        assert agent is not None
        assert agent.id == agent_id
