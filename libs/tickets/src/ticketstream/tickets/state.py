"""The state of one ticket, as folded from its events.

It holds only what the rules need to decide and what every reader of a ticket asks first.
Time is not part of it: the application puts time in each event's envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from ticketstream.events import (
    AgentId,
    Channel,
    CloseReason,
    DepartmentId,
    Priority,
    Requester,
    SlaTarget,
    TicketId,
)

__all__ = ["TICKET_STATUSES", "TicketState", "TicketStatus"]

TicketStatus: TypeAlias = Literal["open", "pending", "resolved", "closed"]
"""``pending`` waits on the requester; ``resolved`` waits for confirmation or reopening."""

TICKET_STATUSES: tuple[TicketStatus, ...] = ("open", "pending", "resolved", "closed")


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketState:
    """One ticket after ``version`` events.

    - ``department`` is where the ticket is now; ``routed_department`` is the department
      routing last placed it in (cleared by a transfer, so routing may route it again).
    - ``priority`` is the requested priority until the ticket is routed.
    - ``assigned_manually`` is true when an agent (not a strategy) chose the assignee.
    - ``first_responded`` becomes true with the first agent reply or the resolution (a public
      answer too) and stays true.
    - ``resolution`` is set while resolved or closed after a resolution; a reopen clears it.
    """

    ticket_id: TicketId
    version: int
    status: TicketStatus
    channel: Channel
    requester: Requester
    subject: str
    help_topic: str
    department: DepartmentId | None = None
    routed_department: DepartmentId | None = None
    assignee: AgentId | None = None
    assigned_manually: bool = False
    priority: Priority | None = None
    category: str | None = None
    tags: frozenset[str] = frozenset()
    sla_plan: str | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    breached: frozenset[SlaTarget] = frozenset()
    first_responded: bool = False
    resolution: str | None = None
    close_reason: CloseReason | None = None
    reopen_count: int = 0
    feedback_rating: int | None = None
    email_message_ids: frozenset[str] = frozenset()
    """Message-IDs of the e-mails already on the ticket, so a redelivered e-mail adds nothing."""
