"""The catalog: every event class is in the union, the class list and the type map."""

import re
import typing

import pytest

from ticketstream.events import EVENT_CLASSES, EVENT_TYPES, AnyTicketEvent, event_type
from ticketstream.events.examples import EXAMPLES

pytestmark = pytest.mark.unit

TYPE_PATTERN = re.compile(r"^io\.ticketstream\.ticket\.[a-z][a-z_]*\.v[1-9][0-9]*$")


def union_members() -> set[type]:
    union, _discriminator = typing.get_args(AnyTicketEvent)
    return set(typing.get_args(union))


def test_every_event_class_is_in_the_union_the_class_list_and_the_type_map() -> None:
    assert union_members() == set(EVENT_CLASSES) == set(EVENT_TYPES.values())


def test_event_types_are_unique() -> None:
    types = [event_type(cls) for cls in EVENT_CLASSES]
    assert len(types) == len(set(types)) == len(EVENT_TYPES)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_event_type_is_named_io_ticketstream_ticket_name_version(cls: type) -> None:
    assert TYPE_PATTERN.match(event_type(cls)), event_type(cls)
    assert EVENT_TYPES[event_type(cls)] is cls


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_event_classes_are_frozen_and_documented(cls: type) -> None:
    assert cls.model_config.get("frozen") is True  # type: ignore[attr-defined]
    assert cls.__doc__


def test_there_is_one_example_per_event_class_in_catalog_order() -> None:
    assert [type(envelope.data) for envelope in EXAMPLES] == list(EVENT_CLASSES)
