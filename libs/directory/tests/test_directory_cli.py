"""``python -m ticketstream.directory``: check, hash-token, new-token."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ticketstream.directory
from ticketstream.directory import ENV_VAR, default_directory_path, hash_token
from ticketstream.directory.__main__ import main

pytestmark = pytest.mark.unit

OK = "ok: 5 help topics, 3 departments, 3 agents\n"


@pytest.fixture
def default_file(tmp_path: Path) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(default_directory_path().read_text())
    return path


def test_check_accepts_a_valid_file(default_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(default_file)]) == 0
    assert capsys.readouterr().out == OK


def test_check_without_a_file_reads_the_environment(
    default_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert main(["check"]) == 0
    monkeypatch.setenv(ENV_VAR, str(default_file.parent / "missing.yaml"))
    assert main(["check"]) == 1
    assert "set TICKETSTREAM_DIRECTORY" in capsys.readouterr().err


def test_check_prints_every_problem_and_exits_1(
    default_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = default_file.read_text()
    default_file.write_text(
        text.replace("department: billing", "department: finance").replace(
            "members: [jordan]", "members: [jordan, sam]"
        )
    )

    assert main(["check", str(default_file)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"invalid directory configuration {default_file} (2 problems):",
        f"  {default_file}: departments[1].members[1]: agent 'sam' is a member of department "
        "'billing' but agents[1].departments does not list it [rule: member_not_in_department]",
        f"  {default_file}: help_topics[3].department: no department 'finance'; known "
        "departments: it-support, billing, general [rule: unknown_department]",
    ]


def test_hash_token_prints_the_sha256(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash-token", "ts-dev-alex"]) == 0
    assert capsys.readouterr().out == hash_token("ts-dev-alex") + "\n"


def test_hash_token_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("ts-dev-sam\n"))
    assert main(["hash-token"]) == 0
    assert capsys.readouterr().out == hash_token("ts-dev-sam") + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["hash-token", "-"]) == 1


def test_new_token_prints_a_token_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-token"]) == 0
    token_line, hash_line = capsys.readouterr().out.splitlines()
    token = token_line.removeprefix("token: ")
    assert token.startswith("ts_")
    assert len(token) == 46
    assert hash_line == f"token_sha256: {hash_token(token)}"


def test_the_module_runs_as_a_program(default_file: Path) -> None:
    # Finds the package where this test imported it from, installed or not.
    src = Path(ticketstream.directory.__file__).parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "ticketstream.directory"]

    ok = subprocess.run(
        [*command, "check", str(default_file)], env=env, capture_output=True, text=True
    )
    assert (ok.returncode, ok.stdout) == (0, OK)

    missing = subprocess.run(
        [*command, "check", str(default_file.parent / "missing.yaml")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1
    assert "no such file; set TICKETSTREAM_DIRECTORY" in missing.stderr

    hashed = subprocess.run(
        [*command, "hash-token", "ts-dev-jordan"], env=env, capture_output=True, text=True
    )
    assert hashed.stdout == hash_token("ts-dev-jordan") + "\n"
