"""find_thread: which ticket an inbound e-mail belongs to, with a fake signer.

The fake "signs" by listing what it would accept, so these tests pin down the order and the
sender rule, not the cryptography (that is ``ticketstream.signing``'s own test suite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ticketstream.intake.email import (
    InboundEmail,
    ThreadingKeys,
    ThreadMatch,
    find_thread,
    parse_email,
)

pytestmark = pytest.mark.unit

EMAILS = Path(__file__).parent / "emails"

REPLY_A = "support+AAAA1111.sig0000001@helpdesk.example"
REPLY_B = "support+BBBB2222.sig0000002@helpdesk.example"
MSGID_C = "<ts.CCCC3333.hash00000000.sig0000003@helpdesk.example>"
MSGID_D = "<ts.DDDD4444.hash00000000.sig0000004@helpdesk.example>"
FORGED_MSGID = "<ts.CCCC3333.hash00000000.forgedsig1@helpdesk.example>"


@dataclass
class FakeKeys:
    """Accepts exactly the reply addresses and Message-IDs it was given, like a signer would."""

    reply_addresses: dict[str, str] = field(
        default_factory=lambda: {REPLY_A: "AAAA1111", REPLY_B: "BBBB2222"}
    )
    message_ids: dict[str, str] = field(
        default_factory=lambda: {MSGID_C: "CCCC3333", MSGID_D: "DDDD4444"}
    )
    asked: list[str] = field(default_factory=list)

    def ticket_from_reply_address(self, address: str) -> str | None:
        self.asked.append(address)
        return self.reply_addresses.get(address)

    def ticket_from_message_id(self, message_id: str) -> str | None:
        self.asked.append(message_id)
        return self.message_ids.get(message_id)


def subject_tag(subject: str) -> str | None:
    match = re.search(r"\[#([0-9A-Za-z]{4,32})\]", subject)
    return match.group(1).upper() if match else None


REQUESTERS = {"EEEE5555": "Dana@Example.com", "AAAA1111": "dana@example.com"}


async def requester_of(ticket_id: str) -> str | None:
    return REQUESTERS.get(ticket_id)


def inbound(**fields: object) -> InboundEmail:
    values: dict[str, object] = {"from_address": "dana@example.com", "subject": "Printer"}
    values.update(fields)
    return InboundEmail(**values)  # type: ignore[arg-type]


async def thread(email: InboundEmail, keys: ThreadingKeys | None = None) -> ThreadMatch:
    return await find_thread(email, keys or FakeKeys(), subject_tag, requester_of)


def test_fake_keys_satisfies_the_protocol() -> None:
    keys: ThreadingKeys = FakeKeys()
    assert keys.ticket_from_reply_address(REPLY_A) == "AAAA1111"


async def test_reply_address_beats_message_id_and_subject_tag() -> None:
    email = inbound(
        to=(REPLY_A,),
        in_reply_to=(MSGID_C,),
        subject="Re: [#EEEE5555] Printer",
    )
    assert await thread(email) == ThreadMatch("AAAA1111", "reply_address")


async def test_message_id_beats_subject_tag() -> None:
    email = inbound(in_reply_to=(MSGID_C,), subject="Re: [#EEEE5555] Printer")
    assert await thread(email) == ThreadMatch("CCCC3333", "message_id")


async def test_subject_tag_from_the_requester_threads() -> None:
    email = inbound(from_address="dana@example.com", subject="Re: [#eeee5555] Printer")
    assert await thread(email) == ThreadMatch("EEEE5555", "subject_tag")


async def test_subject_tag_from_a_stranger_opens_a_new_ticket() -> None:
    email = inbound(from_address="mallory@evil.example", subject="Re: [#EEEE5555] Printer")
    match = await thread(email)
    assert match == ThreadMatch(None, "new")
    assert match.is_new


async def test_subject_tag_of_an_unknown_ticket_opens_a_new_ticket() -> None:
    email = inbound(subject="Re: [#ZZZZ9999] Printer")
    assert await thread(email) == ThreadMatch(None, "new")


async def test_subject_tag_from_an_agent_threads_when_the_caller_knows_agents() -> None:
    async def is_agent_of(ticket_id: str, address: str) -> bool:
        return (ticket_id, address) == ("EEEE5555", "agent@helpdesk.example")

    email = inbound(from_address="agent@helpdesk.example", subject="[#EEEE5555] Printer")
    assert await find_thread(email, FakeKeys(), subject_tag, requester_of) == ThreadMatch(
        None, "new"
    )
    match = await find_thread(email, FakeKeys(), subject_tag, requester_of, is_agent_of=is_agent_of)
    assert match == ThreadMatch("EEEE5555", "subject_tag")


async def test_nothing_to_go_on_opens_a_new_ticket() -> None:
    assert await thread(inbound(to=("support@helpdesk.example",))) == ThreadMatch(None, "new")


@pytest.mark.parametrize("where", ["to", "cc", "delivered_to"])
async def test_reply_address_is_found_in_any_recipient_field(where: str) -> None:
    email = inbound(**{where: ("support@helpdesk.example", REPLY_B)})
    assert await thread(email) == ThreadMatch("BBBB2222", "reply_address")


async def test_first_verifying_reply_address_wins_in_field_order() -> None:
    email = inbound(
        to=("support+AAAA1111.forged@helpdesk.example",), cc=(REPLY_B,), delivered_to=(REPLY_A,)
    )
    assert await thread(email) == ThreadMatch("BBBB2222", "reply_address")


async def test_references_chain_with_one_signed_id_threads() -> None:
    email = inbound(
        in_reply_to=("<CAF-someone-else@mail.gmail.com>",),
        references=("<first@example.com>", MSGID_D, "<CAF-someone-else@mail.gmail.com>"),
    )
    assert await thread(email) == ThreadMatch("DDDD4444", "message_id")


async def test_in_reply_to_then_references_newest_first() -> None:
    keys = FakeKeys()
    email = inbound(
        in_reply_to=("<irt@example.com>",),
        references=("<oldest@example.com>", MSGID_C, MSGID_D, "<irt@example.com>"),
    )
    assert await thread(email, keys) == ThreadMatch("DDDD4444", "message_id")
    # In-Reply-To first, each id asked once, newest reference before older ones.
    assert keys.asked == ["<irt@example.com>", MSGID_D]


@pytest.mark.parametrize(
    "ids",
    [
        (FORGED_MSGID,),
        ("<ts.CCCC3333@helpdesk.example>",),
        ("<CCCC3333@helpdesk.example>", "<[#CCCC3333]@x>"),
    ],
)
async def test_unsigned_or_forged_ids_do_not_thread(ids: tuple[str, ...]) -> None:
    email = inbound(from_address="mallory@evil.example", in_reply_to=ids, references=ids)
    assert await thread(email) == ThreadMatch(None, "new")


async def test_forged_reply_address_does_not_thread() -> None:
    email = inbound(to=("support+AAAA1111.guessedsig@helpdesk.example",))
    assert await thread(email) == ThreadMatch(None, "new")


async def test_subject_tag_is_only_consulted_when_the_signed_keys_fail() -> None:
    looked_up: list[str] = []

    async def requester_spy(ticket_id: str) -> str | None:
        looked_up.append(ticket_id)
        return None

    email = inbound(to=(REPLY_A,), subject="[#EEEE5555] Printer")
    await find_thread(email, FakeKeys(), subject_tag, requester_spy)
    assert looked_up == []


async def test_parsed_samples_thread_as_expected() -> None:
    """End to end over the corpus: parse, then thread with keys that know these ids."""
    keys = FakeKeys(
        reply_addresses={"support+4K7Q2M9X.abcdefghij@helpdesk.example": "4K7Q2M9X"},
        message_ids={"<ts.4K7Q2M9X.ccccddddeeee.ffffgggghh@helpdesk.example>": "4K7Q2M9X"},
    )

    async def requester(ticket_id: str) -> str | None:
        return {"5RT8WQ2N": "juergen.weiss@example.de"}.get(ticket_id)

    expected = {
        "gmail_reply.eml": ThreadMatch("4K7Q2M9X", "reply_address"),
        "outlook_reply.eml": ThreadMatch("4K7Q2M9X", "message_id"),
        "german_reply_flowed.eml": ThreadMatch("5RT8WQ2N", "subject_tag"),
        "french_reply.eml": ThreadMatch(None, "new"),  # tag of a ticket with another requester
        "plain_text.eml": ThreadMatch(None, "new"),
    }
    for name, match in expected.items():
        email = parse_email((EMAILS / name).read_bytes())
        assert await find_thread(email, keys, subject_tag, requester) == match, name
