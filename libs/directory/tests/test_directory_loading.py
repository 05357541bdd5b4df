"""Reading the file: YAML errors with line and column, field errors with the key path."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from ticketstream.directory import (
    DirectoryError,
    default_directory_path,
    format_location,
    load_directory,
    parse_directory,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def default_text() -> str:
    return default_directory_path().read_text()


def problems(text: str, source: str = "d.yaml") -> tuple[str, ...]:
    with pytest.raises(DirectoryError) as rejected:
        parse_directory(text, source)
    assert rejected.value.source == source
    return rejected.value.problems


def test_a_yaml_syntax_error_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text("organization:\n  name: Example Co\n  support_address: [oops\n")

    with pytest.raises(DirectoryError) as rejected:
        load_directory(path)

    (problem,) = rejected.value.problems
    assert problem.startswith(f"{path}: line 4, column 1: ")
    assert "started at line 3" in problem
    assert problem.endswith("[rule: yaml_syntax]")
    assert str(rejected.value).startswith(f"invalid directory configuration {path} (1 problem):")


def test_a_bad_indentation_names_the_line_and_column() -> None:
    (problem,) = problems("organization:\n  name: x\n support_address: y\n")
    assert problem.startswith("d.yaml: line 3, column 2: ")
    assert problem.endswith("[rule: yaml_syntax]")


def test_a_key_given_twice_is_refused_naming_both_lines(default_text: str) -> None:
    (problem,) = problems(default_text + "\nauto_close_after: 24h\n")
    line = default_text.count("\n") + 2
    first = default_text.splitlines().index("auto_close_after: 72h") + 1
    assert problem.startswith(f"d.yaml: line {line}, column 1: found the key 'auto_close_after'")
    assert f"(first at line {first})" in problem
    assert problem.endswith("[rule: yaml_duplicate_key]")


def test_a_merge_key_is_not_a_duplicate() -> None:
    from ticketstream.directory.strict_yaml import read_yaml

    data = read_yaml("base: &b {a: 1, b: 2}\nother:\n  <<: *b\n  b: 3\n")
    assert data["other"] == {"a": 1, "b": 3}


def test_yaml_1_1_surprises_stay_strings() -> None:
    from ticketstream.directory.strict_yaml import read_yaml

    data = read_yaml("t: 17:00\nno: no\ny: off\nz: 010\ni: 12\nf: 1.5\nb: true\nn: null\n")
    assert data == {
        "t": "17:00",
        "no": "no",
        "y": "off",
        "z": "010",
        "i": 12,
        "f": 1.5,
        "b": True,
        "n": None,
    }


def test_unquoted_business_hours_read_as_times(default_text: str) -> None:
    text = default_text.replace(
        "    # No business_hours: the clock runs around the clock. To count office time only:\n",
        "    business_hours: {timezone: Europe/London, days: [mon, tue], start: 08:30, "
        "end: 17:00}\n",
    )
    plan = parse_directory(text).sla_plan("standard")
    assert plan.business_hours is not None
    assert (plan.business_hours.start, plan.business_hours.end) == (time(8, 30), time(17))
    assert plan.business_hours.zone.key == "Europe/London"
    dumped = plan.model_dump(mode="json")["business_hours"]
    assert (dumped["start"], dumped["end"]) == ("08:30", "17:00")


@pytest.mark.parametrize(
    ("hours", "path", "rule"),
    [
        ("{timezone: Europe/Londn}", "business_hours.timezone", "unknown_time_zone"),
        ("{timezone: UTC, start: '9am'}", "business_hours.start", "clock_time_format"),
        ("{timezone: UTC, start: '25:00'}", "business_hours.start", "clock_time_format"),
        ("{timezone: UTC, end: 1020}", "business_hours.end", "clock_time_format"),
        ("{timezone: UTC, start: '18:00'}", "business_hours.end", "end_before_start"),
        ("{timezone: UTC, days: [mon, mon]}", "business_hours.days[1]", "duplicate_day"),
        ("{timezone: UTC, days: []}", "business_hours.days", "too_short"),
        ("{timezone: UTC, days: [monday]}", "business_hours.days[0]", "literal_error"),
    ],
)
def test_bad_business_hours_name_the_key(
    default_text: str, hours: str, path: str, rule: str
) -> None:
    text = default_text.replace(
        "    # No business_hours: the clock runs around the clock. To count office time only:\n",
        f"    business_hours: {hours}\n",
    )
    problem = problems(text)[0]
    assert problem.startswith(f"d.yaml: sla_plans[0].{path}: ")
    assert problem.endswith(f"[rule: {rule}]")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  support_address: support@example.com\n",
            "",
            "d.yaml: organization.support_address: Field required [rule: missing]",
        ),
        (
            "auto_close_after: 72h",
            "auto_close_after: 72",
            "d.yaml: auto_close_after: expected a duration with a unit such as '30m', '4h', "
            "'2d', '1h30m' or ISO 8601 'PT4H', got 72 [rule: duration_type]",
        ),
        (
            "    assignment: least_open\n",
            "    assignment: random\n",
            "d.yaml: departments[1].assignment: Input should be 'none', 'round_robin' or "
            "'least_open' [rule: literal_error]",
        ),
        (
            "    status: active\n  - id: jordan",
            "    status: sleeping\n  - id: jordan",
            "d.yaml: agents[1].status: Input should be 'active' or 'away' [rule: literal_error]",
        ),
        (
            "    sla_plan: standard\n  - id: billing",
            "    sla_plan: standard\n    escalate: true\n  - id: billing",
            "d.yaml: departments[0].escalate: Extra inputs are not permitted "
            "[rule: extra_forbidden]",
        ),
    ],
)
def test_a_field_error_names_the_key_path_and_the_rule(
    default_text: str, old: str, new: str, expected: str
) -> None:
    assert old in default_text
    assert problems(default_text.replace(old, new, 1)) == (expected,)


ALEX_HASH = "66e4862cac48b6053fc33a9414f09ca784d3ac92f3771b7493bb24a48b9ed4d3"


@pytest.mark.parametrize(
    ("old", "new", "field", "rule"),
    [
        (
            f"token_sha256: {ALEX_HASH}",
            "token_sha256: ts-dev-alex",
            "token_sha256",
            "string_pattern_mismatch",
        ),
        ("- id: alex\n", "- id: Alex Morgan\n", "id", "string_pattern_mismatch"),
        ("email: alex@example.com", "email: alex", "email", "string_pattern_mismatch"),
        ("departments: [it-support, general]", "departments: []", "departments", "too_short"),
    ],
)
def test_agent_fields_are_checked(
    default_text: str, old: str, new: str, field: str, rule: str
) -> None:
    assert default_text.count(old) == 1
    found = problems(default_text.replace(old, new))
    mine = [p for p in found if p.startswith(f"d.yaml: agents[0].{field}: ")]
    assert mine, found
    assert mine[0].endswith(f"[rule: {rule}]")


def test_an_uppercase_token_hash_is_accepted_as_lowercase(default_text: str) -> None:
    directory = parse_directory(default_text.replace(ALEX_HASH, ALEX_HASH.upper()))
    assert directory.agent("alex").token_sha256 == ALEX_HASH


def test_a_trailing_slash_is_dropped_from_the_public_url(default_text: str) -> None:
    text = default_text.replace("http://127.0.0.1:8001", "https://help.example.com/")
    assert parse_directory(text).organization.public_url == "https://help.example.com"
    (problem,) = problems(default_text.replace("http://127.0.0.1:8001", "help.example.com"))
    assert problem.startswith("d.yaml: organization.public_url: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "d.yaml: (top level): the file is empty [rule: empty]"),
        ("# nothing\n", "d.yaml: (top level): the file is empty [rule: empty]"),
        (
            "- a\n- b\n",
            "d.yaml: (top level): expected a mapping of keys (organization, departments, ...), "
            "got list [rule: not_a_mapping]",
        ),
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused(text: str, expected: str) -> None:
    assert problems(text) == (expected,)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"organization: {name: \xe9}\n")
    with pytest.raises(DirectoryError) as rejected:
        load_directory(path)
    (problem,) = rejected.value.problems
    assert problem.startswith(f"{path}: cannot read it: ")
    assert problem.endswith("[rule: unreadable]")


def test_a_missing_file_names_the_path_and_the_variable(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError) as rejected:
        load_directory(tmp_path / "missing.yaml")
    assert rejected.value.problems == (
        f"{tmp_path / 'missing.yaml'}: no such file; set TICKETSTREAM_DIRECTORY to the path of "
        "the directory configuration (when unset, the packaged development default is used) "
        "[rule: file_not_found]",
    )


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        ((), "(top level)"),
        (("auto_close_after",), "auto_close_after"),
        (("help_topics", 0, "department"), "help_topics[0].department"),
        (("sla_plans", 1, "targets", "urgent"), "sla_plans[1].targets.urgent"),
        (("agents", 2, "departments", 0), "agents[2].departments[0]"),
    ],
)
def test_format_location(loc: tuple[str | int, ...], path: str) -> None:
    assert format_location(loc) == path
