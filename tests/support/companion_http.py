"""A real companion on loopback for the server and browser tests, a free loopback port, and a
raw HTTP client that can send any Host, Origin or Authorization header (a browser could not
forge most of them)."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import struct
import threading
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from companion.catalog.versions import IndexVersions
from companion.server.config import ServerConfig
from companion.server.confirm import approve_for_tests
from companion.server.runner import ServerThread

# The id the manifest "key" gives the extension in Chrome, and so the Origin it sends.
EXTENSION_ID = "knhekecfkhfdgpmjaboemjdidiipffjc"
EXTENSION_ORIGIN = f"chrome-extension://{EXTENSION_ID}"


def free_port() -> int:
    """A loopback port nothing listens on (once the probe socket is closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CountingPipeline:
    """Passes looks to the real pipeline and counts them, so tests can show a refusal ran
    nothing; it also notes the thread each look ran in."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.runs = 0
        self.threads: list[str] = []

    def run(self, data: bytes, source: str = "", request=None):
        self.runs += 1
        self.threads.append(threading.current_thread().name)
        return self.pipeline.run(data, source=source, request=request)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.raw)

    @property
    def error_code(self) -> str | None:
        return self.json.get("error", {}).get("code")


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 120.0) -> Answer:
    """One request to the companion on 127.0.0.1:``port``, with exactly these headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass
class LiveCompanion:
    """``ServerThread`` on a free port with pairing auto-approved and looks recorded."""

    pipeline: object
    pairings_path: Path
    config_changes: dict = field(default_factory=dict)
    looks: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        config = ServerConfig(port=0, pairings_path=self.pairings_path, confirm=approve_for_tests,
                              on_look=lambda look, _photo: self.looks.append(look),
                              pipeline=self.pipeline)
        self.server = ServerThread(replace(config, **self.config_changes))
        self.port = self.server.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 120.0) -> Answer:
        return request(self.port, method, path, body, {"Host": self.host, **(headers or {})},
                       timeout)

    def pair(self, origin: str = EXTENSION_ORIGIN) -> str:
        answer = self.request("POST", "/v1/pair", json.dumps({"code": "123456"}).encode(),
                              {"Origin": origin, "Content-Type": "application/json"})
        assert answer.status == 200, answer.raw
        return answer.json["token"]

    def stop(self) -> None:
        self.server.stop()


def authorised(token: str, origin: str = EXTENSION_ORIGIN, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Origin": origin, **extra}


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header claims ``width``×``height`` pixels: a decompression bomb's
    calling card (the data would inflate to gigabytes if anyone believed it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def index_of_another_embedder(index_dir: Path, folder: Path) -> Path:
    """A copy of ``index_dir`` whose manifest says another embedder built it."""
    copy = Path(shutil.copytree(index_dir, folder / "index-of-another-embedder"))
    path = IndexVersions(copy).current() / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(embedder="someone-elses-embedder", embedder_sha256="0" * 64)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return copy
