"""A throwaway Dovecot IMAP server for tests (Debian's ``dovecot-imapd`` package).

Install the package with ``scripts/ensure-dovecot``. The server runs as a direct child of
the calling Python process, in the foreground (``dovecot -F``), in its own process group,
and dies with the caller (``PR_SET_PDEATHSIG``). It must be started as root: Dovecot's
master drops privileges itself, the mail user is the package's ``dovecot`` user and the
login processes run as ``dovenull``.

Layout of ``base`` (reused on restart, which keeps the mail):

* ``dovecot.conf``    - written on every start (nothing from ``/etc/dovecot`` is read);
* ``users``           - the ``passwd-file`` passdb/userdb (one user, hashed password);
* ``home/<user>/Maildir`` - the mailbox, owned by the mail user;
* ``run/``            - Dovecot's ``base_dir`` (sockets, ``master.pid``);
* ``state/``          - Dovecot's ``state_dir``;
* ``dovecot.log``     - the server's log;
* ``dovecot.lock``    - held (``flock``) by the running server.

``base`` and its parents get the "x" bit for others (as the embedded PostgreSQL does):
the mail user must be able to reach its home folder.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from ._process import (
    ChildServer,
    clean_env,
    free_port,
    lock_data_dir,
    log_size,
    log_tail,
    spawn,
    stop_process,
)

__all__ = ["EmbeddedDovecot", "find_doveadm", "find_dovecot", "start_dovecot"]

ENSURE_SCRIPT = "scripts/ensure-dovecot"
MAIL_USER = "dovecot"  # the package's unprivileged internal user; owns the mail
LOGIN_USER = "dovenull"  # the package's login-process user
_SBIN = (Path("/usr/sbin"), Path("/usr/local/sbin"), Path("/sbin"))
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL
_LONGEST_SOCKET = "login/imap-urlauth"  # the longest socket name below base_dir, roughly
_PORT_ATTEMPTS = 5


def _find(binary: str) -> Path:
    found = shutil.which(binary)
    if found:
        return Path(found)
    for folder in _SBIN:  # sbin is often not on a non-root user's PATH
        candidate = folder / binary
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(
        f"{binary} not found (Dovecot is not installed); run `bash {ENSURE_SCRIPT}` "
        "(as root it installs Debian's dovecot-imapd package)"
    )


def find_dovecot() -> Path:
    """The ``dovecot`` master binary; a clear error naming ``scripts/ensure-dovecot`` if missing."""
    return _find("dovecot")


def find_doveadm() -> Path:
    """The ``doveadm`` tool (used to hash the password)."""
    return _find("doveadm")


@dataclass(frozen=True)
class _MailUser:
    name: str
    uid: int
    gid: int


def _mail_user() -> _MailUser:
    try:
        entry = pwd.getpwnam(MAIL_USER)
        grp.getgrnam(LOGIN_USER)
        pwd.getpwnam(LOGIN_USER)
    except KeyError as exc:
        raise RuntimeError(
            f"the system user {exc.args[0]!r} is missing; it is created by the "
            f"dovecot-core package: run `bash {ENSURE_SCRIPT}`"
        ) from None
    return _MailUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _make_traversable(path: Path) -> None:
    """Let other users traverse ``path`` and its parents (adds only the x bit for others)."""
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _q(value: str) -> str:
    """A quoted Dovecot config value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(
    *,
    base_dir: Path,
    state_dir: Path,
    log_path: Path,
    users_file: Path,
    host: str,
    port: int,
) -> str:
    """The whole server configuration (nothing is included from ``/etc/dovecot``)."""
    return f"""\
# Written by ticketstream.embedded.dovecot on every start; edits are overwritten.
base_dir = {_q(str(base_dir))}
state_dir = {_q(str(state_dir))}
log_path = {_q(str(log_path))}
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# A throwaway test server: answer a wrong password at once (the default waits 2 s).
auth_failure_delay = 0
default_internal_user = {MAIL_USER}
default_login_user = {LOGIN_USER}
first_valid_uid = 1
mail_location = maildir:~/Maildir

passdb {{
  driver = passwd-file
  args = {_q(str(users_file))}
}}
userdb {{
  driver = passwd-file
  args = {_q(str(users_file))}
}}

# No per-IP auth penalty (after a failed login every later login from that IP, right ones
# included, waits 4, 8 ... 15 s): the auth process finds no anvil penalty socket.
service anvil {{
  unix_listener anvil-auth-penalty {{
    path = anvil-auth-penalty-disabled
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _hash_password(doveadm: Path, config_path: Path, password: str) -> str:
    result = subprocess.run(
        [str(doveadm), "-c", str(config_path), "pw", "-s", "SHA512-CRYPT", "-p", password],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
        timeout=30,
    )
    hashed = result.stdout.strip()
    if result.returncode != 0 or not hashed.startswith("{"):
        raise RuntimeError(f"doveadm pw failed ({result.returncode}): {result.stderr.strip()}")
    return hashed


def _read_greeting(host: str, port: int, timeout: float) -> bytes | None:
    """The server's first line if it is an IMAP ``* OK`` greeting, else None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            data = b""
            while b"\r\n" not in data and len(data) < 1 << 16:
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                data += chunk
    except OSError:
        return None
    line = data.split(b"\r\n", 1)[0]
    return line if line.startswith(b"* OK") else None


