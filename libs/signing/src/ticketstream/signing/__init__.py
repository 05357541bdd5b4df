"""Ticketstream's signing scheme, shared by intake (verifies) and notify (signs).

- :meth:`Signer.requester_secret` / :meth:`Signer.verify_requester_secret`: the per-ticket
  secret in a requester's link (DESIGN §5), derived from the key, never stored.
- :meth:`Signer.reply_address` / :meth:`Signer.ticket_from_reply_address`: a signed
  ``support+<ticket>.<sig>@domain`` Reply-To (DESIGN §3).
- :meth:`Signer.message_id` / :meth:`Signer.ticket_from_message_id`: signed, per-recipient
  Message-IDs that thread replies through In-Reply-To / References (DESIGN §3).
- :func:`ticket_subject_tag` / :func:`ticket_from_subject`: the unsigned ``[#ticket]`` tag.
- :func:`new_secret_key`: a fresh ``TICKETSTREAM_SECRET_KEY``
  (also ``python -m ticketstream.signing new-key``).

Standard library only. See :mod:`ticketstream.signing.signer` for why each value is signed
and what rotating the key costs.
"""

from __future__ import annotations

from .keys import new_secret_key
from .signer import MIN_KEY_BYTES, MIN_SECRET_CHARS, SECRET_KEY_ENV, Signer
from .subject import ticket_from_subject, ticket_subject_tag

__all__ = [
    "MIN_KEY_BYTES",
    "MIN_SECRET_CHARS",
    "SECRET_KEY_ENV",
    "Signer",
    "new_secret_key",
    "ticket_from_subject",
    "ticket_subject_tag",
]
