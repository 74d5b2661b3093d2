"""The exact form of a browser extension's Origin: the one check of it.

Only an Origin of this form may ask to pair, and it is the text the user is shown in the pairing
question, so the check is strict: one scheme, one id of the browser's own alphabet, nothing else.
An Origin that merely starts like one (``chrome-extension://`` followed by an escape sequence, a
line break, a Cyrillic ``а`` that looks like a Latin ``a``, a path) is not an extension's.
"""

from __future__ import annotations

import re

from companion.errors import ErrorCode

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Chrome (and Edge, Brave…): 32 letters a–p; Firefox: a lowercase UUID per profile; Safari: a
# UUID in capitals. Explicit ASCII classes: no Unicode letter or digit can match them.
EXTENSION_ORIGIN = re.compile(
    rf"chrome-extension://[a-p]{{32}}|moz-extension://{_UUID}"
    rf"|safari-web-extension://{_UUID.replace('a-f', 'A-F')}")


def is_extension_origin(origin: str) -> bool:
    return EXTENSION_ORIGIN.fullmatch(origin) is not None


def origin_problem(origin: str) -> ErrorCode | None:
    """None for an extension's Origin; otherwise why it may not pair.

    ``origin_malformed`` for one that pretends to be an extension's (names an extension scheme
    but is not of its form, or has any character outside printable ASCII); ``origin_forbidden``
    for anything else, such as a web page.
    """
    if is_extension_origin(origin):
        return None
    pretends = "-extension:" in origin.lower() or not _printable_ascii(origin)
    return ErrorCode.ORIGIN_MALFORMED if pretends else ErrorCode.ORIGIN_FORBIDDEN


def _printable_ascii(text: str) -> bool:
    return all(" " <= char <= "~" for char in text)
