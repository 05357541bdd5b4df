"""Which ticket an inbound e-mail belongs to, if any (DESIGN.md §3 and §3a).

Three keys, tried in this order; the first that names a ticket wins:

1. **A signed reply address** among the recipients (To, Cc, and the envelope recipients in
   Delivered-To / X-Original-To). notify sets Reply-To to ``support+<ticket>.<sig>@...``;
   the signature means only someone who was sent that address can use it.
2. **In-Reply-To, then References (newest first)** naming a Message-ID that notify signed.
   A mail client copies these from the message being answered, so they survive even when
   the requester replies from a different address or to the plain support address.
3. **The ``[#TICKET]`` tag in the subject**, but only when the sender is that ticket's
   requester (or, if the caller can tell, one of its agents).

Why (3) checks the sender and (1) and (2) do not: the reply address and the Message-ID
carry an HMAC signature, so presenting one proves the sender received Ticketstream's mail
about that ticket. The subject tag proves nothing. Ticket ids are short, printed in every
subject line and visible to anyone a notification was forwarded to; anyone can type
``[#4K7Q2M9X]`` into a subject. Threading on the tag alone would let a stranger append
messages (and attachments) to someone else's ticket, reopen it, or inject text that agents
read as the requester's. So an unknown sender's tagged mail opens a new ticket instead: a
duplicate at worst, which an agent can merge, never a write into a ticket that is not theirs.
(A From header can be forged too; the tag is a convenience for the requester's own mail
client, not an authentication mechanism.)

Everything else opens a new ticket. Whether an *automated* message (auto-reply, bounce) may
do that is the caller's decision: see :attr:`InboundEmail.automated`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from .parsing import InboundEmail

__all__ = ["ThreadMatch", "ThreadReason", "ThreadingKeys", "find_thread"]

ThreadReason = Literal["reply_address", "message_id", "subject_tag", "new"]


class ThreadingKeys(Protocol):
    """Verifies the signed threading keys (``ticketstream.signing.Signer`` provides this).

    Both methods return the ticket id when the value was signed by Ticketstream, and None
    for anything else (unsigned, forged, malformed); neither raises.
    """

    def ticket_from_reply_address(self, address: str) -> str | None: ...

    def ticket_from_message_id(self, message_id: str) -> str | None: ...


@dataclass(frozen=True)
class ThreadMatch:
    """The ticket an e-mail threads onto (None: open a new ticket) and which key said so."""

    ticket_id: str | None
    reason: ThreadReason

    @property
    def is_new(self) -> bool:
        return self.ticket_id is None


NEW_TICKET = ThreadMatch(None, "new")


async def find_thread(
    email: InboundEmail,
    keys: ThreadingKeys,
    ticket_from_subject: Callable[[str], str | None],
    requester_of: Callable[[str], Awaitable[str | None]],
    *,
    is_agent_of: Callable[[str, str], Awaitable[bool]] | None = None,
) -> ThreadMatch:
    """Find the ticket ``email`` replies to, in the order the module documentation gives.

    ``ticket_from_subject`` extracts an (unverified) ticket id from a subject;
    ``requester_of(ticket_id)`` answers the requester's address of an existing ticket (None
    for an unknown ticket); the optional ``is_agent_of(ticket_id, address)`` lets an agent's
    own tagged mail thread too. Only step 3 does any lookup.
    """
    for address in (*email.to, *email.cc, *email.delivered_to):
        ticket_id = keys.ticket_from_reply_address(address)
        if ticket_id:
            return ThreadMatch(ticket_id, "reply_address")

    for message_id in dict.fromkeys((*email.in_reply_to, *reversed(email.references))):
        ticket_id = keys.ticket_from_message_id(message_id)
        if ticket_id:
            return ThreadMatch(ticket_id, "message_id")

    ticket_id = ticket_from_subject(email.subject)
    if ticket_id:
        sender = email.from_address.casefold()
        requester = await requester_of(ticket_id)
        if requester is not None and requester.strip().casefold() == sender:
            return ThreadMatch(ticket_id, "subject_tag")
        if is_agent_of is not None and await is_agent_of(ticket_id, email.from_address):
            return ThreadMatch(ticket_id, "subject_tag")
    return NEW_TICKET
