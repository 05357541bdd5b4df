"""Key handling: lengths, derivation from the configured secret, fresh keys and the CLI."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ticketstream.signing import SECRET_KEY_ENV, Signer, new_secret_key
from ticketstream.signing.__main__ import main

pytestmark = pytest.mark.unit

SECRET = "x" * 31 + "y"
SRC = Path(__file__).resolve().parents[1] / "src"


def test_a_key_of_32_bytes_is_accepted_and_31_refused() -> None:
    Signer(b"k" * 32)
    Signer(bytearray(b"k" * 64))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        Signer(b"k" * 31)
    with pytest.raises(ValueError, match="32 bytes"):
        Signer(b"")


def test_a_text_key_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Signer("k" * 32)  # type: ignore[arg-type]


def test_from_secret_hashes_the_secret_with_sha256() -> None:
    derived = Signer(hashlib.sha256(SECRET.encode()).digest())
    assert Signer.from_secret(SECRET).requester_secret("ABCD") == derived.requester_secret("ABCD")


def test_from_secret_ignores_surrounding_white_space() -> None:
    with_newline = Signer.from_secret(f"{SECRET}\n")
    assert with_newline.requester_secret("ABCD") == Signer.from_secret(SECRET).requester_secret(
        "ABCD"
    )


@pytest.mark.parametrize("secret", ["", "short", "x" * 31, " " * 40, "x" * 31 + "\n"])
def test_a_short_secret_is_refused_naming_the_variable(secret: str) -> None:
    with pytest.raises(ValueError, match=SECRET_KEY_ENV):
        Signer.from_secret(secret)
    assert SECRET_KEY_ENV == "TICKETSTREAM_SECRET_KEY"


def test_different_secrets_give_different_signers() -> None:
    one = Signer.from_secret(SECRET)
    two = Signer.from_secret(SECRET[:-1] + "z")
    assert one.requester_secret("ABCD") != two.requester_secret("ABCD")


def test_the_key_never_shows_in_repr() -> None:
    signer = Signer(b"\x01" * 32)
    assert "redacted" in repr(signer)
    assert "\\x01" not in repr(signer)


def test_new_secret_keys_are_long_random_and_accepted() -> None:
    keys = {new_secret_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert len(key) == 64
        assert key.isascii()
        assert key.strip() == key
        Signer.from_secret(key)


def test_the_cli_prints_a_new_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-key"]) == 0
    printed = capsys.readouterr().out
    assert printed.endswith("\n")
    Signer.from_secret(printed)
    assert len(printed.strip()) == 64


def test_the_cli_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["old-key"])


def test_python_dash_m_new_key() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "-m", "ticketstream.signing", "new-key"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert len(result.stdout.strip()) == 64
    Signer.from_secret(result.stdout)
