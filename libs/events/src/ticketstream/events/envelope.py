"""The CloudEvents 1.0 structured-mode envelope that carries every ticket event on the wire.

```json
{"specversion": "1.0", "id": "...", "source": "ticketstream/intake",
 "type": "io.ticketstream.ticket.created.v1", "subject": "4K7Q2M9X",
 "time": "2026-12-04T17:00:00Z", "datacontenttype": "application/json",
 "ticketversion": 1, "correlationid": "...", "causationid": null,
 "actortype": "requester", "actorid": "ann@example.com", "data": {...}}
```
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .catalog import Actor, ActorKind, AnyTicketEvent, event_type
from .upcasting import UPCASTERS, Upcaster, upcast

_Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Envelope(BaseModel):
    """One ticket event with its CloudEvents attributes and Ticketstream extensions."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    specversion: Literal["1.0"] = "1.0"
    id: _Id
    source: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    subject: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    ticket_version: Annotated[int, Field(ge=1, alias="ticketversion")]
    correlation_id: Annotated[_Id, Field(alias="correlationid")]
    causation_id: Annotated[_Id | None, Field(alias="causationid")] = None
    actor_type: Annotated[ActorKind, Field(alias="actortype")]
    actor_id: Annotated[
        str, StringConstraints(min_length=1, max_length=254), Field(alias="actorid")
    ]
    data: AnyTicketEvent

    @model_validator(mode="after")
    def _consistent(self) -> Envelope:
        if self.type != self.data.type:
            raise ValueError(f"type {self.type!r} does not match data of type {self.data.type!r}")
        if self.subject != self.data.ticket_id:
            raise ValueError(
                f"subject {self.subject!r} does not match data.ticket_id {self.data.ticket_id!r}"
            )
        return self

    @property
    def actor(self) -> Actor:
        return Actor(kind=self.actor_type, id=self.actor_id)

    @property
    def ticket_id(self) -> str:
        return self.subject


class Metadata(BaseModel):
    """What the caller knows about a command and gives to every event it produces."""

    model_config = ConfigDict(frozen=True)

    source: str
    actor: Actor
    correlation_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None


def new_event_id() -> str:
    """A fresh event id; it is also the NATS message id used for de-duplication."""
    return str(uuid.uuid4())


def wrap(
    events: Sequence[AnyTicketEvent],
    *,
    first_version: int,
    meta: Metadata,
    time: datetime,
    ids: list[str] | None = None,
) -> list[Envelope]:
    """Put each event of one command into an envelope, numbering them from ``first_version``."""
    ids = ids or [new_event_id() for _ in events]
    if len(ids) != len(events):
        raise ValueError("one id is needed per event")
    return [
        Envelope.model_validate(
            {
                "id": event_id,
                "source": meta.source,
                "type": event_type(type(event)),
                "subject": event.ticket_id,
                "time": time,
                "ticketversion": first_version + n,
                "correlationid": meta.correlation_id,
                "causationid": meta.causation_id,
                "actortype": meta.actor.kind,
                "actorid": meta.actor.id,
                "data": event,
            }
        )
        for n, (event_id, event) in enumerate(zip(ids, events, strict=True))
    ]


def encode(envelope: Envelope) -> bytes:
    """The structured-mode CloudEvents JSON document of an envelope."""
    return envelope.model_dump_json(by_alias=True).encode()


def to_dict(envelope: Envelope) -> dict[str, Any]:
    """The structured-mode CloudEvents document as a JSON-compatible dict."""
    return envelope.model_dump(mode="json", by_alias=True)


def decode(raw: bytes | str, upcasters: Mapping[str, Upcaster] = UPCASTERS) -> Envelope:
    """Parse a CloudEvents JSON document, upcasting old event types first.

    Raises ``pydantic.ValidationError`` (a ``ValueError``) when the document is not a valid
    ticket event.
    """
    document = pydantic_core.from_json(raw)
    if not isinstance(document, dict):
        raise ValueError("a CloudEvent must be a JSON object")
    # The model defaults specversion for construction in code; on the wire it is required.
    if document.get("specversion") != "1.0":
        raise ValueError(f"specversion must be '1.0', got {document.get('specversion')!r}")
    if upcasters:
        document = upcast(document, upcasters)
    return Envelope.model_validate(document)
