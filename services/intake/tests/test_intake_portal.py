"""The requester portal on a real NATS server: open a ticket in a browser, follow and answer it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ticketstream.eventstore import JetStreamEventStore
from ticketstream.intake.main import build_app
from ticketstream.intake.settings import IntakeSettings
from ticketstream.signing import Signer

from .conftest import ALEX, SECRET_KEY, TICKET, open_ticket

pytestmark = pytest.mark.integration

FORM: dict[str, str] = {k: TICKET[k] for k in ("name", "email", "help_topic", "subject", "message")}
INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def browser_multipart(
    fields: dict[str, str], files: list[tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    """The body a browser sends for the form; with no file chosen, an empty part with
    ``filename=""`` (which httpx cannot produce)."""
    boundary = "----PortalFormBoundary7MA4YWxkTrZu0gW"
    parts = [
        f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode()
        for name, value in fields.items()
    ]
    for filename, data, content_type in files or [("", b"", "application/octet-stream")]:
        head = (
            f'Content-Disposition: form-data; name="attachments"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data)
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts)
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def submit(
    client: httpx.AsyncClient,
    changes: dict[str, str] | None = None,
    files: list[tuple[str, bytes, str]] | None = None,
) -> httpx.Response:
    """Post the "Open a New Ticket" form as a browser does."""
    body, content_type = browser_multipart({**FORM, **(changes or {})}, files or [])
    return await client.post("/tickets", content=body, headers={"Content-Type": content_type})


def page_of(opened: dict[str, Any]) -> str:
    return f"/tickets/{opened['ticket_id']}?secret={opened['secret']}"


async def page(client: httpx.AsyncClient, opened: dict[str, Any]) -> httpx.Response:
    response = await client.get(page_of(opened))
    assert response.status_code == 200, response.text
    return response


async def act(
    client: httpx.AsyncClient, opened: dict[str, Any], what: str, **fields: str
) -> httpx.Response:
    """Submit one of the ticket page's forms (the secret rides in a hidden field)."""
    return await client.post(
        f"/tickets/{opened['ticket_id']}/{what}", data={"secret": opened["secret"], **fields}
    )


async def agent(
    client: httpx.AsyncClient, opened: dict[str, Any], command: str, body: dict[str, Any]
) -> None:
    url = f"/api/v1/tickets/{opened['ticket_id']}/{command}"
    response = await client.post(url, json=body, headers=ALEX)
    assert response.status_code == 200, response.text


async def resolve(client: httpx.AsyncClient, opened: dict[str, Any]) -> None:
    await agent(client, opened, "status", {"status": "resolved", "resolution": "Unlocked it."})


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found, f"no error next to {field}"
    return found.group(1)


async def history(client: httpx.AsyncClient, ticket_id: str) -> list[str]:
    store = JetStreamEventStore(client.app.state.nc)  # type: ignore[attr-defined]
    stream = await store.load(ticket_id)
    return [e.envelope.type.removeprefix("io.ticketstream.ticket.") for e in stream.events]


