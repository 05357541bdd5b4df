"""JSON Schemas and the AsyncAPI document of the ticket event stream, generated from the models.

The generated files are committed under ``libs/events/schemas/`` and a test fails when they
and the models disagree. Regenerate them with ``make schemas``, i.e.::

    python -m ticketstream.events.schemas write libs/events/schemas

and verify them with ``python -m ticketstream.events.schemas check libs/events/schemas``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .catalog import EVENT_CLASSES, TicketEvent, event_type
from .envelope import Envelope, to_dict
from .examples import example_of
from .subjects import (
    ALL_TICKETS,
    CONTENT_TYPE,
    HEADER_EVENT_TYPE,
    HEADER_TICKET_VERSION,
    STREAM_NAME,
    SUBJECT_PREFIX,
)

__all__ = [
    "ASYNCAPI_FILE",
    "ENVELOPE_FILE",
    "JSON_SCHEMA_DIALECT",
    "SCHEMA_BASE_URL",
    "asyncapi_document",
    "check",
    "envelope_schema",
    "event_schema",
    "generate",
    "main",
    "render",
    "schema_file",
    "write",
]

JsonObject = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URL = "https://ticketstream.io/schemas/"
ENVELOPE_FILE = "envelope.json"
ASYNCAPI_FILE = "asyncapi.json"
REGENERATE = "make schemas  (python -m ticketstream.events.schemas write libs/events/schemas)"
"""How to bring the committed files back in line with the models."""

_NATS_MSG_ID = "Nats-Msg-Id"
_CHANNEL = "tickets"


def schema_file(event_class: type[TicketEvent]) -> str:
    """The file name of an event type's schema, e.g. ``io.ticketstream.ticket.created.v1.json``."""
    return f"{event_type(event_class)}.json"


def event_schema(event_class: type[TicketEvent]) -> JsonObject:
    """The JSON Schema (draft 2020-12) of one event type's CloudEvents ``data`` payload.

    It is pydantic's validation schema with ``$schema`` and ``$id`` added, and ``type``
    required: the discriminator has a default in Python but is always on the wire, and
    decoding an envelope fails without it.
    """
    schema = event_class.model_json_schema()
    schema["required"] = [
        name
        for name, field in event_class.model_fields.items()
        if name == "type" or field.is_required()
    ]
    return _identified(schema_file(event_class), schema)


def envelope_schema() -> JsonObject:
    """The JSON Schema of the CloudEvents envelope; ``data`` is one of the event schemas.

    Each event schema is referenced by its file name, which resolves (against this
    schema's ``$id``) to the event schema's ``$id``.
    """
    schema = Envelope.model_json_schema()
    schema.pop("$defs", None)
    schema["properties"]["data"] = {
        "description": "The event payload; its `type` equals the envelope's `type`.",
        "oneOf": [{"$ref": schema_file(cls)} for cls in EVENT_CLASSES],
    }
    schema["required"] = ["specversion", *schema["required"]]
    return _identified(ENVELOPE_FILE, schema)


def _identified(file_name: str, schema: JsonObject) -> JsonObject:
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": SCHEMA_BASE_URL + file_name, **schema}


_CONSUMING = f"""\
Every event of a ticket is published on the subject `{SUBJECT_PREFIX}.<ticketId>` of the \
JetStream stream `{STREAM_NAME}`, in the order of its ticket version, as a CloudEvents 1.0 \
JSON document in structured mode (`{CONTENT_TYPE}`).

How another system consumes the stream:

1. Create a durable consumer of your own (a name only your system uses) on stream \
`{STREAM_NAME}` with filter subject `{SUBJECT_PREFIX}.>` (or `{ALL_TICKETS}`: the same \
subjects) and `AckPolicy` explicit, e.g. \
`nats consumer add {STREAM_NAME} my-system --pull --filter '{SUBJECT_PREFIX}.>' \
--deliver all --ack explicit`.
2. Start from any point: DeliverPolicy `all` replays every ticket from the beginning, \
`by_start_sequence` or `by_start_time` start later. The consumer keeps your position; \
if you keep your own checkpoint (the stream sequence), store it in the same transaction \
as what you derive from the event.
3. Read the `{HEADER_EVENT_TYPE}` header first. If you do not handle that type, ack the \
message and move on without decoding the body. New types appear over time: skip them the \
same way, never fail on them.
4. Otherwise decode the body (Python: `ticketstream.events.decode`, which also upcasts \
old types; elsewhere any CloudEvents SDK and the JSON Schema of the type), handle it, \
then ack it explicitly.
5. Delivery is at least once: make handling idempotent by the CloudEvents `id` (also the \
`{_NATS_MSG_ID}` header) or by `subject` + `ticketversion` (also `{HEADER_TICKET_VERSION}`).
"""