class EmbeddedDovecot(ChildServer):
    """A running Dovecot master (our child). Use :func:`start_dovecot` to create one."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        base: Path,
        run_dir: Path,
        host: str,
        port: int,
        user: str,
        password: str,
        greeting: str,
        own_run_dir: bool,
    ) -> None:
        self.process = process
        self.base = base
        self.run_dir = run_dir
        self.config_path = base / "dovecot.conf"
        self.log_path = base / "dovecot.log"
        self.home = base / "home" / user
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.greeting = greeting
        self._own_run_dir = own_run_dir

    def connect(self, timeout: float = 10.0) -> imaplib.IMAP4:
        """A new plain-text IMAP connection, logged in as :attr:`user`."""
        conn = imaplib.IMAP4(self.host, self.port, timeout=timeout)
        try:
            conn.login(self.user, self.password)
        except BaseException:
            with contextlib.suppress(Exception):
                conn.shutdown()
            raise
        return conn

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole process group, wait, then SIGKILL what is left. Idempotent.

        The group, not only the master: an ``imap`` process serving a connected client
        outlives a master stopped alone.
        """
        children = _children(self.process)
        if self.process.poll() is None:  # not reaped: the group id cannot have been reused
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
        stop_process(self.process, signal.SIGTERM, timeout, kill_group=True)
        _wait_gone(children, 2.0)
        if self._own_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return (
            f"EmbeddedDovecot(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"pid={self.pid}, base={str(self.base)!r})"
        )


def _prepare(base: Path, user: str, mail_user: _MailUser) -> tuple[Path, bool]:
    """Folders and permissions; returns Dovecot's ``base_dir`` and whether it is ours to delete."""
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    _make_traversable(base)
    (base / "state").mkdir(mode=0o750, exist_ok=True)
    home_root = base / "home"
    home_root.mkdir(exist_ok=True)
    home_root.chmod(0o755)
    home = home_root / user
    home.mkdir(exist_ok=True)
    for folder, _dirs, files in os.walk(home):  # a reused base may hold root-owned files
        for name in (folder, *(os.path.join(folder, f) for f in files)):
            os.lchown(name, mail_user.uid, mail_user.gid)
    home.chmod(0o750)
    run_dir = base / "run"
    if len(str(run_dir)) + 1 + len(_LONGEST_SOCKET) <= _SOCKET_PATH_MAX:
        return run_dir, False
    # Unix socket paths are limited to 107 bytes: use a short folder of our own instead.
    short = Path(tempfile.mkdtemp(prefix="dovecot-"))
    short.chmod(0o755)
    return short, True