async def test_the_form_offers_the_help_topics(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "Open a New Ticket" in html
    assert "Example Co" in html
    for topic in client.app.state.directory.help_topics:  # type: ignore[attr-defined]
        assert f'<option value="{topic.id}">{topic.name}</option>' in html
    assert 'method="post" action="/tickets" enctype="multipart/form-data"' in html
    assert '<input type="file" id="attachments" name="attachments" multiple>' in html
    for field in ("name", "email", "help_topic", "subject", "message", "attachments"):
        assert f'<label for="{field}">' in html


async def test_a_valid_form_shows_the_number_and_a_working_link(
    client: httpx.AsyncClient,
) -> None:
    response = await submit(client)
    assert response.status_code == 201, response.text
    number = re.search(r"Your ticket number is <strong>([0-9A-Z]+)</strong>", response.text)
    assert number
    ticket_id = number.group(1)
    link = re.search(rf'<a href="([^"]+/tickets/{ticket_id}\?secret=[a-z2-7]+)">', response.text)
    assert link
    assert "Bookmark this link" in response.text
    assert await history(client, ticket_id) == ["created.v1"]

    target = urlsplit(link.group(1))
    ticket = await client.get(f"{target.path}?{target.query}")
    assert ticket.status_code == 200
    assert TICKET["subject"] in ticket.text
    assert TICKET["message"] in ticket.text
    assert '<span class="status status-open">Open</span>' in ticket.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Please fill this in."),
        ("email", "dana.example.com", "@-sign"),
        ("email", "", "@-sign"),
        (
            "help_topic",
            "plumbing",
            "unknown help_topic &#39;plumbing&#39;; valid: billing, email-support",
        ),
        ("help_topic", "", "Please choose one of the options."),
        ("subject", "   ", "Please fill this in."),
        ("subject", "s" * 256, "255 characters or fewer"),
        ("message", "", "Please fill this in."),
    ],
)
async def test_an_invalid_field_is_shown_next_to_it_with_the_values_kept(
    client: httpx.AsyncClient, field: str, value: str, message: str
) -> None:
    response = await submit(client, {field: value})
    assert response.status_code == 422
    html = response.text
    assert message in field_error(html, field)
    assert f'aria-describedby="{field}-error"' in html
    assert 'role="alert"' in html
    kept = {k: v for k, v in FORM.items() if k != field}
    for name in ("name", "email", "subject"):
        if name in kept:
            assert f'value="{kept[name]}"' in html
    if "message" in kept:
        assert f">{kept['message']}</textarea>" in html
    if "help_topic" in kept:
        assert f'<option value="{kept["help_topic"]}" selected>' in html


async def test_too_many_attachments_are_shown_next_to_the_field(
    client: httpx.AsyncClient,
) -> None:
    files = [(f"f{n}.txt", f"{n}".encode(), "text/plain") for n in range(11)]
    response = await submit(client, files=files)
    assert response.status_code == 422
    assert "at most 10 attachments" in field_error(response.text, "attachments")
    assert f'value="{FORM["subject"]}"' in response.text


async def test_a_too_large_attachment_is_shown_next_to_the_field(
    client: httpx.AsyncClient,
) -> None:
    files = [("big.bin", b"x" * (10 * 1024 * 1024 + 1), "application/octet-stream")]
    response = await submit(client, files=files)
    assert response.status_code == 413
    assert "big.bin: larger than 10485760 bytes" in field_error(response.text, "attachments")


async def test_a_body_over_the_limit_gets_a_friendly_413(nats_url: str) -> None:
    settings = IntakeSettings(nats_url=nats_url, secret_key=SECRET_KEY, max_body_bytes=4096)
    app = build_app(settings)
    body, content_type = browser_multipart(FORM, [("big.txt", b"x" * 8192, "text/plain")])

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as small:
            response = await small.post(
                "/tickets", content=chunked(), headers={"Content-Type": content_type}
            )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Too large" in response.text
    assert "4096 bytes" in response.text


async def test_a_form_sent_as_another_type_gets_a_friendly_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/tickets", content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert "The form was not sent as expected" in response.text


@pytest.mark.parametrize("field", ["name", "subject", "message"])
async def test_markup_in_the_form_arrives_escaped(client: httpx.AsyncClient, field: str) -> None:
    response = await submit(client, {field: f"Hi {INJECTION}"})
    assert response.status_code == 201
    ticket_id = re.search(r"<strong>([0-9A-Z]{4,32})</strong>", response.text)
    assert ticket_id
    opened = {
        "ticket_id": ticket_id.group(1),
        "secret": Signer.from_secret(SECRET_KEY).requester_secret(ticket_id.group(1)),
    }
    html = (await page(client, opened)).text
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


async def test_markup_in_a_reply_and_in_invalid_input_arrives_escaped(
    client: httpx.AsyncClient,
) -> None:
    opened = await open_ticket(client)
    assert (await act(client, opened, "reply", body=INJECTION)).status_code == 303
    await agent(client, opened, "replies", {"body": f"Agent says {INJECTION}"})
    html = (await page(client, opened)).text
    assert "<script" not in html
    assert html.count("&lt;script&gt;") == 2
    # Values echoed back into a form with errors are escaped as well.
    invalid = await submit(client, {"name": '"><script>x</script>', "email": "nope"})
    assert invalid.status_code == 422
    assert "<script" not in invalid.text
    assert "&#34;&gt;&lt;script&gt;" in invalid.text


