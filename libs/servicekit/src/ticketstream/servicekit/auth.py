"""Bearer tokens: reading ``Authorization: Bearer <token>`` with the standard 401s."""

from __future__ import annotations

from .errors import ApiError

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ticketstream"'}


def unauthorized(message: str) -> ApiError:
    """A 401 with the bearer challenge."""
    return ApiError(401, "unauthorized", message, headers=CHALLENGE)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None when there is no header.

    Raises a 401 :class:`ApiError` for another scheme or an empty token.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <agent token>'")
    return token.strip()
