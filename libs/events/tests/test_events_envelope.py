"""The CloudEvents envelope: every event type round-trips, and decode rejects bad documents."""

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketstream.events import EVENT_CLASSES, Envelope, decode, encode, to_dict
from ticketstream.events.examples import EXAMPLES, example_of

pytestmark = pytest.mark.unit

HOUR = timedelta(hours=1)
ids = st.text(min_size=1, max_size=128)
times = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    ),
)


@st.composite
def envelopes(draw: st.DrawFn) -> Envelope:
    """An example event of any type, with any valid envelope attributes."""
    document = to_dict(draw(st.sampled_from(EXAMPLES)))
    return Envelope.model_validate(
        document
        | {
            "id": draw(ids),
            "source": draw(st.text(min_size=1, max_size=255)),
            "time": draw(times),
            "ticketversion": draw(st.integers(min_value=1, max_value=2**53)),
            "correlationid": draw(ids),
            "causationid": draw(st.none() | ids),
            "actortype": draw(st.sampled_from(["requester", "agent", "system"])),
            "actorid": draw(st.text(min_size=1, max_size=254)),
        }
    )


def document_of(cls: type) -> dict[str, Any]:
    return to_dict(example_of(cls))


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_event_type_round_trips_encode_decode(cls: type) -> None:
    envelope = example_of(cls)
    decoded = decode(encode(envelope))
    assert decoded == envelope
    assert type(decoded.data) is cls


@given(envelopes())
def test_any_envelope_round_trips(envelope: Envelope) -> None:
    assert decode(encode(envelope)) == envelope


def test_encode_writes_the_cloudevents_attributes_and_extensions() -> None:
    envelope = EXAMPLES[1]
    document = json.loads(encode(envelope))
    assert document["specversion"] == "1.0"
    assert document["datacontenttype"] == "application/json"
    assert document["subject"] == envelope.data.ticket_id
    assert document["time"] == "2026-12-04T17:02:00Z"
    assert {"ticketversion", "correlationid", "causationid", "actortype", "actorid"} <= set(
        document
    )


def rejected(document: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):  # pydantic.ValidationError is a ValueError
        decode(json.dumps(document))


@pytest.mark.parametrize("specversion", ["0.3", "1", 1.0, None])
def test_decode_rejects_a_wrong_specversion(specversion: object) -> None:
    rejected(document_of(EVENT_CLASSES[0]) | {"specversion": specversion}, "specversion")


def test_decode_rejects_a_missing_specversion() -> None:
    document = document_of(EVENT_CLASSES[0])
    del document["specversion"]
    rejected(document, "specversion")


def test_decode_rejects_a_type_that_does_not_match_the_data() -> None:
    document = document_of(EVENT_CLASSES[0]) | {"type": "io.ticketstream.ticket.assigned.v1"}
    with pytest.raises(ValueError, match="does not match data"):
        decode(json.dumps(document))


def test_decode_rejects_a_subject_that_is_not_the_data_ticket_id() -> None:
    document = document_of(EVENT_CLASSES[0]) | {"subject": "OTHER123"}
    with pytest.raises(ValueError, match=r"does not match data\.ticket_id"):
        decode(json.dumps(document))


def test_decode_rejects_an_unknown_type() -> None:
    unknown = "io.ticketstream.ticket.teleported.v1"
    document = document_of(EVENT_CLASSES[0]) | {"type": unknown}
    document["data"] = document["data"] | {"type": unknown}
    rejected(document, "does not match any of the expected tags")


@pytest.mark.parametrize("type_", [["io.ticketstream.ticket.created.v1"], 1, None])
def test_decode_rejects_a_type_that_is_not_a_string(type_: object) -> None:
    rejected(document_of(EVENT_CLASSES[0]) | {"type": type_}, "valid string")


@pytest.mark.parametrize("raw", ["[]", '"event"', "1", "null", "true"])
def test_decode_rejects_json_that_is_not_an_object(raw: str) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        decode(raw)


@pytest.mark.parametrize("raw", ["", "{", "not json", b"\xff"])
def test_decode_rejects_malformed_json(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match=r"while parsing|expected"):
        decode(raw)


def test_decode_rejects_an_unknown_attribute() -> None:
    rejected(document_of(EVENT_CLASSES[0]) | {"priority": "high"}, "Extra inputs")


def test_decode_rejects_an_unknown_data_field() -> None:
    document = document_of(EVENT_CLASSES[0])
    document["data"] = document["data"] | {"mood": "grumpy"}
    rejected(document, "Extra inputs")


def test_decode_rejects_data_that_breaks_a_field_rule() -> None:
    document = document_of(EVENT_CLASSES[0])
    document["data"] = document["data"] | {"channel": "carrier-pigeon"}
    rejected(document, "channel")
