"""Reads a look request: raw image bytes or multipart, with its options, within the size limit
and within the room uploads may take in memory all together."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import BodyPartReader, ClientPayloadError, web

from companion.errors import ErrorCode, LookError
from companion.pipeline.look import LookRequest
from companion.server.sniff import looks_like_image

RAW_TYPES = ("application/octet-stream",)
MAX_TOP_K = 50
MAX_SOURCE_CHARS = 2048
MAX_FIELD_BYTES = 16 * 1024  # page and image addresses, options: never more than this
GENDERS = ("female", "male", "all")
AGE_GROUPS = ("adult", "kids", "all")


@dataclass(frozen=True)
class Upload:
    data: bytes
    source: str  # the image's web address, else the page's; never a data: or blob: URL
    request: LookRequest
    age_group: str | None = None  # the request's choice; None: the companion's (serve --age-group)


async def read_upload(request: web.Request, max_bytes: int) -> Upload:
    """Raw body (``image/*`` or octet-stream, options in the query) or multipart/form-data with
    an ``image`` file part and optional ``page_url``, ``image_url``, ``top_k``, ``gender``,
    ``age_group``.

    The bytes must look like an image; a client that leaves mid-body gets ``client_gone``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(max_bytes)
    content_type = request.content_type
    try:
        if content_type == "multipart/form-data":
            data, fields = await _read_multipart(request, max_bytes)
        elif content_type.startswith("image/") or content_type in RAW_TYPES:
            # Not request.read(): it lets aiohttp's buffer grow to the limit and holds up to
            # three copies of the body at once.
            data = await _read_limited(request.content.readany, max_bytes, too_large(max_bytes))
            fields = dict(request.query)
        else:
            raise LookError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send the image's bytes (image/* "
                            "or application/octet-stream) or multipart/form-data with an "
                            "'image' part.", 415)
    except (ConnectionError, ClientPayloadError):
        raise left_before_look() from None
    source = _source(fields.get("image_url"), fields.get("page_url"), fields.get("source"))
    upload = Upload(data, source, LookRequest(top_k=_top_k(fields.get("top_k")),
                                              gender=_gender(fields.get("gender"))),
                    _age_group(fields.get("age_group")))
    if not upload.data:
        raise LookError(ErrorCode.IMAGE_EMPTY, "The image is empty. Try another image.", 400)
    if not looks_like_image(upload.data):
        raise LookError(ErrorCode.IMAGE_UNREADABLE, "This is not an image we can read (JPEG, "
                        "PNG, WebP or GIF). Try another image.", 415)
    return upload


def upload_size(request: web.Request, max_bytes: int) -> int:
    """The bytes a look request will hold once read: its declared length, else the limit."""
    declared = request.content_length
    return max_bytes if declared is None else min(declared, max_bytes)


def client_gone(request: web.Request) -> bool:
    """Whether the client has closed its connection (nobody waits for the answer any more)."""
    return request.transport is None or request.transport.is_closing()


def left_before_look() -> LookError:
    return LookError(ErrorCode.CLIENT_GONE, "The client closed the connection before its look "
                     "began; nothing was run.", 499)


class UploadRoom:
    """At most ``capacity`` bytes of uploads held at once, being read or waiting for their look.

    Others wait their turn in arrival order before reading a byte: meanwhile their bodies stay in
    the client and the kernel's socket buffers, not in this process.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.free = capacity
        self._line: deque[object] = deque()
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        size = min(size, self.capacity)  # one upload of any allowed size always fits alone
        me = object()
        async with self._changed:
            self._line.append(me)
            try:
                await self._changed.wait_for(lambda: self._line[0] is me and self.free >= size)
                self.free -= size
            finally:
                self._line.remove(me)
                self._changed.notify_all()
        try:
            yield
        finally:
            async with self._changed:
                self.free += size
                self._changed.notify_all()


def too_large(max_bytes: int) -> LookError:
    return LookError(ErrorCode.BODY_TOO_LARGE,
                     f"The image is larger than {max_bytes // 1_000_000} MB. "
                     "Try a smaller copy.", 413)


async def _read_multipart(request: web.Request, max_bytes: int) -> tuple[bytes, dict[str, str]]:
    reader = await request.multipart()
    data: bytes | None = None
    fields: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):  # nested multipart: not ours
            continue
        if part.name == "image":
            data = await _read_limited(part.read_chunk, max_bytes, too_large(max_bytes))
        elif part.name:
            limit = LookError(ErrorCode.BAD_ARGUMENT, f"The field {part.name!r} is too long.", 400)
            raw = await _read_limited(part.read_chunk, MAX_FIELD_BYTES, limit)
            fields[part.name] = raw.decode(part.get_charset(default="utf-8"), errors="replace")
    if data is None:
        raise LookError(ErrorCode.IMAGE_MISSING, "The request has no 'image' part.", 400)
    return data, fields


async def _read_limited(read_chunk: Callable[[], Awaitable[bytes]], limit: int,
                        error: LookError) -> bytes:
    """A body's or a part's bytes, refusing as soon as they pass ``limit`` (never buffering
    more)."""
    chunks, size = [], 0
    while chunk := await read_chunk():
        size += len(chunk)
        if size > limit:
            raise error
        chunks.append(chunk)
    return b"".join(chunks)


def _top_k(value: str | None) -> int:
    if value is None or value == "":
        return LookRequest().top_k
    try:
        top_k = int(value)
    except ValueError:
        top_k = 0
    if not 1 <= top_k <= MAX_TOP_K:
        raise LookError(ErrorCode.BAD_ARGUMENT,
                        f"top_k must be a whole number from 1 to {MAX_TOP_K}.", 400)
    return top_k


def _gender(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in GENDERS:
        raise LookError(ErrorCode.BAD_ARGUMENT, f"gender must be one of {', '.join(GENDERS)}.", 400)
    return value


def _age_group(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in AGE_GROUPS:
        raise LookError(ErrorCode.BAD_ARGUMENT,
                        f"age_group must be one of {', '.join(AGE_GROUPS)}.", 400)
    return value


def _source(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate and candidate.startswith(("http://", "https://")):
            return candidate[:MAX_SOURCE_CHARS]
    return ""