def start_dovecot(
    base: Path,
    *,
    user: str = "support",
    password: str | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 10.0,
) -> EmbeddedDovecot:
    """Start a throwaway Dovecot (IMAP only, no TLS) on ``host`` and a free port.

    One mail user ``user`` with ``password`` (a random one if None; see
    :attr:`EmbeddedDovecot.password`), mail in ``base/home/<user>/Maildir``. Returns once
    the server sends its IMAP greeting; the server dies with the calling process. Must run
    as root (the master switches users itself).
    """
    if os.geteuid() != 0:
        raise PermissionError(
            "the embedded Dovecot must be started as root (its master drops privileges "
            "to the package's dovecot/dovenull users itself)"
        )
    if not user or any(c in user for c in ":\n\r\t /"):
        raise ValueError(f"invalid IMAP user name {user!r}")
    binary = find_dovecot()
    doveadm = find_doveadm()
    mail_user = _mail_user()
    password = secrets.token_urlsafe(16) if password is None else password
    if "\n" in password or "\r" in password:
        raise ValueError("the password must be a single line")

    base = Path(base).resolve()
    if ":" in str(base) or "\n" in str(base):
        raise ValueError(f"{base}: a passwd-file home path cannot contain ':' or newlines")
    run_dir, own_run_dir = _prepare(base, user, mail_user)
    config_path = base / "dovecot.conf"
    log_path = base / "dovecot.log"
    users_file = base / "users"
    home = base / "home" / user
    try:
        lock_fd = lock_data_dir(base / "dovecot.lock", "Dovecot", timeout)
        try:
            attempts = 1 if port is not None else _PORT_ATTEMPTS
            for attempt in range(attempts):
                listen_port = port if port is not None else free_port(host)
                config_path.write_text(
                    render_config(
                        base_dir=run_dir,
                        state_dir=base / "state",
                        log_path=log_path,
                        users_file=users_file,
                        host=host,
                        port=listen_port,
                    )
                )
                if attempt == 0:
                    hashed = _hash_password(doveadm, config_path, password)
                    # user:password:uid:gid:(gecos):home:(shell):extra fields
                    users_file.write_text(
                        f"{user}:{hashed}:{mail_user.uid}:{mail_user.gid}::{home}::\n"
                    )
                    os.chown(users_file, 0, mail_user.gid)
                    users_file.chmod(0o640)
                log_start = log_size(log_path)
                process = spawn(
                    [str(binary), "-F", "-c", str(config_path)],
                    log_path=log_path,
                    env=clean_env(),
                    death_signal=signal.SIGTERM,
                    pass_fds=[lock_fd],
                    cwd=base,
                )
                try:
                    greeting = _wait_ready(process, host, listen_port, log_path, log_start, timeout)
                except _PortTakenError:
                    if attempt + 1 < attempts:
                        continue
                    raise RuntimeError(
                        f"dovecot could not listen on a free port after {attempts} attempts; "
                        f"end of {log_path}:\n{log_tail(log_path, log_start)}"
                    ) from None
                except BaseException:
                    stop_process(process, signal.SIGKILL, 5.0, kill_group=True)
                    raise
                return EmbeddedDovecot(
                    process=process,
                    base=base,
                    run_dir=run_dir,
                    host=host,
                    port=listen_port,
                    user=user,
                    password=password,
                    greeting=greeting,
                    own_run_dir=own_run_dir,
                )
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            os.close(lock_fd)  # the master holds its own copy of the lock now
    except BaseException:
        if own_run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _children(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    if process.poll() is not None:
        return []
    try:
        children: list[psutil.Process] = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return children


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    """Wait for ``procs`` to exit (zombies count as gone); SIGKILL the stragglers."""
    deadline = time.monotonic() + timeout
    while (left := [p for p in procs if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.005)
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()  # psutil checks the pid still names the same process (start time)
    deadline = time.monotonic() + 5.0
    while [p for p in left if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.005)


class _PortTakenError(Exception):
    pass


def _wait_ready(
    process: subprocess.Popen[bytes],
    host: str,
    port: int,
    log_path: Path,
    log_start: int,
    timeout: float,
) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = log_tail(log_path, log_start)
            if "Address already in use" in tail:
                raise _PortTakenError
            raise RuntimeError(
                f"dovecot exited with code {process.returncode} while starting; "
                f"end of {log_path}:\n{tail}"
            )
        greeting = _read_greeting(host, port, timeout=1.0)
        if greeting is not None:
            return greeting.decode("utf-8", "replace")
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"dovecot sent no IMAP greeting on {host}:{port} after {timeout} s; "
                f"end of {log_path}:\n{log_tail(log_path, log_start)}"
            )
        time.sleep(0.01)