async def test_internal_notes_never_reach_the_requester(client: httpx.AsyncClient) -> None:
    opened = await open_ticket(client)
    await agent(client, opened, "notes", {"body": "Internal: account locked by fraud rule"})
    await agent(client, opened, "replies", {"body": "We are unlocking your account."})
    await agent(client, opened, "assignment", {"agent_id": "alex"})
    await agent(client, opened, "tags", {"add": ["vip-hidden-tag"]})
    html = (await page(client, opened)).text
    assert "We are unlocking your account." in html
    assert "<strong>Support</strong>" in html
    assert "fraud rule" not in html
    assert "vip-hidden-tag" not in html
    assert "alex" not in html.lower()


async def test_the_whole_lifecycle_through_the_portal(client: httpx.AsyncClient) -> None:
    opened = await open_ticket(client)
    replied = await act(client, opened, "reply", body="It happens on my phone too.")
    assert replied.status_code == 303
    assert replied.headers["location"] == f"{page_of(opened)}&done=reply"
    after_reply = await client.get(replied.headers["location"])
    assert "Your reply was added to the ticket." in after_reply.text
    assert "It happens on my phone too." in after_reply.text

    await agent(client, opened, "status", {"status": "pending", "reason": "Which phone?"})
    pending = (await page(client, opened)).text
    assert "Waiting for your reply" in pending
    assert "Which phone?" in pending

    await resolve(client, opened)
    resolved = (await page(client, opened)).text
    assert "Resolved — please confirm" in resolved
    assert "Unlocked it." in resolved
    assert "Yes, it's solved" in resolved
    assert "No, reopen" in resolved

    reopened = await act(client, opened, "reopen", reason="Still locked out.")
    assert reopened.status_code == 303
    assert reopened.headers["location"].endswith("&done=reopen")
    again = (await client.get(reopened.headers["location"])).text
    assert '<span class="status status-open">Open</span>' in again
    assert "Still locked out." in again

    await resolve(client, opened)
    confirmed = await act(client, opened, "confirm")
    assert confirmed.status_code == 303
    closed = (await client.get(confirmed.headers["location"])).text
    assert '<span class="status status-closed">Closed</span>' in closed
    assert "you confirmed the resolution" in closed
    assert 'action="/tickets/' + opened["ticket_id"] + '/reply"' not in closed
    assert "How did we do?" in closed

    rated = await act(client, opened, "feedback", rating="4", comment="Quick, thanks!")
    assert rated.status_code == 303
    thanked = (await client.get(rated.headers["location"])).text
    assert "Thank you for your feedback!" in thanked
    assert "You rated the support 4 out of 5" in thanked
    assert "How did we do?" not in thanked

    twice = await act(client, opened, "feedback", rating="1")
    assert twice.status_code == 409
    assert "was already given; it is asked only once" in twice.text
    assert (await history(client, opened["ticket_id"]))[-3:] == [
        "resolution_confirmed.v1",
        "closed.v1",
        "feedback_submitted.v1",
    ]


async def test_a_rule_rejection_shows_the_page_with_its_message(
    client: httpx.AsyncClient,
) -> None:
    opened = await open_ticket(client)
    response = await act(client, opened, "confirm")
    assert response.status_code == 409
    assert 'role="alert"' in response.text
    assert "cannot confirm the resolution of ticket" in response.text
    assert TICKET["subject"] in response.text
    assert await history(client, opened["ticket_id"]) == ["created.v1"]


@pytest.mark.parametrize(
    ("what", "fields", "field", "message"),
    [
        ("reply", {"body": "   "}, "body", "Please fill this in."),
        ("reply", {}, "body", "Please fill this in."),
        ("feedback", {"rating": "9"}, "rating", "from 1 to 5"),
        ("feedback", {"rating": "great"}, "rating", "from 1 to 5"),
        ("feedback", {}, "rating", "Please fill this in."),
    ],
)
async def test_an_invalid_command_form_is_a_422_next_to_the_field(
    client: httpx.AsyncClient, what: str, fields: dict[str, str], field: str, message: str
) -> None:
    opened = await open_ticket(client)
    if what == "feedback":
        await resolve(client, opened)
        await agent(client, opened, "status", {"status": "closed"})
    before = await history(client, opened["ticket_id"])
    response = await act(client, opened, what, **fields)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert await history(client, opened["ticket_id"]) == before


