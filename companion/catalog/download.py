"""Product photos from the web, fetched at build time only: concurrently, politely, once.

``index build`` starts ``Downloads`` of every http(s) image_link it needs before embedding
anything, and embeds each batch as soon as its photos are in, while the others still arrive;
``index update`` waits for them all (``download_images``). Nothing at runtime (``serve``,
``look``) imports a caller of either, so a running companion opens no outbound connection.

Each host gets a few connections at a time; each try has a timeout; a timeout, a dropped or
cut-short answer, 408, 429 and 5xx are tried again after a growing, jittered pause (Retry-After
honoured); an answer over the size cap, or one that is not an image (an HTML error page served
with 200), is refused at once.

Images land in an ``ImageCache`` keyed by URL that keeps each answer's ETag and Last-Modified, so
the next build asks "changed since?" (If-None-Match / If-Modified-Since) and a 304 costs no
download. When a photo that was fetched before cannot be fetched now for a passing reason (a
timeout, a 5xx), the cached copy is used and the result says it is ``stale``; a 404 is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from companion.progress import Progress
from companion.server.sniff import looks_like_image

USER_AGENT = "shop-the-look-indexer/1 (catalog build)"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0
CHUNK = 64 * 1024


@dataclass(frozen=True)
class DownloadPolicy:
    """How hard to try, and how much to accept."""

    per_host: int = 8  # connections at a time to one host
    connections: int = 64  # at a time in all
    timeout_s: float = 30.0  # one try, from sending the request to the answer's last byte
    connect_timeout_s: float = 10.0
    retries: int = 3  # tries after the first
    backoff_s: float = 0.5  # the pause before the first retry; doubled each time, jittered
    max_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """What became of one URL: its cached copy, or why there is none."""

    url: str
    path: Path | None = None  # the cached image; None when there is no usable copy
    problem: str = ""
    downloaded: bool = False  # False: the cached copy was still current (304) or stale
    stale: bool = False  # the URL failed for a passing reason; ``path`` is the earlier copy
    sha256: str = ""  # of the image's bytes: tells whether an image changed

    def discard(self) -> None:
        """Forget a copy the decoder refused, so the next build downloads it again."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class ImageCache:
    """Downloaded images by URL: ``<sha256(url)>.img`` and its ``.json`` (validators, sha256).

    Files are written to a temporary name and moved into place, so a killed build leaves no
    half-written image behind a valid entry.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, url: str) -> Path:
        name = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.folder / name[:2] / f"{name}.img"

    def entry(self, url: str) -> dict | None:
        """The cached answer's metadata, or None when there is no complete copy."""
        path = self.path_of(url)
        try:
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            if meta.get("url") != url or path.stat().st_size != meta.get("size"):
                return None
        except (OSError, ValueError, AttributeError):
            return None
        return meta

    def store(self, url: str, data: bytes, etag: str, last_modified: str) -> Fetched:
        path = self.path_of(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(data).hexdigest()
        meta = {"url": url, "etag": etag, "last_modified": last_modified, "size": len(data),
                "sha256": digest}
        _write_atomically(path, data)
        _write_atomically(path.with_suffix(".json"), json.dumps(meta).encode("utf-8"))
        return Fetched(url, path, downloaded=True, sha256=digest)


class Downloads:
    """Every URL downloading at once, in a thread of its own (an asyncio loop): ``get(url)``
    waits for that URL only, so a build embeds its first photos while the rest still arrive."""

    def __init__(self, urls: Iterable[str], cache: ImageCache,
                 policy: DownloadPolicy | None = None, progress: Progress | None = None) -> None:
        self.urls = list(dict.fromkeys(urls))
        self.done = 0
        self._fetched: dict[str, Fetched] = {}
        self._ready = {url: threading.Event() for url in self.urls}
        self._error: BaseException | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, args=(cache, policy or DownloadPolicy(), progress),
            name="image-downloads", daemon=True)
        if self.urls:
            self._thread.start()

    def get(self, url: str) -> Fetched | None:
        """What became of ``url`` once it is done; None for a URL not asked for."""
        ready = self._ready.get(url)
        if ready is None:
            return None
        ready.wait()
        if url not in self._fetched:
            raise self._error or RuntimeError("the downloads stopped")
        return self._fetched[url]

    def wait(self) -> dict[str, Fetched]:
        """Every URL's result, once all are done."""
        if self._thread.is_alive():
            self._thread.join()
        if self._error is not None:
            raise self._error
        return dict(self._fetched)

    def status(self) -> str:
        """"photos 812/9267 downloaded" while downloads run: for the build's progress bar."""
        if not self.urls or self.done == len(self.urls):
            return ""
        return f"photos {self.done}/{len(self.urls)} downloaded"

    def close(self) -> None:
        """Stop whatever is still downloading (a build that failed) and end the thread."""
        self._closing = True
        loop, task = self._loop, self._task
        if self._thread.is_alive() and loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile: nothing to stop
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> Downloads:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, cache: ImageCache, policy: DownloadPolicy, progress: Progress | None) -> None:
        try:
            asyncio.run(self._main(cache, policy, progress))
        except asyncio.CancelledError:
            self._error = RuntimeError("the downloads were stopped")
        except BaseException as exc:  # handed to whoever waits
            self._error = exc
        finally:
            for ready in self._ready.values():
                ready.set()

    async def _main(self, cache: ImageCache, policy: DownloadPolicy,
                    progress: Progress | None) -> None:
        self._task, self._loop = asyncio.current_task(), asyncio.get_running_loop()
        if self._closing:  # closed before the loop ran: ``close`` could not cancel it
            return
        await _download_all(self.urls, cache, policy, progress, self._finished)

    def _finished(self, fetched: Fetched) -> None:
        self._fetched[fetched.url] = fetched
        self.done += 1
        self._ready[fetched.url].set()


