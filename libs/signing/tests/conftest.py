"""Shared fixtures for the signing tests: two signers with different keys."""

import pytest

from ticketstream.signing import Signer

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.fixture
def signer() -> Signer:
    return Signer(KEY)


@pytest.fixture
def other_signer() -> Signer:
    return Signer(OTHER_KEY)
