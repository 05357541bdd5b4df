"""Ticketstream's pure ticket rules: commands, state, and the decider.

```python
state = fold(stored_events)                 # TicketState | None
new_events = decide(state, command)         # or raises TicketRuleViolation
state = fold(new_events, state)
```

No I/O, no clock, no logging: every service that appends to a ticket shares these rules.
:mod:`ticketstream.tickets.testing` offers ``given(...).when(...).then(...)`` scenarios.
"""

from .commands import (
    COMMAND_CLASSES,
    AddInternalNote,
    AssignTicket,
    Categorize,
    ChangePriority,
    ChangeTags,
    Close,
    Command,
    ConfirmResolution,
    MarkPending,
    OpenTicket,
    RecordAutoReply,
    RecordEmailFailed,
    RecordEmailSent,
    RecordSlaBreach,
    Reopen,
    ReplyAsAgent,
    ReplyAsRequester,
    Resolve,
    RouteTicket,
    SubmitFeedback,
    TicketCommand,
    TransferTicket,
    UnassignTicket,
)
from .decider import REQUESTER_REPLY_REOPEN_REASON, decide, evolve, fold
from .errors import RULES, DomainError, InvalidHistoryError, Rule, TicketRuleViolation
from .permissions import ALLOWED_ACTORS, authorize, is_requester
from .state import TICKET_STATUSES, TicketState, TicketStatus

__all__ = [
    "ALLOWED_ACTORS",
    "COMMAND_CLASSES",
    "REQUESTER_REPLY_REOPEN_REASON",
    "RULES",
    "TICKET_STATUSES",
    "AddInternalNote",
    "AssignTicket",
    "Categorize",
    "ChangePriority",
    "ChangeTags",
    "Close",
    "Command",
    "ConfirmResolution",
    "DomainError",
    "InvalidHistoryError",
    "MarkPending",
    "OpenTicket",
    "RecordAutoReply",
    "RecordEmailFailed",
    "RecordEmailSent",
    "RecordSlaBreach",
    "Reopen",
    "ReplyAsAgent",
    "ReplyAsRequester",
    "Resolve",
    "RouteTicket",
    "Rule",
    "SubmitFeedback",
    "TicketCommand",
    "TicketRuleViolation",
    "TicketState",
    "TicketStatus",
    "TransferTicket",
    "UnassignTicket",
    "authorize",
    "decide",
    "evolve",
    "fold",
    "is_requester",
]
