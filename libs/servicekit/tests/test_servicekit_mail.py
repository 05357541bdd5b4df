"""MAIL_POLICY: policy.default's headers, each distinct one parsed once."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from ticketstream.servicekit import mail
from ticketstream.servicekit.mail import MAIL_POLICY, ParseOnceHeaderRegistry

pytestmark = pytest.mark.unit

RAW = (
    b"From: =?utf-8?q?Dana_M=C3=BCller?= <dana@example.com>\r\n"
    b"To: Help Desk <support@example.com>, sam@example.com\r\n"
    b"Subject: =?utf-8?q?R=C3=A9ponse?=\r\n"
    b'Content-Type: text/plain; charset="utf-8"; format=flowed\r\n'
    b"\r\n"
    b"Hello\r\n"
)


def test_headers_read_as_policy_default_reads_them() -> None:
    ours = message_from_bytes(RAW, policy=MAIL_POLICY)
    theirs = message_from_bytes(RAW, policy=policy.default)

    for name in ("From", "To", "Subject", "Content-Type"):
        assert str(ours[name]) == str(theirs[name]), name
    assert [a.addr_spec for a in ours["To"].addresses] == ["support@example.com", "sam@example.com"]
    assert ours.get_content_charset() == "utf-8"
    assert ours.get_param("format") == "flowed"
    assert ours.as_bytes() == theirs.as_bytes()


def test_a_header_is_parsed_once_and_its_class_built_once() -> None:
    registry = ParseOnceHeaderRegistry()

    first = registry("Content-Type", "text/plain; charset=utf-8")
    again = registry("Content-Type", "text/plain; charset=utf-8")
    other = registry("Content-Type", "text/html")

    assert again is first
    assert other is not first
    assert type(other) is type(first)
    assert registry["content-type"] is registry["Content-Type"]


def test_long_values_are_not_kept_and_a_full_cache_starts_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = ParseOnceHeaderRegistry()
    long_subject = "x" * (mail.CACHED_HEADER_CHARS + 1)
    assert registry("Subject", long_subject) is not registry("Subject", long_subject)

    monkeypatch.setattr(mail, "CACHED_HEADERS", 2)
    kept = registry("Subject", "one")
    registry("Subject", "two")
    registry("Subject", "three")  # the cache was full: it starts over with this one
    assert registry("Subject", "one") is not kept
