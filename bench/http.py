"""A lean HTTP/1.1 keep-alive client for load generation.

The load generator shares two cores with the servers it measures, so every microsecond it
spends is taken from them. httpx costs several times more CPU per request than this
client, which writes the request bytes itself and reads ``Content-Length`` bodies only
(what uvicorn sends for the answers measured here).
"""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit


class HttpError(Exception):
    """An answer the benchmark did not expect."""


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        url = urlsplit(base_url)
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or 80
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Self:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            await asyncio.gather(self._writer.wait_closed(), return_exceptions=True)

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str | None = None
    ) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body)."""
        if self._reader is None or self._writer is None:
            raise RuntimeError("open the connection with 'async with' first")
        head = f"{method} {path} HTTP/1.1\r\nhost: {self._host}\r\n{self._fixed}"
        if content_type is not None:
            head += f"content-type: {content_type}\r\n"
        if body or method != "GET":
            head += f"content-length: {len(body)}\r\n"
        self._writer.write(head.encode() + b"\r\n" + body)
        response = await self._reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = response.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = None
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise HttpError(f"{method} {path}: answer without content-length")
        return status, await self._reader.readexactly(length)

    async def post_json(self, path: str, payload: dict[str, Any], expect: int) -> Any:
        """POST ``payload`` as JSON; the decoded answer, which must have status ``expect``."""
        body = json.dumps(payload).encode()
        return _checked(
            "POST", path, expect, *await self.request("POST", path, body, "application/json")
        )

    async def get_json(self, path: str) -> Any:
        """GET ``path``; the decoded answer, which must have status 200."""
        return _checked("GET", path, 200, *await self.request("GET", path))


def _checked(method: str, path: str, expect: int, status: int, body: bytes) -> Any:
    if status != expect:
        raise HttpError(f"{method} {path}: {status} {body[:500]!r}")
    return json.loads(body)
