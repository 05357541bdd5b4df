"""An attachment as a download: never shown inline, never sniffed into another type."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Response

from ticketstream.events import AttachmentRef

_MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=(\"[^\"\r\n]*\"|[\w.+-]+))*")
_FALLBACK_CHARS = re.compile(r"[^A-Za-z0-9 !#$&+,.;=@^_`{}~()\[\]-]")


def attachment_response(ref: AttachmentRef, data: bytes) -> Response:
    """``data`` served as ``ref``'s file: its filename, and its content type when sane."""
    media_type = ref.content_type if _MEDIA_TYPE.fullmatch(ref.content_type) else None
    return Response(
        data,
        media_type=media_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(ref.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    fallback = _FALLBACK_CHARS.sub("_", filename) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
