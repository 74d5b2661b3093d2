"""The versions of one index folder, and the pointer that says which one is current.

An index folder (``index build --out DIR``) holds::

    DIR/CURRENT                  the id of the current version, then of the previous one
    DIR/versions/<id>/           a complete index (manifest.json, products.sqlite, *.usearch)
    DIR/versions/<id>.building/  a build in progress (or the leftover of a killed one)
    DIR/versions/<id>.lock       held (an OS file lock) by the build of <id> while it runs

A build writes a new version beside the current one and publishes it by replacing ``CURRENT``
with ``os.replace``: one atomic step, so a reader, or a build killed at any moment, sees either
the old index or the new one, never none. A pointer file rather than a ``current`` symlink: it
works the same on Windows, where making symlinks needs a privilege, and a reader can tell
cheaply whether the index changed (``current_id``). The version that was current before stays
until the next successful build, for readers that still have it open; older versions go at
publish time, and leftovers of killed builds at the start of the next build. Every build holds
the lock of its own version, so two builds of one folder never remove each other's work.

An index from before versions (manifest.json directly in DIR) still opens; the first build over
it moves it into ``versions/`` as the previous version.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import BinaryIO

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

MANIFEST = "manifest.json"
DATABASE = "products.sqlite"
POINTER = "CURRENT"
VERSIONS = "versions"
STAGING = ".building"
LOCK = ".lock"
# Beside DIR, what builds before versions left when killed: ``.DIR.building-*``, ``.DIR.old-*``
# (removed once a new version is published: an ``.old-*`` may be the only copy until then).
LEGACY = ("building", "old")
VERSION_NAME = re.compile(r"[0-9A-Za-z_-]{1,64}")
# Test-only: the name of a publishing step (see ``_step``) where a build pauses, so that a test
# can kill it in exactly that window. Never set outside tests.
PAUSE_ENV = "SHOP_THE_LOOK_TEST_PAUSE_AT"
PAUSE_S = 300.0


class IndexVersions:
    """Staging, publishing, opening and cleaning the versions of one index folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / VERSIONS
        self._locks: dict[Path, BinaryIO] = {}  # staging folder → its held lock file

    def current_id(self) -> str | None:
        """The current version's id, None for a flat (pre-versions) index or none at all.

        One small read: a long-running reader can call it to notice a new build.
        """
        pointed = self._pointed()
        return pointed[0] if pointed else None

    def current(self) -> Path:
        """The folder holding the current index's files (``root`` itself for a flat index)."""
        name = self.current_id()
        return self.root if name is None else self.versions / name

    def stage(self) -> Path:
        """A new, locked, empty folder to build the next version in; leftovers go first."""
        self.versions.mkdir(parents=True, exist_ok=True)
        self.clean()
        for _attempt in range(10):  # a fresh name is free unless a cleaner raced us
            name = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
            lock = _lock_if_free(self.versions / f"{name}{LOCK}")
            if lock is not None:
                break
        else:
            raise OSError(f"cannot lock a file in {self.versions} (does its file system "
                          "support locks?)")
        staging = self.versions / f"{name}{STAGING}"
        staging.mkdir()
        self._locks[staging] = lock
        _step("building")
        return staging

    def publish(self, staging: Path) -> Path:
        """Make the complete version in ``staging`` current; the one it replaces stays as the
        previous version, older ones go."""
        _fsync_files(staging)
        _step("staged")
        name = staging.name.removesuffix(STAGING)
        version = staging.rename(self.versions / name)
        _step("renamed")
        previous = self.current_id()
        flat = previous is None and (self.root / MANIFEST).is_file()
        if flat:
            previous = f"{name}-flat"
        _point_at(self.root, version, previous)
        _step("pointed")
        if flat:
            self._move_flat_index(self.versions / previous)
        self.clean()
        for kind in LEGACY:
            for leftover in self.root.parent.glob(f".{glob.escape(self.root.name)}.{kind}-*"):
                shutil.rmtree(leftover, ignore_errors=True)
        _step("cleaned")
        self._release(staging)
        return version

    def discard(self, staging: Path) -> None:
        """Remove a build that failed, and release its lock."""
        shutil.rmtree(staging, ignore_errors=True)
        self._release(staging)

    def clean(self) -> None:
        """Remove every version but the current and the previous one, what killed builds left
        (staging folders, lock files) and a flat index's files that a version replaced.

        Whatever a running build holds the lock of is left alone; the pointer is read while
        holding a version's lock, so a version a build has just published is never taken.
        """
        if self.current_id() is not None:
            for path in _flat_files(self.root):
                _unlink(path)
        names = {entry.name.removesuffix(LOCK).removesuffix(STAGING)
                 for entry in self.versions.glob("*")}
        for name in sorted(n for n in names if VERSION_NAME.fullmatch(n)):
            lock = _lock_if_free(self.versions / f"{name}{LOCK}")
            if lock is None:
                continue  # a build of this version is running
            doomed = [self.versions / f"{name}{STAGING}"]
            if name not in self._pointed():
                doomed.append(self.versions / name)
            for folder in doomed:
                shutil.rmtree(folder, ignore_errors=True)  # an open index survives (POSIX)
            _unlink(self.versions / f"{name}{LOCK}")
            lock.close()

    def _pointed(self) -> tuple[str, ...]:
        """(current, previous) as ``CURRENT`` names them; () when there is no pointer."""
        try:
            lines = (self.root / POINTER).read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return ()
        if not lines or not VERSION_NAME.fullmatch(lines[0]):
            return ()
        return tuple(name for name in lines[:2] if VERSION_NAME.fullmatch(name))

    def _move_flat_index(self, folder: Path) -> None:
        """Move a flat index's files into ``folder``, the manifest last."""
        folder.mkdir(exist_ok=True)
        for i, path in enumerate(_flat_files(self.root)):
            if i == 1:
                _step("migrating")
            path.replace(folder / path.name)

    def _release(self, staging: Path) -> None:
        lock = self._locks.pop(staging, None)
        if lock is not None:
            _unlink(self.versions / (staging.name.removesuffix(STAGING) + LOCK))
            lock.close()


