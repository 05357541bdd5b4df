"""Interoperability: the official CloudEvents SDK reads what Ticketstream publishes."""

import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from ticketstream.events import EVENT_CLASSES, Envelope, decode, encode, to_dict
from ticketstream.events.examples import EXAMPLES, example_of

pytestmark = pytest.mark.unit

EXTENSIONS = {
    "ticketversion": "ticket_version",
    "correlationid": "correlation_id",
    "causationid": "causation_id",
    "actortype": "actor_type",
    "actorid": "actor_id",
}


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_the_sdk_parses_every_event_type(cls: type) -> None:
    envelope = example_of(cls)
    event = JSONFormat().read(CloudEvent, encode(envelope))
    assert event.get_specversion() == "1.0"
    assert event.get_id() == envelope.id
    assert event.get_type() == envelope.type
    assert event.get_subject() == envelope.subject
    assert event.get_source() == envelope.source
    assert event.get_time() == envelope.time
    assert event.get_datacontenttype() == "application/json"
    for extension, field in EXTENSIONS.items():
        assert event.get_extension(extension) == getattr(envelope, field), extension
    assert event.get_data() == to_dict(envelope)["data"]


def test_the_sdk_sees_the_causation_id_when_it_is_set() -> None:
    caused = next(envelope for envelope in EXAMPLES if envelope.causation_id)
    event = JSONFormat().read(CloudEvent, encode(caused))
    assert event.get_extension("causationid") == caused.causation_id


@pytest.mark.parametrize("envelope", EXAMPLES, ids=lambda envelope: envelope.type)
def test_an_event_written_by_the_sdk_decodes(envelope: Envelope) -> None:
    attributes = to_dict(envelope) | {"time": envelope.time}
    data = attributes.pop("data")
    written = JSONFormat().write(CloudEvent(attributes, data))
    assert decode(written) == envelope
