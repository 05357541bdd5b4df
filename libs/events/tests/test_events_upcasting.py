"""Upcasters turn stored documents of an old type into the current one, on decode."""

import json
from typing import Any

import pytest

from ticketstream.events import UPCASTERS, TicketCreated, decode, to_dict
from ticketstream.events.examples import example_of

pytestmark = pytest.mark.unit

V0 = "io.ticketstream.ticket.created.v0"
V1 = "io.ticketstream.ticket.created.v1"
OPENED = "io.ticketstream.ticket.opened.v1"


def retyped(raw: dict[str, Any], new_type: str, **data: Any) -> dict[str, Any]:
    return raw | {"type": new_type, "data": raw["data"] | data | {"type": new_type}}


def created_v0_to_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """v0 called the subject ``title`` and had no help topic."""
    data = dict(raw["data"])
    title = data.pop("title")
    return retyped(raw | {"data": data}, V1, subject=title, help_topic="general")


def opened_to_created_v0(raw: dict[str, Any]) -> dict[str, Any]:
    return retyped(raw, V0)


def created_v0_document() -> str:
    raw = to_dict(example_of(TicketCreated))
    data = {k: v for k, v in raw["data"].items() if k not in {"subject", "help_topic"}}
    return json.dumps(retyped(raw | {"data": data}, V0, title="Printer offline"))


def test_an_old_document_decodes_as_the_current_type() -> None:
    envelope = decode(created_v0_document(), {V0: created_v0_to_v1})
    assert isinstance(envelope.data, TicketCreated)
    assert envelope.type == V1
    assert envelope.data.subject == "Printer offline"
    assert envelope.data.help_topic == "general"


def test_upcasters_chain() -> None:
    opened = json.loads(created_v0_document())
    opened = retyped(opened, OPENED)
    upcasters = {OPENED: opened_to_created_v0, V0: created_v0_to_v1}
    assert isinstance(decode(json.dumps(opened), upcasters).data, TicketCreated)


def test_the_local_mapping_leaves_the_global_registry_alone() -> None:
    decode(created_v0_document(), {V0: created_v0_to_v1})
    assert V0 not in UPCASTERS
    with pytest.raises(ValueError, match="does not match any of the expected tags"):
        decode(created_v0_document())


def test_an_upcaster_that_does_not_change_the_type_raises() -> None:
    with pytest.raises(ValueError, match="did not change the event type"):
        decode(created_v0_document(), {V0: lambda raw: raw})


def test_an_upcaster_cycle_raises() -> None:
    upcasters = {V0: lambda raw: retyped(raw, OPENED), OPENED: opened_to_created_v0}
    with pytest.raises(ValueError, match="chain longer than"):
        decode(created_v0_document(), upcasters)


def test_a_current_document_passes_through_upcasters_unchanged() -> None:
    envelope = example_of(TicketCreated)
    raw = json.dumps(to_dict(envelope))
    assert decode(raw, {V0: created_v0_to_v1}) == envelope
