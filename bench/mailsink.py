"""A real SMTP server (aiosmtpd) in its own process that timestamps every e-mail's arrival.

``python -m bench.mailsink --port N`` accepts every message and prints one line per
envelope recipient, ``<monotonic seconds> <recipient>``, as the DATA command completes.
:class:`MailSink` runs it and reads those lines. It is a process of its own so that
receiving thousands of e-mails takes no CPU time from the load generator's event loop.
Both processes read the same system-wide clock (:func:`now`, ``CLOCK_MONOTONIC``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from aiosmtpd.smtp import SMTP, Envelope, Session

from ticketstream.embedded import free_port

READY = "ready"
REPOSITORY = Path(__file__).resolve().parents[1]
"""Where ``python -m bench.mailsink`` finds the ``bench`` package."""


def now() -> float:
    """Seconds on the system-wide monotonic clock, comparable between processes."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class _Timestamps:
    """aiosmtpd handler: accept, and print when each recipient's copy arrived."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        arrived = now()
        sys.stdout.write("".join(f"{arrived:.6f} {r}\n" for r in envelope.rcpt_tos))
        sys.stdout.flush()
        return "250 Message accepted for delivery"


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(_Timestamps()), "127.0.0.1", port)
    print(READY, flush=True)
    async with server:
        await server.serve_forever()


class MailSink:
    """Runs ``python -m bench.mailsink`` and tells when e-mails arrived, by recipient."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._arrivals: dict[str, list[float]] = {}
        self._waiters: dict[tuple[str, int], asyncio.Future[float]] = {}

    async def __aenter__(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.mailsink", "--port", str(self.port),
            stdout=asyncio.subprocess.PIPE, cwd=REPOSITORY,
        )  # fmt: skip
        assert self._process.stdout is not None
        async with asyncio.timeout(30):
            line = await self._process.stdout.readline()
        if line.decode().strip() != READY:
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        self._reader = asyncio.create_task(self._read(self._process.stdout))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            stamp, _, recipient = line.decode().strip().partition(" ")
            self._arrived(recipient.lower(), float(stamp))

    def _arrived(self, recipient: str, arrived: float) -> None:
        self.received += 1
        arrivals = self._arrivals.setdefault(recipient, [])
        arrivals.append(arrived)
        waiter = self._waiters.pop((recipient, len(arrivals)), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrived)

    async def arrival(self, recipient: str, nth: int = 1) -> float:
        """When (:func:`now`) the ``nth`` e-mail to ``recipient`` arrived, waiting if need be."""
        recipient = recipient.lower()
        arrivals = self._arrivals.get(recipient, [])
        if len(arrivals) >= nth:
            return arrivals[nth - 1]
        future = asyncio.get_running_loop().create_future()
        return await self._waiters.setdefault((recipient, nth), future)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mailsink")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
