"""The requester's links: the ticket page of the portal, opened by the ticket's secret.

Every link carries the per-ticket requester secret (:meth:`Signer.requester_secret`), so
only requester e-mails may contain them; agents' alerts never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from ticketstream.signing import Signer

__all__ = ["RATINGS", "RequesterLinks", "requester_links"]

RATINGS: tuple[int, ...] = (1, 2, 3, 4, 5)
"""The satisfaction survey's ratings, worst to best (``FeedbackSubmitted.rating``)."""


@dataclass(frozen=True, slots=True)
class RequesterLinks:
    """``ticket``: the portal page (thread, reply form, confirm / reopen forms when resolved);
    ``survey``: one ``(rating, url)`` per rating, each opening the survey with it chosen."""

    ticket: str
    confirm: str
    reopen: str
    survey: tuple[tuple[int, str], ...]


def requester_links(public_url: str, ticket_id: str, signer: Signer) -> RequesterLinks:
    """The links of ``ticket_id``'s requester e-mails, under the portal's ``public_url``."""
    base = f"{public_url.rstrip('/')}/tickets/{quote(ticket_id, safe='')}"
    secret = signer.requester_secret(ticket_id)
    page = f"{base}?{urlencode({'secret': secret})}"
    return RequesterLinks(
        ticket=page,
        # The confirm and reopen forms are on the ticket page while it is resolved.
        confirm=f"{page}#resolved-heading",
        reopen=f"{page}#resolved-heading",
        survey=tuple(
            (rating, f"{base}/feedback?{urlencode({'secret': secret, 'rating': rating})}")
            for rating in RATINGS
        ),
    )
