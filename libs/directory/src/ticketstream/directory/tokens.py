"""Agents' API tokens: the directory stores only their SHA-256.

A token is a random, high-entropy string (:func:`generate_token` gives 256 bits), not a
password a person chose. Guessing one is hopeless whatever the hash costs, so a fast,
unsalted SHA-256 is adequate: a slow password hash (bcrypt, argon2) only protects
low-entropy secrets, and would cost every API request its price. Never put a memorable
token in a production directory; the ``ts-dev-*`` tokens of the packaged default are for
development only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Annotated, TypeAlias

from pydantic import AfterValidator, StringConstraints

__all__ = ["TOKEN_PREFIX", "TokenSha256", "generate_token", "hash_token", "matching_hash"]

TOKEN_PREFIX = "ts_"
"""Prefix of generated tokens, so a leaked one is recognisable (e.g. by secret scanners)."""

TokenSha256: TypeAlias = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", strip_whitespace=True),
    AfterValidator(str.lower),
]
"""The hex SHA-256 of an agent's API token (stored lowercase, as :func:`hash_token` writes it)."""


def hash_token(token: str) -> str:
    """The lowercase hex SHA-256 of ``token`` (UTF-8), as stored in ``token_sha256``."""
    if not token:
        raise ValueError("a token must not be empty")
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    """A new random API token: ``ts_`` and 43 URL-safe characters (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def matching_hash(token: str, hashes: Iterable[str]) -> int | None:
    """The position of ``token``'s hash among ``hashes``, or ``None``.

    Compares with :func:`hmac.compare_digest` against every hash, without stopping at a
    match, so the time taken says nothing about which hash (if any) matched.
    """
    if not token:
        return None
    digest = hash_token(token)
    found: int | None = None
    for position, candidate in enumerate(hashes):
        if hmac.compare_digest(digest, candidate) and found is None:
            found = position
    return found
