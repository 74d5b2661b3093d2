"""Reads a look request: raw image bytes or multipart, with its options, within the size limit."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from companion.errors import ErrorCode, LookError
from companion.pipeline.look import LookRequest

RAW_TYPES = ("application/octet-stream",)
MAX_TOP_K = 50
MAX_SOURCE_CHARS = 2048
MAX_FIELD_BYTES = 16 * 1024  # page and image addresses, options: never more than this
GENDERS = ("female", "male", "all")


@dataclass(frozen=True)
class Upload:
    data: bytes
    source: str  # the image's web address, else the page's; never a data: or blob: URL
    request: LookRequest


async def read_upload(request: web.Request, max_bytes: int) -> Upload:
    """Raw body (``image/*`` or octet-stream, options in the query) or multipart/form-data with
    an ``image`` file part and optional ``page_url``, ``image_url``, ``top_k``, ``gender``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(max_bytes)
    content_type = request.content_type
    if content_type == "multipart/form-data":
        data, fields = await _read_multipart(request, max_bytes)
    elif content_type.startswith("image/") or content_type in RAW_TYPES:
        try:
            data = await request.read()  # stops at the app's client_max_size
        except web.HTTPRequestEntityTooLarge:
            raise too_large(max_bytes) from None
        fields = dict(request.query)
    else:
        raise LookError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send the image's bytes (image/* or "
                        "application/octet-stream) or multipart/form-data with an 'image' part.",
                        415)
    source = _source(fields.get("image_url"), fields.get("page_url"), fields.get("source"))
    return Upload(data, source, LookRequest(top_k=_top_k(fields.get("top_k")),
                                            gender=_gender(fields.get("gender"))))


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
            data = await _read_part(part, max_bytes, too_large(max_bytes))
        elif part.name:
            limit = LookError(ErrorCode.BAD_ARGUMENT, f"The field {part.name!r} is too long.", 400)
            raw = await _read_part(part, MAX_FIELD_BYTES, limit)
            fields[part.name] = raw.decode(part.get_charset(default="utf-8"), errors="replace")
    if data is None:
        raise LookError(ErrorCode.IMAGE_MISSING, "The request has no 'image' part.", 400)
    return data, fields


async def _read_part(part: BodyPartReader, limit: int, error: LookError) -> bytes:
    """A part's bytes, refusing as soon as it passes ``limit`` (never buffering more)."""
    chunks, size = [], 0
    while chunk := await part.read_chunk():
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


def _source(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate and candidate.startswith(("http://", "https://")):
            return candidate[:MAX_SOURCE_CHARS]
    return ""
