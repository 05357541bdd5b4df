"""Attachments, stored once in a JetStream object store and referenced by events.

An attachment's object name is the SHA-256 of its content, so the same file attached twice
(or an e-mail fetched twice) is stored once, and a reference can be checked against what it
points at. Events carry an :class:`~ticketstream.events.AttachmentRef`, never the bytes.
"""

from __future__ import annotations

import hashlib

from nats.aio.client import Client as NatsClient
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from ticketstream.events import AttachmentRef

BUCKET = "ticket-attachments"


class AttachmentStore:
    """Puts and gets attachment content by its SHA-256."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    @classmethod
    async def open(cls, nc: NatsClient, *, replicas: int = 1) -> AttachmentStore:
        """The attachment bucket, created on first use (file storage, like the stream)."""
        js = nc.jetstream()
        try:
            return cls(await js.object_store(BUCKET))
        except BucketNotFoundError:
            config = ObjectStoreConfig(
                description="Ticketstream attachments, by SHA-256",
                storage=StorageType.FILE,
                replicas=replicas,
            )
            return cls(await js.create_object_store(BUCKET, config=config))

    async def put(self, filename: str, content_type: str, data: bytes) -> AttachmentRef:
        """Store ``data`` (once) and return the reference an event carries."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            await self._store.get_info(digest)
        except ObjectNotFoundError:
            await self._store.put(digest, data)
        return AttachmentRef(
            object_name=digest,
            filename=filename,
            content_type=content_type,
            size=len(data),
            sha256=digest,
        )

    async def get(self, ref: AttachmentRef) -> bytes:
        """The content behind a reference (checked against its SHA-256)."""
        result = await self._store.get(ref.object_name)
        data = result.data or b""
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ValueError(f"attachment {ref.object_name} does not match its SHA-256")
        return data
