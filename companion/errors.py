"""One error type for everything a user or a client can get wrong, with a stable code.

``ErrorCode`` is the one list of codes; ``docs/errors.md`` is rendered from it
(``python -m companion.errors > docs/errors.md``) and a test keeps the two in sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

COMPANION = "companion"
EXTENSION = "extension"
PANEL = "panel window"


class ErrorCode(StrEnum):
    """Every error code a user or a client can meet, each with what it means.

    A member equals its string (``ErrorCode.IMAGE_EMPTY == "image_empty"``), so clients and tests
    that compare strings keep working. ``origin`` says who produces it: the companion (CLI, HTTP
    API, panel), the browser extension on its own, or the panel window's page on its own.
    """

    meaning: str
    origin: str

    def __new__(cls, value: str, meaning: str, origin: str = COMPANION) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        member.origin = origin
        return member

    # Arguments and requests
    BAD_ARGUMENT = "bad_argument", "An option or request field is out of range or unknown."
    BAD_REGION = "bad_region", "A drawn region is not a box inside the image."
    REGION_TOO_SMALL = "region_too_small", "A drawn region is too small to search."
    # Images
    IMAGE_EMPTY = "image_empty", "The image has no bytes."
    IMAGE_UNREADABLE = "image_unreadable", "Unreadable, or not a JPEG, PNG, WebP or GIF."
    IMAGE_CORRUPT = "image_corrupt", "The image's format is known but its data is damaged."
    IMAGE_TOO_LARGE = "image_too_large", "The image has more pixels than the companion accepts."
    IMAGE_TOO_SMALL = (
        "image_too_small", "The image is too small on its short side to find or match garments in.")
    IMAGE_MISSING = "image_missing", "A multipart upload has no 'image' part."
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", "The body is neither an image nor multipart."
    BODY_TOO_LARGE = "body_too_large", "The request body is larger than the companion accepts."
    IMAGE_TOO_COMPLEX = (
        "image_too_complex", "A JPEG with far more progressive scans than photos have (a bomb).")
    # Catalog
    FEED_UNREADABLE = "feed_unreadable", "The product feed cannot be opened."
    FEED_COLUMNS = "feed_columns", "The product feed lacks required columns."
    FEED_FORMAT = (
        "feed_format", "The product feed is in no format the catalog reads, or is malformed.")
    CATALOG_MISSING = "catalog_missing", "No catalog index at the given folder."
    CATALOG_EMBEDDER_MISMATCH = (
        "catalog_embedder_mismatch", "The catalog index was built with another embedder.")
    INDEX_NOT_UPDATABLE = (
        "index_not_updatable", "The index cannot be updated (another --index-by, or built before "
        "updates); rebuild it.")
    # Models
    MODEL_MISSING = "model_missing", "A model's manifest or file is missing."
    MODEL_CORRUPT = "model_corrupt", "A model file does not match its checksum or fails to load."
    MODEL_MISMATCH = "model_mismatch", "A model's inputs or outputs differ from its manifest."
    # Pairing and security
    AUTH_MISSING = "auth_missing", "The request carries no token: pair the browser first."
    AUTH_INVALID = "auth_invalid", "The token is unknown: never paired, or unpaired."
    TOKEN_IN_URL = "token_in_url", "A token was sent in the URL instead of the header."
    HOST_FORBIDDEN = "host_forbidden", "The Host header is not 127.0.0.1 or localhost."
    ORIGIN_FORBIDDEN = "origin_forbidden", "The Origin is not the one pinned to the token."
    BAD_PAIRING_CODE = "bad_pairing_code", "The pairing request is not a six-digit code."
    PAIRING_REFUSED = "pairing_refused", "The person at the companion did not approve pairing."
    PAIRING_BUSY = "pairing_busy", "Another pairing request is waiting for an answer."
    PAIRING_LOCKED = (
        "pairing_locked", "Several pairing attempts failed in a row: wait (Retry-After), retry.")
    ORIGIN_MALFORMED = (
        "origin_malformed", "The Origin looks like an extension's but is not of its exact form.")
    # The server itself
    PORT_IN_USE = "port_in_use", "The companion's port is taken (is it already running?)."
    NOT_FOUND = "not_found", "No such HTTP route."
    METHOD_NOT_ALLOWED = "method_not_allowed", "The route exists but not for this HTTP method."
    HTTP_ERROR = "http_error", "Any other HTTP error the server answers with."
    MALFORMED_REQUEST = (
        "malformed_request", "The request is not well-formed HTTP (request line, headers, body).")
    INTERNAL_ERROR = "internal_error", "An unexpected failure; the companion's log has details."
    LOOK_TIMEOUT = "look_timeout", "The look took longer than the companion allows; it was stopped."
    BUSY = "busy", "Too many looks are waiting: retry after the Retry-After header's seconds."
    CLIENT_GONE = (
        "client_gone", "The client left before its look began, so it never ran (log only).")
    # The results window (panel)
    PANEL_UNAVAILABLE = "panel_unavailable", "The window needs a display and the panel extra."
    NO_LOOK = "no_look", "The window has no look to act on yet."
    SEARCH_UNAVAILABLE = "search_unavailable", "This look cannot be searched again in the window."
    NO_MATCHES = "no_matches", "Nothing in the catalog resembles the drawn region."
    NO_LINK = "no_link", "The product has no web link to open."
    INTERNAL = "internal", "An unexpected failure of a window action; the log has details."
    FAILED = "failed", "A window action failed in the page itself.", PANEL
    # The browser extension's own
    COMPANION_NOT_RUNNING = (
        "companion_not_running", "The extension cannot reach the companion.", EXTENSION)
    COMPANION_TIMEOUT = "companion_timeout", "The companion did not answer in time.", EXTENSION
    COMPANION_BAD_ANSWER = (
        "companion_bad_answer", "The companion's answer is not what the API promises.", EXTENSION)
    NOT_PAIRED = "not_paired", "The extension holds no token for this companion.", EXTENSION
    NO_IMAGE = "no_image", "No image found under the pointer.", EXTENSION
    RELOAD_PAGE = "reload_page", "Reload the page so the extension can read it.", EXTENSION
    IMAGE_FETCH_FAILED = "image_fetch_failed", "The extension could not fetch the image.", EXTENSION
    NO_GARMENTS = "no_garments", "The look has no garment or no match to show.", EXTENSION
    PERMISSION_DENIED = (
        "permission_denied", "The browser refused a permission the extension needs.", EXTENSION)
    UNEXPECTED = "unexpected", "Any other failure inside the extension.", EXTENSION


@dataclass
class LookError(Exception):
    """An expected failure: ``code`` is machine-readable, ``message`` says what to do next.

    ``status`` is the HTTP status the server answers with. A string code is converted to its
    ``ErrorCode``; an unknown one raises ValueError, so a typo fails where it is written.
    """

    code: ErrorCode
    message: str
    status: int = 400

    def __post_init__(self) -> None:
        self.code = ErrorCode(self.code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict:
        return {"code": str(self.code), "message": self.message}


def errors_markdown() -> str:
    """``docs/errors.md``: the table of every code, rendered from ``ErrorCode``."""
    lines = [
        "# Error codes",
        "",
        "Every failure a user or a client can meet has one of these codes: the CLI prints",
        "`error [code]: message`, the HTTP API answers `{\"error\": {\"code\", \"message\"}}`.",
        "Generated from `companion/errors.py` (`python -m companion.errors > docs/errors.md`);",
        "do not edit by hand.",
        "",
        "| Code | Meaning | From |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{code}` | {code.meaning} | {code.origin} |" for code in ErrorCode]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(errors_markdown(), end="")
