"""What notify refuses to send: addresses on the deny list, and mail loops.

A requester address that gets more than ``max_per_hour`` e-mails in an hour is most likely
an autoresponder talking to us (or a flood); further e-mails to it are held back and
recorded as not sent. The count is kept per process: with N replicas the effective limit is
at most N times higher, which still stops a loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from ticketstream.eventstore import Clock

WINDOW = timedelta(hours=1)


class SendPolicy:
    """Decides whether an e-mail to an address may go out now."""

    def __init__(self, deny: Iterable[str], max_per_hour: int, clock: Clock) -> None:
        self._deny = tuple(pattern.strip().lower() for pattern in deny if pattern.strip())
        self._max = max_per_hour
        self._clock = clock
        self._sent: dict[str, deque[datetime]] = {}

    def refusal(self, recipient: str, role: str) -> str | None:
        """Why an e-mail to ``recipient`` must not be sent, or None when it may."""
        address = recipient.lower()
        if any(fnmatchcase(address, pattern) for pattern in self._deny):
            return "the address is on the deny list (TICKETSTREAM_NOTIFY_DENY)"
        if role == "requester" and len(self._recent(address)) >= self._max:
            return (
                f"more than {self._max} e-mails to this address in an hour: a mail loop? "
                "(TICKETSTREAM_NOTIFY_MAX_PER_HOUR)"
            )
        return None

    def sent(self, recipient: str) -> None:
        """Count an e-mail that went out."""
        self._recent(recipient.lower()).append(self._clock())

    def _recent(self, address: str) -> deque[datetime]:
        times = self._sent.setdefault(address, deque())
        since = self._clock() - WINDOW
        while times and times[0] < since:
            times.popleft()
        return times
