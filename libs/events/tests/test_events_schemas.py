"""The committed JSON Schemas and AsyncAPI document are what the models generate."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ticketstream.events import EVENT_CLASSES, TicketEvent, event_type, to_dict
from ticketstream.events.examples import EXAMPLES, example_of
from ticketstream.events.schemas import (
    ASYNCAPI_FILE,
    ENVELOPE_FILE,
    JSON_SCHEMA_DIALECT,
    SCHEMA_BASE_URL,
    asyncapi_document,
    check,
    envelope_schema,
    generate,
    main,
    schema_file,
    write,
)

pytestmark = pytest.mark.unit

COMMITTED = Path(__file__).parents[1] / "schemas"
REGENERATE = "Run `make schemas` to regenerate them from the models"
by_name = pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)


def committed(file_name: str) -> Any:
    return json.loads((COMMITTED / file_name).read_text(encoding="utf-8"))


def test_committed_schemas_equal_what_the_models_generate() -> None:
    drift = check(COMMITTED)
    assert not drift, f"{REGENERATE}; out of date: {drift}"


@by_name
def test_the_committed_event_schema_is_the_pydantic_schema(cls: type[TicketEvent]) -> None:
    schema = committed(schema_file(cls))
    assert schema.pop("$schema") == JSON_SCHEMA_DIALECT
    assert schema.pop("$id") == f"{SCHEMA_BASE_URL}{event_type(cls)}.json"
    required = schema.pop("required")
    expected = cls.model_json_schema()
    expected.pop("required", None)
    assert schema == expected, REGENERATE
    assert schema["title"] == cls.__name__
    assert schema["description"] == cls.model_json_schema()["description"]
    # Fields without defaults, plus the discriminator, which is always on the wire.
    without_default = [name for name, field in cls.model_fields.items() if field.is_required()]
    assert set(required) == {*without_default, "type"}


@by_name
def test_the_example_fits_its_event_schema(cls: type[TicketEvent]) -> None:
    schema = committed(schema_file(cls))
    data = to_dict(example_of(cls))["data"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(data) <= set(schema["properties"])
    assert schema["properties"]["type"]["const"] == data["type"] == event_type(cls)


@pytest.mark.parametrize("envelope", EXAMPLES, ids=lambda envelope: envelope.type)
def test_every_example_fits_the_envelope_schema(envelope: Any) -> None:
    schema = committed(ENVELOPE_FILE)
    document = to_dict(envelope)
    assert set(schema["required"]) <= set(document) <= set(schema["properties"])
    assert schema["properties"]["specversion"]["const"] == document["specversion"]


def test_the_envelope_data_is_one_of_the_event_schemas() -> None:
    data = envelope_schema()["properties"]["data"]
    assert [ref["$ref"] for ref in data["oneOf"]] == [schema_file(c) for c in EVENT_CLASSES]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolve(document: Any, pointer: str) -> Any:
    for token in pointer.removeprefix("#/").split("/"):
        document = document[token.replace("~1", "/").replace("~0", "~")]
    return document


def test_every_ref_resolves_to_a_generated_file_or_a_node_of_its_own_document() -> None:
    files = generate()
    for name, content in files.items():
        document = json.loads(content)
        for ref in refs(document):
            if ref.startswith("#/"):
                assert resolve(document, ref) is not None, f"{name}: {ref}"
            else:
                assert ref in files, f"{name}: {ref}"


def test_the_asyncapi_document_describes_the_ticket_channel() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    channel = document["channels"]["tickets"]
    assert channel["address"] == "tickets.{ticketId}"
    assert set(channel["parameters"]) == {"ticketId"}
    operation = document["operations"]["receiveTicketEvents"]
    assert operation["action"] == "receive"
    assert operation["channel"] == {"$ref": "#/channels/tickets"}
    assert len(operation["messages"]) == len(EVENT_CLASSES)


@by_name
def test_the_asyncapi_document_has_one_message_per_event_type(cls: type[TicketEvent]) -> None:
    message = asyncapi_document()["components"]["messages"][cls.__name__]
    assert message["name"] == cls.__name__
    assert message["contentType"] == "application/cloudevents+json"
    headers = message["headers"]
    assert set(headers["properties"]) == {"Ts-Event-Type", "Ts-Ticket-Version", "Nats-Msg-Id"}
    assert headers["properties"]["Ts-Event-Type"]["const"] == event_type(cls)
    envelope, narrowed = message["payload"]["allOf"]
    assert envelope == {"$ref": ENVELOPE_FILE}
    assert narrowed["properties"]["data"] == {"$ref": schema_file(cls)}


def test_the_asyncapi_document_tells_another_system_how_to_consume() -> None:
    description = asyncapi_document()["info"]["description"]
    for needle in [
        "durable consumer of your own",
        "`TICKETS`",
        "`tickets.>`",
        "`all`",
        "by_start_sequence",
        "by_start_time",
        "`Ts-Event-Type`",
        "without decoding",
        "explicit",
    ]:
        assert needle in description, needle


def test_rendering_is_deterministic_sorted_and_newline_terminated() -> None:
    files = generate()
    assert files == generate()
    for content in files.values():
        assert content.endswith("}\n")
        assert content == json.dumps(json.loads(content), indent=2, sort_keys=True) + "\n"


def test_write_then_check_finds_no_drift(tmp_path: Path) -> None:
    write(tmp_path)
    assert check(tmp_path) == []
    assert {path.name for path in tmp_path.iterdir()} == set(generate())


def test_check_names_missing_differing_and_extra_files(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / ENVELOPE_FILE).unlink()
    (tmp_path / ASYNCAPI_FILE).write_text("{}\n")
    (tmp_path / "io.ticketstream.ticket.gone.v1.json").write_text("{}\n")
    assert check(tmp_path) == [
        f"{ASYNCAPI_FILE}: differs",
        f"{ENVELOPE_FILE}: missing",
        "io.ticketstream.ticket.gone.v1.json: extra",
    ]
    write(tmp_path)
    assert check(tmp_path) == []


def test_the_cli_check_fails_on_drift_and_says_how_to_regenerate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path)]) == 1
    assert "make schemas" in capsys.readouterr().err
    assert main(["write", str(tmp_path)]) == 0
    assert main(["check", str(tmp_path)]) == 0


def test_the_module_runs_as_a_command() -> None:
    command = [sys.executable, "-m", "ticketstream.events.schemas", "check", str(COMMITTED)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
