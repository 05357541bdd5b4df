"""Child-process plumbing shared by the embedded servers.

Every server is started as a direct child of the calling Python process:

* in its own process group, so a Ctrl-C in a terminal reaches the supervising Python
  process (which then stops the servers in order) and not the servers themselves;
* with ``prctl(PR_SET_PDEATHSIG, sig)`` (Linux), so it is signalled when the parent dies,
  even when the parent is killed with SIGKILL. The parent-death signal is cleared by the
  kernel whenever the child's credentials change, so when a server must run as another
  user the uid switch is done here, inside ``preexec_fn``, *before* the ``prctl`` call.
  Note that the kernel tracks the parent *thread*: start servers from a thread that lives
  as long as they should (the main thread, normally).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

_PR_SET_PDEATHSIG = 1
_LOG_TAIL_BYTES = 4000
_RESET_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class ChildServer:
    """A server running as our child process: its pid, whether it runs, and ``with`` support
    that stops it on the way out. Subclasses set ``process`` and define ``stop``."""

    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunAs:
    """The (non-root) system user a child process switches to before ``exec``."""

    name: str
    uid: int
    gid: int


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def child_setup(death_signal: int | None, run_as: RunAs | None) -> Callable[[], None]:
    """The ``preexec_fn`` for a server child: drop privileges, then arm the death signal."""
    parent_pid = os.getpid()
    prctl = _load_prctl() if death_signal is not None else None  # resolved before fork

    def setup() -> None:
        # Blocked or ignored signals survive exec (e.g. SIGINT is ignored in a job started
        # with `&` by a non-interactive shell) and would make the server deaf to them.
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        for signum in _RESET_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, signal.SIG_DFL)
        if run_as is not None:
            os.setgroups([])
            os.setresgid(run_as.gid, run_as.gid, run_as.gid)
            os.setresuid(run_as.uid, run_as.uid, run_as.uid)
        if prctl is not None and death_signal is not None:
            # After the uid switch: a credential change clears PDEATHSIG.
            if prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}")
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)

    return setup


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str],
    death_signal: int | None,
    run_as: RunAs | None = None,
    pass_fds: Sequence[int] = (),
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server as our child in its own process group, output appended to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            close_fds=True,
            pass_fds=tuple(pass_fds),
            process_group=0,
            preexec_fn=child_setup(death_signal, run_as),
        )


def run_tool(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str],
    run_as: RunAs | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> None:
    """Run a short-lived helper (initdb) to completion; output goes to ``log_path``."""
    proc = spawn(
        argv, log_path=log_path, env=env, death_signal=signal.SIGKILL, run_as=run_as, cwd=cwd
    )
    try:
        code = proc.wait(timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if code != 0:
        raise RuntimeError(
            f"{Path(argv[0]).name} failed with exit code {code}; "
            f"end of {log_path}:\n{log_tail(log_path)}"
        )


def stop_process(
    proc: subprocess.Popen[bytes], stop_signal: int, timeout: float, *, kill_group: bool
) -> None:
    """Send ``stop_signal``, wait up to ``timeout`` s, then SIGKILL (the whole group if asked)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(stop_signal)
    try:
        proc.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    # Not reaped yet, so neither the pid nor the process group id can have been reused.
    with contextlib.suppress(ProcessLookupError):
        if kill_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    proc.wait()


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without ``PG*`` variables (they steer postgres and initdb)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if extra:
        env.update(extra)
    return env


def log_tail(path: Path, start: int = 0) -> str:
    """The last few KB of a log file, from byte offset ``start`` on."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(start, size - _LOG_TAIL_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def lock_data_dir(lock_path: Path, what: str, timeout: float) -> int:
    """An exclusive ``flock`` on ``lock_path``; returns the open fd.

    The fd is passed on to the server process, so the lock is held exactly as long as a
    server (or any of its children) using the folder is alive, even after the Python
    process that started it is gone. Waits up to ``timeout`` s for a previous server that is
    still shutting down.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
        if time.monotonic() >= deadline:
            os.close(fd)
            raise RuntimeError(
                f"{lock_path.parent} is in use by another {what} server (lock {lock_path} held)"
            )
        time.sleep(0.05)