def download_images(urls: Iterable[str], cache: ImageCache, policy: DownloadPolicy | None = None,
                    progress: Progress | None = None) -> dict[str, Fetched]:
    """Fetch every URL (each once) into ``cache``; URL → what became of it."""
    with Downloads(urls, cache, policy, progress) as downloads:
        return downloads.wait()


def download_summary(fetched: dict[str, Fetched]) -> str:
    """"images: 3 downloaded, 97 unchanged, 1 stale, 2 failed" ("" when nothing was remote)."""
    if not fetched:
        return ""
    results = fetched.values()
    counts = {
        "downloaded": sum(1 for f in results if f.downloaded),
        "unchanged": sum(1 for f in results if f.path and not f.downloaded and not f.stale),
        "stale": sum(1 for f in results if f.stale),
        "failed": sum(1 for f in results if f.path is None),
    }
    return "images: " + ", ".join(f"{n} {what}" for what, n in counts.items() if n or
                                  what in ("downloaded", "unchanged"))


async def _download_all(urls: list[str], cache: ImageCache, policy: DownloadPolicy,
                        progress: Progress | None, done: Callable[[Fetched], None]) -> None:
    hosts: dict[str, asyncio.Semaphore] = {}
    everyone = asyncio.Semaphore(policy.connections)
    connector = aiohttp.TCPConnector(limit=policy.connections, limit_per_host=policy.per_host)
    timeout = aiohttp.ClientTimeout(total=policy.timeout_s, sock_connect=policy.connect_timeout_s)
    # trust_env: HTTP(S)_PROXY and NO_PROXY apply, as they did for urllib before.
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=True,
                                     headers={"User-Agent": USER_AGENT}) as session:

        async def one(url: str) -> Fetched:
            # Our own limits, taken before aiohttp's: its timeout would count a wait for a slot.
            host = hosts.setdefault(_host(url), asyncio.Semaphore(policy.per_host))
            async with host, everyone:
                fetched = await _fetch(session, url, cache, policy)
            done(fetched)
            if progress is not None:
                progress.advance()

        await asyncio.gather(*(one(url) for url in urls))


class _Refused(Exception):
    """An answer not worth trying again (too large, not an image, 404)."""


class _Passing(Exception):
    """A failure worth trying again; ``retry_after`` from the server, when it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


async def _fetch(session: aiohttp.ClientSession, url: str, cache: ImageCache,
                 policy: DownloadPolicy) -> Fetched:
    cached = cache.entry(url)
    headers = {}
    if cached and cached.get("etag"):
        headers["If-None-Match"] = cached["etag"]
    if cached and cached.get("last_modified"):
        headers["If-Modified-Since"] = cached["last_modified"]
    problem = ""
    for attempt in range(policy.retries + 1):
        try:
            return await _try(session, url, headers, cache, cached, policy)
        except _Refused as exc:
            return Fetched(url, problem=str(exc))
        except ValueError as exc:  # yarl and the IDNA codec refuse some URLs outright
            return Fetched(url, problem=f"not a valid URL ({exc})")
        except _Passing as exc:
            problem, pause = str(exc), exc.retry_after
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem, pause = _describe(exc, policy), None
        if attempt < policy.retries:
            backoff = policy.backoff_s * 2**attempt * random.uniform(0.5, 1.5)
            await asyncio.sleep(min(pause, MAX_RETRY_AFTER_S) if pause is not None else backoff)
    tries = policy.retries + 1
    if cached:
        return Fetched(url, cache.path_of(url), problem=f"{problem} ({tries} tries)", stale=True,
                       sha256=cached.get("sha256", ""))
    return Fetched(url, problem=f"{problem} ({tries} {'try' if tries == 1 else 'tries'})")


async def _try(session: aiohttp.ClientSession, url: str, headers: dict[str, str],
               cache: ImageCache, cached: dict | None, policy: DownloadPolicy) -> Fetched:
    async with session.get(url, headers=headers) as response:
        if response.status == 304 and cached:
            return Fetched(url, cache.path_of(url), sha256=cached.get("sha256", ""))
        if response.status in RETRY_STATUSES:
            raise _Passing(f"HTTP {response.status} {response.reason or ''}".strip(),
                           _retry_after(response.headers.get("Retry-After")))
        if response.status != 200:
            raise _Refused(f"HTTP {response.status} {response.reason or ''}".strip())
        if (response.content_length or 0) > policy.max_bytes:
            raise _Refused(f"larger than {policy.max_bytes // (1024 * 1024)} MiB "
                           f"({response.content_length} bytes)")
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            data += chunk
            if len(data) > policy.max_bytes:
                raise _Refused(f"larger than {policy.max_bytes // (1024 * 1024)} MiB")
        if not looks_like_image(bytes(data[:16])):
            kind = response.headers.get("Content-Type", "no Content-Type")
            raise _Refused(f"not an image (a {kind} answer of {len(data)} bytes)")
        return cache.store(url, bytes(data), response.headers.get("ETag", ""),
                           response.headers.get("Last-Modified", ""))


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:  # not a valid URL: ``_fetch`` says so
        return ""


def _describe(exc: BaseException, policy: DownloadPolicy) -> str:
    if isinstance(exc, TimeoutError):
        return f"no complete answer within {policy.timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut short"
    return f"{type(exc).__name__}: {exc}"[:200]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the date form counts as a plain backoff)."""
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
