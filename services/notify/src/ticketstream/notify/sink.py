"""The development SMTP sink: every message received becomes a ``.eml`` file.

``make run`` points notify at it (security ``none``) instead of a real mail server::

    python -m ticketstream.notify.sink --folder .run/mail [--host 127.0.0.1] [--port 8025]

One file per (message, envelope recipient), named
``<UTC timestamp>-<n>-<recipient>.eml`` so that a plain ``ls`` lists them in arrival order.
The content is the DATA bytes exactly as received (CRLF line endings), preceded by one added
header line ``X-Ticketstream-Envelope-To: <recipient>`` (like the ``Delivered-To`` an MTA
prepends), unless ``envelope_header=False``. Each file is written under a hidden temporary
name in the same folder and renamed into place, so a reader globbing ``*.eml`` never sees a
partial file.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import signal
import sys
import threading
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["ENVELOPE_TO_HEADER", "EphemeralPortController", "MailSink", "SinkHandler", "main"]

ENVELOPE_TO_HEADER = "X-Ticketstream-Envelope-To"

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


class EphemeralPortController(Controller):
    """An aiosmtpd ``Controller`` that can listen on a free port: pass ``port=0``.

    ``port`` holds the port actually bound once :meth:`start` returns. Reusable by tests that
    need a real SMTP server with their own handler.
    """

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        server_coro = super()._create_server()

        async def bind() -> asyncio.AbstractServer:
            server = await server_coro
            if isinstance(server, asyncio.Server) and server.sockets:
                self.port = server.sockets[0].getsockname()[1]
            return server

        return bind()


class SinkHandler:
    """aiosmtpd handler writing each received message into ``folder``."""

    def __init__(self, folder: Path, *, envelope_header: bool = True) -> None:
        self.folder = folder
        self.envelope_header = envelope_header
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        recipients = [str(r) for r in envelope.rcpt_tos] or ["unknown"]
        try:
            await asyncio.to_thread(self._write_all, data, recipients)
        except OSError:
            return "451 Requested action aborted: error writing the message"
        return "250 Message accepted for delivery"

    def _write_all(self, data: bytes, recipients: Sequence[str]) -> list[Path]:
        return [self.write(data, recipient) for recipient in recipients]

    def write(self, data: bytes, recipient: str) -> Path:
        """Store ``data`` for ``recipient`` atomically; the final path."""
        with self._lock:
            n = next(self._counter)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        safe = _UNSAFE.sub("_", recipient)[:100] or "unknown"
        name = f"{stamp}-{n:06d}-{safe}.eml"
        if self.envelope_header:
            header_value = recipient.replace("\r", "").replace("\n", "")
            data = f"{ENVELOPE_TO_HEADER}: {header_value}\r\n".encode() + data
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / name
        temp = self.folder / f".{name}.{os.getpid()}.tmp"
        try:
            with temp.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return final


class MailSink:
    """A local SMTP server (own thread and event loop) writing ``.eml`` files to ``folder``.

    ``port=None`` picks a free port; read it from :attr:`port` after :meth:`start`.
    """

    def __init__(
        self,
        folder: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        envelope_header: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self.host = host
        self._requested_port = port
        self.handler = SinkHandler(self.folder, envelope_header=envelope_header)
        self._controller: EphemeralPortController | None = None

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("the mail sink is not running")
        port: int = self._controller.port
        return port

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("the mail sink is already running")
        self.folder.mkdir(parents=True, exist_ok=True)
        controller = EphemeralPortController(
            self.handler,
            hostname=self.host,
            port=self._requested_port or 0,
            server_hostname="ticketstream-sink",
            data_size_limit=50 * 1024 * 1024,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def files(self) -> list[Path]:
        """The ``.eml`` files written so far, in arrival order."""
        return sorted(self.folder.glob("*.eml"))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ticketstream.notify.sink",
        description="Development SMTP sink: writes every received message as a .eml file.",
    )
    parser.add_argument("--folder", type=Path, default=Path(".run/mail"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    return parser.parse_args(argv)


async def _serve(sink: MailSink) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with sink:
        print(f"SMTP sink on {sink.host}:{sink.port} writing to {sink.folder}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    sink = MailSink(args.folder, host=args.host, port=args.port)
    try:
        asyncio.run(_serve(sink))
    except OSError as error:
        print(f"SMTP sink failed to start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