def _headers_schema(event_class: type[TicketEvent]) -> JsonObject:
    return {
        "type": "object",
        "properties": {
            HEADER_EVENT_TYPE: {
                "type": "string",
                "const": event_type(event_class),
                "description": "The CloudEvents type: filter on it without decoding the body.",
            },
            HEADER_TICKET_VERSION: {
                "type": "string",
                "pattern": "^[1-9][0-9]*$",
                "description": "The event's version within its ticket (1, 2, 3 ...).",
            },
            _NATS_MSG_ID: {
                "type": "string",
                "description": "The CloudEvents id; JetStream de-duplicates on it.",
            },
        },
        "required": [HEADER_EVENT_TYPE, HEADER_TICKET_VERSION, _NATS_MSG_ID],
    }


def _payload_schema(event_class: type[TicketEvent]) -> JsonObject:
    return {
        "allOf": [
            {"$ref": ENVELOPE_FILE},
            {
                "properties": {
                    "type": {"const": event_type(event_class)},
                    "data": {"$ref": schema_file(event_class)},
                }
            },
        ]
    }


def _example(event_class: type[TicketEvent]) -> JsonObject:
    envelope = example_of(event_class)
    return {
        "name": "example",
        "headers": {
            HEADER_EVENT_TYPE: envelope.type,
            HEADER_TICKET_VERSION: str(envelope.ticket_version),
            _NATS_MSG_ID: envelope.id,
        },
        "payload": to_dict(envelope),
    }


def _message(event_class: type[TicketEvent]) -> JsonObject:
    return {
        "name": event_class.__name__,
        "title": event_class.__name__,
        "summary": event_class.model_json_schema()["description"],
        "contentType": CONTENT_TYPE,
        "headers": _headers_schema(event_class),
        "payload": _payload_schema(event_class),
        "correlationId": {"location": "$message.payload#/correlationid"},
        "examples": [_example(event_class)],
    }


def asyncapi_document() -> JsonObject:
    """The AsyncAPI 3.0 document of the ticket event stream, with how to consume it.

    Message payloads reference ``envelope.json`` and the event schemas by relative file
    name, so the document is read from the directory that holds them.
    """
    names = [cls.__name__ for cls in EVENT_CLASSES]
    return {
        "asyncapi": "3.0.0",
        "id": "urn:io:ticketstream:tickets",
        "info": {
            "title": "Ticketstream ticket events",
            "version": "1.0.0",
            "description": _CONSUMING,
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": {
            _CHANNEL: {
                "address": f"{SUBJECT_PREFIX}.{{ticketId}}",
                "title": "Events of one ticket",
                "description": f"Stream `{STREAM_NAME}`; subscribe to all tickets with "
                f"`{SUBJECT_PREFIX}.>`.",
                "parameters": {"ticketId": {"description": "The ticket number, e.g. 4K7Q2M9X."}},
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
            }
        },
        "operations": {
            "receiveTicketEvents": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{_CHANNEL}"},
                "summary": "Subscribers read every ticket's events with a durable consumer.",
                "messages": [{"$ref": f"#/channels/{_CHANNEL}/messages/{n}"} for n in names],
            }
        },
        "components": {"messages": {cls.__name__: _message(cls) for cls in EVENT_CLASSES}},
    }


def render(document: JsonObject) -> str:
    """A document as deterministic JSON: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """Every schema file's name and rendered content."""
    files = {schema_file(cls): render(event_schema(cls)) for cls in EVENT_CLASSES}
    files[ENVELOPE_FILE] = render(envelope_schema())
    files[ASYNCAPI_FILE] = render(asyncapi_document())
    return files


def write(directory: Path | str) -> list[Path]:
    """Write every schema file into ``directory`` and remove stale ``*.json`` files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = generate()
    for stale in directory.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, content in files.items():
        path = directory / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def check(directory: Path | str) -> list[str]:
    """The schema files in ``directory`` that disagree with the models, as ``"<file>: <why>"``.

    ``why`` is ``missing``, ``differs`` or ``extra`` (a ``*.json`` file nothing generates).
    An empty list means the directory is up to date.
    """
    directory = Path(directory)
    files = generate()
    problems = []
    for name, content in sorted(files.items()):
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{name}: differs")
    problems += [
        f"{path.name}: extra" for path in sorted(directory.glob("*.json")) if path.name not in files
    ]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``write`` or ``check`` the schema files in a directory; 1 when ``check`` finds drift."""
    parser = argparse.ArgumentParser(
        prog="python -m ticketstream.events.schemas",
        description="Generate or verify the committed event schemas and AsyncAPI document.",
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("directory", type=Path, help="e.g. libs/events/schemas")
    args = parser.parse_args(argv)
    if args.command == "write":
        written = write(args.directory)
        print(f"wrote {len(written)} schema files to {args.directory}")
        return 0
    problems = check(args.directory)
    if problems:
        print(
            f"schemas in {args.directory} are out of date with the event models:",
            *(f"  {problem}" for problem in problems),
            f"regenerate them with: {REGENERATE}",
            sep="\n",
            file=sys.stderr,
        )
        return 1
    print(f"schemas in {args.directory} are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
