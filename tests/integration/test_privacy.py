"""Privacy is the product: a look opens no connection and leaves no copy of the photo on disk."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import pytest

from tests.support.data import requires_data, street_photo

pytestmark = requires_data


class Audit:
    """Records, through Python's audit hooks, every socket connect and every file opened for
    writing while ``active``. Hooks cannot be removed, so this one is gated by a flag."""

    def __init__(self) -> None:
        self.active = False
        self.connections: list = []
        self.writes: list = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event in ("socket.connect", "socket.sendto", "socket.getaddrinfo"):
            self.connections.append((event, args[1:]))
        elif event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing:
                self.writes.append(path)


@pytest.fixture(scope="module")
def audit() -> Audit:
    return Audit()


def test_a_look_opens_no_connection_and_writes_no_file(pipeline, audit):
    photo = street_photo("ccp_0003.jpg")
    pipeline.run(photo)  # warm up: models load, sessions are created
    temp_before = set(os.listdir(tempfile.gettempdir()))
    audit.active = True
    try:
        look = pipeline.run(photo, source="ccp_0003.jpg")
    finally:
        audit.active = False
    assert look.items, "the look must really have run"
    assert audit.connections == []
    assert audit.writes == []
    assert set(os.listdir(tempfile.gettempdir())) == temp_before


def test_the_audit_does_see_connections_and_writes(audit, tmp_path):
    """The hook is live: a connection attempt and a file write are both recorded."""
    import socket

    audit.active = True
    try:
        (tmp_path / "x.txt").write_text("written")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            with contextlib.suppress(OSError):
                sock.connect(("127.0.0.1", 9))
    finally:
        audit.active = False
    assert any(str(tmp_path) in str(p) for p in audit.writes)
    assert audit.connections
