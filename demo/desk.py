"""A running Ticketstream as its users reach it: public HTTP and the mail folder, nothing else.

Requesters use intake's portal, its inbound e-mail endpoint and their ticket's secret;
agents use their bearer tokens on intake's commands and projections' queries; e-mails are
the ``.eml`` files an SMTP sink wrote (``make run``'s ``.run/mail``, or the tests' server).
"""

from __future__ import annotations

import email
import email.policy
import html
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

T = TypeVar("T")

WAIT_SECONDS = 60.0
"""How long a step may take to happen (services on a busy two-core machine are slow)."""


class ScenarioError(Exception):
    """Something did not happen as expected; the message says what."""


class NotYetError(Exception):
    """Not there yet (raised by :func:`until`'s check); the message says what is missing."""


def until(what: str, check: Callable[[], T], within: float = WAIT_SECONDS) -> T:
    """``check()``'s answer once it stops raising :class:`NotYetError`; :class:`ScenarioError`
    naming ``what`` and the last thing missing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            return check()
        except NotYetError as missing:
            if time.monotonic() > deadline:
                raise ScenarioError(f"{what}: after {within:.0f}s still {missing}") from None
        time.sleep(0.2)


@dataclass(frozen=True, slots=True)
class Opened:
    """A ticket the portal opened: its number and the requester's link with its secret."""

    ticket_id: str
    link: str

    @property
    def secret(self) -> str:
        return parse_qs(urlsplit(self.link).query)["secret"][0]


_OPENED_NUMBER = re.compile(r"Your ticket number is <strong>([0-9A-Z]+)</strong>")
_OPENED_LINK = re.compile(r'<p class="link"><a href="([^"]+)"')


class Mailbox:
    """The ``.eml`` files an SMTP sink wrote into ``folder``, one per message and recipient."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._message_ids: dict[Path, str] = {}

    def files(self, message_id: str) -> list[Path]:
        """The files of the message with this Message-ID (several if it was sent again)."""
        for path in sorted(self.folder.glob("*.eml")):
            if path not in self._message_ids:
                with path.open("rb") as f:
                    headers = BytesHeaderParser(policy=email.policy.default).parse(f)
                self._message_ids[path] = str(headers.get("Message-ID", "")).strip()
        return [path for path, mid in self._message_ids.items() if mid == message_id]

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, in arrival order, parsed."""
        return [read_message(path) for path in sorted(self.folder.glob("*.eml"))]


def read_message(path: Path) -> EmailMessage:
    """An ``.eml`` file as an :class:`EmailMessage` (the modern API: headers as objects)."""
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


class Desk:
    """The public HTTP interfaces of intake and projections, and the mail folder."""

    def __init__(
        self,
        intake: str,
        projections: str,
        mail_folder: Path,
        agent_tokens: Mapping[str, str],
    ) -> None:
        if not agent_tokens:
            raise ScenarioError(
                "no agent tokens: the demo acts as the development directory's agents "
                "(ts-dev-alex ...), so run it without TICKETSTREAM_DIRECTORY"
            )
        self.intake = intake.rstrip("/")
        self.projections = projections.rstrip("/")
        self.mailbox = Mailbox(mail_folder)
        self.agent_tokens = dict(agent_tokens)
        self.http = httpx.Client(timeout=60)

    def close(self) -> None:
        self.http.close()

    # Requesters ---------------------------------------------------------------------------

    def open_from_portal(
        self, fields: Mapping[str, str], attachment: tuple[str, bytes, str]
    ) -> Opened:
        """Submit the portal's "Open a New Ticket" form with a file (multipart, as a browser
        sends it); attachment is ``(file name, content, media type)``."""
        files = [("attachments", attachment)]
        page = checked(
            self.http.post(f"{self.intake}/tickets", data=dict(fields), files=files), 201
        ).text
        number, link = _OPENED_NUMBER.search(page), _OPENED_LINK.search(page)
        if number is None or link is None:
            raise ScenarioError(f"the portal's answer shows no ticket number and link:\n{page}")
        return Opened(number.group(1), html.unescape(link.group(1)))

    def open_ticket(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Open a ticket through the JSON API (``POST /api/v1/tickets``)."""
        return _json(checked(self.http.post(f"{self.intake}/api/v1/tickets", json=body), 201))

    def send_email(self, raw: bytes) -> dict[str, Any]:
        """Hand a raw e-mail to intake as an MTA would (``POST /api/v1/inbound/email``)."""
        response = self.http.post(
            f"{self.intake}/api/v1/inbound/email",
            content=raw,
            headers={"Content-Type": "message/rfc822"},
        )
        return _json(checked(response, 202))

    def command(
        self,
        ticket_id: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        agent: str | None = None,
        secret: str | None = None,
    ) -> httpx.Response:
        """``POST /api/v1/tickets/{id}/{path}`` as ``agent`` or as the requester (``secret``);
        the answer as it came (the caller decides which statuses are fine)."""
        headers = self._agent(agent) if agent else {"X-Ticket-Secret": secret or ""}
        return self.http.post(
            f"{self.intake}/api/v1/tickets/{ticket_id}/{path}", json=body, headers=headers
        )

    # Agents' queries ----------------------------------------------------------------------

    def query(self, path: str, **params: Any) -> dict[str, Any]:
        """``GET /api/v1/{path}`` on projections, as any agent."""
        response = self.http.get(
            f"{self.projections}/api/v1/{path}",
            params={k: v for k, v in params.items() if v is not None},
            headers=self._agent(next(iter(self.agent_tokens))),
        )
        return _json(checked(response, 200))

    def events(self, ticket_id: str) -> list[dict[str, Any]]:
        """The ticket's audit trail: every CloudEvent, with its stream position."""
        events: list[dict[str, Any]] = self.query(f"tickets/{ticket_id}/events")["events"]
        return events

    def _agent(self, agent: str) -> dict[str, str]:
        token = self.agent_tokens.get(agent)
        if token is None:
            raise ScenarioError(f"no token for agent {agent!r}; known: {sorted(self.agent_tokens)}")
        return {"Authorization": f"Bearer {token}"}


def kind(event: Mapping[str, Any]) -> str:
    """The kind of a CloudEvent: ``created`` for ``io.ticketstream.ticket.created.v1``."""
    return kind_of(str(event["type"]))


def kind_of(event_type: str) -> str:
    return event_type.split(".")[-2]


def checked(response: httpx.Response, status: int) -> httpx.Response:
    """``response`` if it has ``status``; else :class:`ScenarioError` with what came back."""
    if response.status_code != status:
        request = response.request
        raise ScenarioError(
            f"{request.method} {request.url} answered {response.status_code} "
            f"(expected {status}): {response.text[:2000]}"
        )
    return response


def _json(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body
