"""Everything the server needs to know, in one typed object built by ``serve`` (or a test)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from companion import paths
from companion.server.confirm import ask_in_terminal
from companion.server.pairing import PAIRING_TIMEOUT_S, Confirm

if TYPE_CHECKING:
    from companion.pipeline.look import LookRequest
    from companion.types import Look

APP_NAME = "shop-the-look"
API_VERSION = 1
DEFAULT_PORT = 17317  # fixed so the extension finds the companion without asking; --port changes it
HOST = "127.0.0.1"  # loopback only: nothing on the network can reach the companion
MAX_BODY_BYTES = 20 * 1024 * 1024  # a 20 MB photo is generous; more is refused with 413
# The look queue. One person clicking through a gallery never meets these; a runaway client does.
MAX_WAITING_LOOKS = 16  # more are refused at once (503 busy, Retry-After); a look takes ~0.5 s
UPLOAD_ROOM_BYTES = 64 * 1024 * 1024  # uploads held at once (read or being read); others wait
LOOK_TIMEOUT_S = 30.0  # a look is stopped (look_timeout) once it has run this long; most take < 2 s
PAIRINGS_FILE = "pairings.json"

LookHook = Callable[[dict, bytes], None]
"""Called with each look's JSON (as ``look_to_json`` makes it) and the photo's bytes after a
successful look.

The results panel plugs in here; it runs in a worker thread and must not raise. The bytes stay
in memory: nothing may write them to disk.
"""


class LookRunner(Protocol):
    """What the server needs of a pipeline: ``LookPipeline`` or anything that runs like it."""

    def run(self, data: bytes, source: str = "", request: LookRequest | None = None) -> Look: ...


@dataclass(frozen=True)
class ServerConfig:
    port: int = DEFAULT_PORT  # 0 picks a free port (tests); the bound one is used for Host checks
    index_dir: Path | None = None  # None: paths.default_index_dir()
    more_index_dirs: tuple[Path, ...] = ()  # other shops' indexes, searched with index_dir's
    age_group: str = "adult"  # whose products a look shows when its request does not say
    pairings_path: Path = field(default_factory=lambda: paths.config_dir() / PAIRINGS_FILE)
    confirm: Confirm = ask_in_terminal
    on_look: LookHook | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    pairing_timeout_s: float = PAIRING_TIMEOUT_S
    pipeline: LookRunner | None = None  # a ready pipeline (tests share one); None: built lazily
    max_waiting_looks: int = MAX_WAITING_LOOKS
    upload_room_bytes: int = UPLOAD_ROOM_BYTES
    look_timeout_s: float = LOOK_TIMEOUT_S

    def index_dirs(self) -> list[Path]:
        """The catalog folders looks search (index folders or catalogs folders)."""
        return [self.index_dir or paths.default_index_dir(), *self.more_index_dirs]