def _point_at(root: Path, version: Path, previous: str | None) -> None:
    """Replace ``root/CURRENT`` with one naming ``version`` (and the one it replaces),
    atomically and durably."""
    pointer = version / f"{POINTER}.next"  # inside the version: no leftover at root if killed
    with pointer.open("w", encoding="utf-8") as handle:
        handle.write(f"{version.name}\n{previous or ''}\n")
        handle.flush()
        os.fsync(handle.fileno())
    for attempt in range(20):
        try:
            os.replace(pointer, root / POINTER)
            break
        except PermissionError:  # Windows: a reader has CURRENT open for a moment
            if attempt == 19:
                raise
            time.sleep(0.05)
    _fsync_dir(root)


def _flat_files(root: Path) -> list[Path]:
    """The files of a flat index in ``root``, the manifest last."""
    files = [*sorted(root.glob("*.usearch")), root / DATABASE, root / MANIFEST]
    return [path for path in files if path.is_file()]


def _lock_if_free(path: Path) -> BinaryIO | None:
    """The open, exclusively locked file at ``path`` (made if missing), or None if another
    process holds it. The OS drops the lock when its holder dies, ``kill -9`` included."""
    handle = path.open("a+b")
    try:
        if sys.platform == "win32":
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        # A cleaner may have removed the file between our open and our lock: ours is then a
        # lock nobody else can see.
        if os.fstat(handle.fileno()).st_ino != path.stat().st_ino:
            raise OSError("lock file replaced")
    except OSError:
        handle.close()
        return None
    return handle


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):  # gone already, or (Windows) still open somewhere
        path.unlink()


def _fsync_files(folder: Path) -> None:
    """Flush a version's files to disk before a pointer names it (a power cut must not leave
    CURRENT naming empty files)."""
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    if sys.platform == "win32":  # no directory handles to flush; NTFS journals the rename
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def pause_point(name: str) -> None:
    """A named step of another writer of versions (``index update``), for the same tests."""
    _step(name)


def _step(name: str) -> None:
    """A named step of a build; tests pause a build here (``PAUSE_ENV``) to kill it."""
    if os.environ.get(PAUSE_ENV) == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(PAUSE_S)