async def test_the_survey_link_preselects_the_rating_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    opened = await open_ticket(client)
    await resolve(client, opened)
    await agent(client, opened, "status", {"status": "closed"})
    before = await history(client, opened["ticket_id"])
    response = await client.get(
        f"/tickets/{opened['ticket_id']}/feedback?secret={opened['secret']}&rating=4"
    )
    assert response.status_code == 200
    assert '<input type="radio" name="rating" value="4" checked required>' in response.text
    assert response.text.count(" checked") == 1
    assert await history(client, opened["ticket_id"]) == before


async def test_a_secret_opens_only_its_own_ticket(client: httpx.AsyncClient) -> None:
    mine = await open_ticket(client)
    theirs = await open_ticket(client, email="eve@example.com", name="Eve")
    foreign = {"ticket_id": theirs["ticket_id"], "secret": mine["secret"]}
    forbidden = await client.get(page_of(foreign))
    assert forbidden.status_code == 403
    assert "This link does not open this ticket" in forbidden.text
    assert TICKET["subject"] not in forbidden.text
    assert (await client.get(f"/tickets/{mine['ticket_id']}")).status_code == 403
    posted = await act(client, foreign, "reply", body="not mine")
    assert posted.status_code == 403
    assert await history(client, theirs["ticket_id"]) == ["created.v1"]

    nowhere = "ZZZZ9999"
    unknown = {
        "ticket_id": nowhere,
        "secret": Signer.from_secret(SECRET_KEY).requester_secret(nowhere),
    }
    missing = await client.get(page_of(unknown))
    assert missing.status_code == 404
    assert "no ticket ZZZZ9999" in missing.text


async def test_attachments_are_listed_and_downloadable_with_the_secret(
    client: httpx.AsyncClient,
) -> None:
    files = [
        ("error log.txt", b"line 1\nline 2\n", "text/plain"),
        ("Zeugnis für Dana.pdf", b"%PDF-1.4 fake", "application/pdf"),
    ]
    response = await submit(client, files=files)
    assert response.status_code == 201, response.text
    number = re.search(r"<strong>([0-9A-Z]{4,32})</strong>", response.text)
    assert number
    ticket_id = number.group(1)
    secret = Signer.from_secret(SECRET_KEY).requester_secret(ticket_id)
    html = (await page(client, {"ticket_id": ticket_id, "secret": secret})).text
    links = re.findall(
        rf'href="(/tickets/{ticket_id}/attachments/[0-9a-f]{{64}}\?secret=\w+)">([^<]+)<', html
    )
    assert [name for _, name in links] == ["error log.txt", "Zeugnis für Dana.pdf"]

    download = await client.get(links[0][0])
    assert download.status_code == 200
    assert download.content == b"line 1\nline 2\n"
    assert download.headers["content-type"].startswith("text/plain")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="error log.txt"'
    )
    pdf = await client.get(links[1][0])
    assert pdf.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''Zeugnis%20f%C3%BCr%20Dana.pdf" in pdf.headers["content-disposition"]

    without = links[0][0].split("?")[0]
    assert (await client.get(without)).status_code == 403
    other = await open_ticket(client)
    foreign = f"{without}?secret={other['secret']}"
    assert (await client.get(foreign)).status_code == 403
    # The right secret of another ticket does not reach this ticket's files either.
    sha = without.rsplit("/", 1)[1]
    elsewhere = f"/tickets/{other['ticket_id']}/attachments/{sha}?secret={other['secret']}"
    assert (await client.get(elsewhere)).status_code == 404
    unknown = f"{without[:-64]}{'0' * 64}?secret={secret}"
    assert (await client.get(unknown)).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/", "/tickets/{id}?secret={secret}", "/tickets/{id}?secret=wrong", "/tickets/{id}/reply"],
)
async def test_portal_answers_carry_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    opened = await open_ticket(client)
    url = path.format(id=opened["ticket_id"], secret=opened["secret"])
    if url.endswith("/reply"):
        response = await client.post(url, data={"secret": opened["secret"], "body": "hello"})
        assert response.status_code == 303
    else:
        response = await client.get(url)
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
