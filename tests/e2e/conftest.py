"""The browser tests' web site: both extension modules (Chromium and Firefox) open the same
local page of street photos."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.photo_site import photo_site


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The photo site on a free loopback port, one per module; its base address."""
    with photo_site() as address:
        yield address
