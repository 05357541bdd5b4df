"""Every sample e-mail of the corpus through POST /api/v1/inbound/email, with its outcome."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parent / "emails"

EXPECTED = {
    "attachments.eml": "created",
    "bounce_delivery_status.eml": "ignored",
    "forwarded_rfc822.eml": "created",
    "french_reply.eml": "created",
    "german_reply_flowed.eml": "created",
    "gmail_reply.eml": "created",
    "html_only.eml": "created",
    "latin1_quoted_printable.eml": "created",
    "mailing_list.eml": "ignored",
    "no_from.eml": 422,
    "no_message_id.eml": "created",
    "out_of_office.eml": "ignored",
    "outlook_reply.eml": "created",
    "outlook_web_html_reply.eml": "created",
    "plain_text.eml": "created",
    "rfc2047_headers.eml": "created",
    "shift_jis.eml": "created",
    "unknown_charset.eml": "created",
    "vacation_autoreply.eml": "ignored",
    "windows1252_base64.eml": "created",
}


async def deliver(client: httpx.AsyncClient, raw: bytes) -> httpx.Response:
    return await client.post(
        "/api/v1/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"}
    )


def test_every_sample_has_an_expected_outcome() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_a_sample_email_has_its_outcome(client: httpx.AsyncClient, name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    response = await deliver(client, raw)
    expected = EXPECTED[name]
    if isinstance(expected, int):
        assert response.status_code == expected
        assert response.json()["error"]["code"] == "invalid_email"
        return
    assert response.status_code == 202, response.text
    first = response.json()
    # Delivered twice (an MTA retry): nothing new, except without a Message-ID to go by.
    again = (await deliver(client, raw)).json()
    if expected == "created":
        assert first["outcome"] in ("created", "duplicate")  # another test may have sent it
        if name != "no_message_id.eml":
            assert (again["outcome"], again["ticket_id"]) == ("duplicate", first["ticket_id"])
    else:
        assert (first["outcome"], again["outcome"]) == (expected, expected)


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe garbage", b"just some words\n"])
async def test_garbage_is_a_422(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await deliver(client, raw)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_email"
