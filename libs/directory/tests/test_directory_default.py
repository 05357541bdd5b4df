"""The packaged development directory: the seed scenario, and the lookups over it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ticketstream.directory import (
    ENV_VAR,
    Directory,
    DirectoryError,
    UnknownIdError,
    default_directory_path,
    directory_from_env,
    hash_token,
    load_directory,
)

pytestmark = pytest.mark.unit

DEV_TOKENS = {"alex": "ts-dev-alex", "sam": "ts-dev-sam", "jordan": "ts-dev-jordan"}


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory(default_directory_path())


def test_the_default_models_the_seed_scenario(directory: Directory) -> None:
    assert directory.organization.name == "Example Co"
    assert directory.organization.support_address == "support@example.com"
    assert directory.organization.public_url == "http://127.0.0.1:8001"
    assert directory.priorities == ("low", "medium", "high", "urgent")
    assert directory.category_ids() == ("software", "hardware", "network", "email")
    assert directory.category("email").name == "E-mail issues"
    assert directory.department_ids() == ("it-support", "billing", "general")
    assert directory.agent_ids() == ("alex", "sam", "jordan")
    assert directory.sla_plan_ids() == ("standard", "priority-support")
    assert directory.auto_close_after == timedelta(hours=72)

    email_support = directory.help_topic("email-support")
    assert (email_support.name, email_support.department) == ("Email Support", "it-support")
    assert (email_support.priority, email_support.category) == ("medium", "email")
    assert directory.department("it-support").name == "IT Support"


@pytest.mark.parametrize(
    ("topic", "department", "priority", "category", "assignment"),
    [
        ("email-support", "it-support", "medium", "email", "round_robin"),
        ("hardware", "it-support", "medium", "hardware", "round_robin"),
        ("network", "it-support", "high", "network", "round_robin"),
        ("billing", "billing", "low", None, "least_open"),
        ("general-inquiry", "general", "low", None, "none"),
    ],
)
def test_every_help_topic_routes_as_the_seed_expects(
    directory: Directory,
    topic: str,
    department: str,
    priority: str,
    category: str | None,
    assignment: str,
) -> None:
    help_topic = directory.help_topic(topic)
    assert (help_topic.department, help_topic.priority, help_topic.category) == (
        department,
        priority,
        category,
    )
    assert directory.department(department).assignment == assignment
    assert directory.sla_plan_for_topic(topic).id == "standard"
    assert directory.active_members(department)


def test_the_standard_plan_has_the_documented_targets(directory: Directory) -> None:
    standard = directory.sla_plan("standard")
    targets = {p: (t.first_response, t.resolution) for p, t in standard.targets.items()}
    hour, day = timedelta(hours=1), timedelta(days=1)
    assert targets == {
        "urgent": (hour, 8 * hour),
        "high": (4 * hour, 24 * hour),
        "medium": (8 * hour, 3 * day),
        "low": (24 * hour, 5 * day),
    }
    assert standard.pause_while_pending
    assert standard.business_hours is None


def test_the_default_file_documents_the_development_tokens() -> None:
    header = default_directory_path().read_text().split("\n\n", 1)[0]
    assert "DEVELOPMENT ONLY" in header
    for token in DEV_TOKENS.values():
        assert token in header


@pytest.mark.parametrize(("agent_id", "token"), DEV_TOKENS.items())
def test_agent_by_token_finds_the_agent_by_their_token(
    directory: Directory, agent_id: str, token: str
) -> None:
    found = directory.agent_by_token(token)
    assert found is not None
    assert found.id == agent_id
    assert found.token_sha256 == hash_token(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ts-dev-ale",
        "ts-dev-alex ",
        "TS-DEV-ALEX",
        "66e4862cac48b6053fc33a9414f09ca784d3ac92f3771b7493bb24a48b9ed4d3",  # alex's hash
        "ts-dev-élan",
    ],
)
def test_agent_by_token_finds_nobody_by_a_hash_or_a_wrong_token(
    directory: Directory, token: str
) -> None:
    assert directory.agent_by_token(token) is None


def test_hash_token_is_the_hex_sha256() -> None:
    assert hash_token("ts-dev-alex") == (
        "66e4862cac48b6053fc33a9414f09ca784d3ac92f3771b7493bb24a48b9ed4d3"
    )
    with pytest.raises(ValueError, match="empty"):
        hash_token("")


def test_an_away_agent_is_found_by_token_but_not_among_active_members(
    directory: Directory,
) -> None:
    data = directory.model_dump(mode="json")
    data["agents"][1]["status"] = "away"  # sam
    changed = Directory.model_validate(data)

    assert [a.id for a in changed.active_members("it-support")] == ["alex"]
    found = changed.agent_by_token("ts-dev-sam")
    assert found is not None
    assert found.status == "away"
    assert changed.agent("sam").status == "away"


def test_active_members_keep_the_members_order(directory: Directory) -> None:
    assert [a.id for a in directory.active_members("it-support")] == ["alex", "sam"]
    assert [a.id for a in directory.active_members("billing")] == ["jordan"]


@pytest.mark.parametrize(
    ("lookup", "kind"),
    [
        ("help_topic", "help topic"),
        ("department", "department"),
        ("agent", "agent"),
        ("sla_plan", "SLA plan"),
        ("category", "category"),
        ("active_members", "department"),
        ("sla_plan_for_topic", "help topic"),
    ],
)
def test_an_unknown_id_raises_naming_the_kind(directory: Directory, lookup: str, kind: str) -> None:
    with pytest.raises(UnknownIdError, match=f"no {kind} 'nope' in the directory") as missing:
        getattr(directory, lookup)("nope")
    assert isinstance(missing.value, LookupError)
    assert missing.value.id == "nope"


def test_agent_by_email_ignores_case(directory: Directory) -> None:
    found = directory.agent_by_email(" Jordan@Example.com")
    assert found is not None
    assert found.id == "jordan"
    assert directory.agent_by_email("nobody@example.com") is None


def test_a_dumped_directory_loads_back_equal(directory: Directory) -> None:
    assert Directory.model_validate(directory.model_dump(mode="json")) == directory
    assert Directory.model_validate(directory.model_dump()) == directory


def test_the_directory_is_immutable(directory: Directory) -> None:
    with pytest.raises(ValueError, match="frozen"):
        directory.auto_close_after = timedelta(hours=1)  # type: ignore[misc]


def test_directory_from_env_uses_the_packaged_default_when_unset(directory: Directory) -> None:
    assert directory_from_env({}) == directory
    assert directory_from_env({ENV_VAR: "  "}) == directory


def test_directory_from_env_reads_the_named_file(tmp_path: Path) -> None:
    text = default_directory_path().read_text().replace("name: Example Co", "name: Acme")
    (tmp_path / "directory.yaml").write_text(text)

    directory = directory_from_env({ENV_VAR: str(tmp_path / "directory.yaml")})

    assert directory.organization.name == "Acme"


def test_directory_from_env_reports_a_missing_file_and_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(DirectoryError) as rejected:
        directory_from_env({ENV_VAR: str(missing)})
    (problem,) = rejected.value.problems
    assert problem.startswith(f"{missing}: no such file; set TICKETSTREAM_DIRECTORY")
    assert problem.endswith("[rule: file_not_found]")


def test_the_public_url_can_come_from_the_environment(directory: Directory) -> None:
    moved = directory_from_env({"TICKETSTREAM_PUBLIC_URL": "http://127.0.0.1:54593/"})
    assert moved.organization.public_url == "http://127.0.0.1:54593"
    assert moved.help_topics == directory.help_topics


def test_a_broken_public_url_from_the_environment_is_named() -> None:
    with pytest.raises(DirectoryError) as raised:
        directory_from_env({"TICKETSTREAM_PUBLIC_URL": "not a url"})
    assert "TICKETSTREAM_PUBLIC_URL" in str(raised.value)
