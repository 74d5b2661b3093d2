"""Product photos on a CDN: downloaded at build time, concurrently within per-host limits, tried
again when the failure may pass, refused when too large or not an image, each failure a problem
on its feed line, and asked for again only as "changed since?" by the next build."""

from __future__ import annotations

import io
import itertools
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from companion.catalog.build import build_index
from companion.catalog.download import DownloadPolicy, ImageCache, download_images
from companion.catalog.index import CatalogIndex
from companion.inference.embedder import Embedder
from companion.pipeline.decode import decode_image
from companion.progress import Progress
from tests.support.data import CATALOG, requires_data
from tests.support.image_server import ImageServer

GOOD = ("1530", "1566", "1609", "1610")  # catalog photos the CDN serves well
HEADER = "id\ttitle\tlink\timage_link\tproduct_type\tgender\tprice\n"
# Short enough for a test, long enough for a loaded 2-core machine's loopback.
POLICY = DownloadPolicy(timeout_s=2.0, retries=2, backoff_s=0.05, max_bytes=1024 * 1024)


@pytest.fixture
def cdn(tmp_path):
    photos = tmp_path / "cdn"
    photos.mkdir()
    for product_id in GOOD:
        shutil.copy(CATALOG / "images" / f"{product_id}.jpg", photos / f"{product_id}.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 a JPEG header, then nothing")
    with ImageServer(photos, slow_s=5.0, huge_bytes=2 * 1024 * 1024) as server:
        yield server


def write_feed(folder: Path, links: list[tuple[str, str]]) -> Path:
    """One row per (id, image URL), from line 2 on."""
    feed = folder / "feed.tsv"
    feed.write_text(HEADER + "".join(
        f"{pid}\tProduct {pid}\thttps://shop.example/{pid}\t{link}\tApparel > Topwear > Shirts"
        "\tmale\t9.99 EUR\n" for pid, link in links), encoding="utf-8")
    return feed


def path_of(url: str) -> str:
    return urlsplit(url).path


@requires_data
def test_each_bad_answer_is_a_problem_on_its_line_and_nothing_else_is_lost(tmp_path, cdn, store):
    bad = {  # id → (the CDN's answer, what the problem says)
        "b404": ("status/404/1530.jpg", "HTTP 404 Not Found"),
        "b500": ("status/500/1530.jpg", "HTTP 500 Internal Server Error (3 tries)"),
        "slow": ("slow/1530.jpg", "no complete answer within 2 s (3 tries)"),
        "half": ("truncated/1530.jpg", "the answer was cut short (3 tries)"),
        "huge": ("huge/1530.jpg", "larger than 1 MiB (2097152 bytes)"),
        "hug2": ("huge-chunked/1530.jpg", "larger than 1 MiB"),
        "html": ("html/1530.jpg", "not an image (a text/html answer of 77 bytes)"),
        "brok": ("img/broken.jpg", "image of brok unreadable: "),
    }
    links = [(pid, cdn.url(f"{pid}.jpg")) for pid in GOOD]
    links.insert(2, ("flky", cdn.url("1566.jpg", "flaky/2")))
    for pid, (route, _) in bad.items():
        links.insert(1 + len(links) // 2, (pid, f"http://127.0.0.1:{cdn.port}/{route}"))
    feed = write_feed(tmp_path, links)
    out = tmp_path / "index"
    embedder = Embedder(store)
    report = build_index(feed, out, embedder, show_progress=False, download=POLICY)

    assert report.indexed == len(GOOD) + 1, "every good photo indexed, the flaky one included"
    line_of = {pid: line for line, (pid, _) in enumerate(links, start=2)}
    problems = {p.line: p.message for p in report.problems}
    assert set(problems) == {line_of[pid] for pid in bad}
    for pid, (_, message) in bad.items():
        assert problems[line_of[pid]].startswith(
            message if pid == "brok" else f"image of {pid} unreadable: {message}"), pid
    assert [e.status for e in cdn.requests_for("/flaky/2/1566.jpg")] == [503, 503, 200]
    assert len(cdn.requests_for("/status/500/1530.jpg")) == 3, "a 5xx is tried again"
    for route in ("status/404/1530.jpg", "huge/1530.jpg", "html/1530.jpg"):
        assert len(cdn.requests_for(f"/{route}")) == 1, f"{route}: refused at once"
    index = CatalogIndex(out)
    product = index.product("1609")
    assert Path(product["image_path"]).is_relative_to(out / "image-cache")
    photo = decode_image((CATALOG / "images" / "1609.jpg").read_bytes()).pixels
    (match,) = index.search("topwear", embedder.predict([photo])[0], 1)
    assert (match.id, match.score) == ("1609", 1.0), "the served photo is the one embedded"


@requires_data
def test_a_second_build_downloads_only_the_photo_that_changed(tmp_path, cdn, store):
    links = [(pid, cdn.url(f"{pid}.jpg")) for pid in GOOD] + [("brok", cdn.url("broken.jpg"))]
    feed = write_feed(tmp_path, links)
    out, embedder = tmp_path / "index", Embedder(store)
    first = build_index(feed, out, embedder, show_progress=False, download=POLICY)
    assert first.downloads == "images: 5 downloaded, 0 unchanged"
    assert len(cdn.downloads()) == 5
    cdn.log.clear()

    second = build_index(feed, out, embedder, show_progress=False, download=POLICY)
    assert second.downloads == "images: 1 downloaded, 4 unchanged"
    assert sorted((e.path, e.conditional, e.status) for e in cdn.log) == sorted([
        *((f"/img/{pid}.jpg", True, 304) for pid in GOOD),
        ("/img/broken.jpg", False, 200)]), "only the photo that failed to decode comes again"
    cdn.log.clear()

    cdn.replace("1610.jpg", (CATALOG / "images" / "1530.jpg").read_bytes())
    third = build_index(feed, out, embedder, show_progress=False, download=POLICY)
    assert [e.path for e in cdn.downloads() if "broken" not in e.path] == ["/img/1610.jpg"]
    assert third.downloads == "images: 2 downloaded, 3 unchanged"
    photo = decode_image((CATALOG / "images" / "1530.jpg").read_bytes()).pixels
    found = CatalogIndex(out).search("topwear", embedder.predict([photo])[0], 2)
    assert sorted(m.id for m in found) == ["1530", "1610"], "1610 now shows 1530's photo"


def test_downloads_keep_to_the_per_host_limit_and_hosts_do_not_wait_for_each_other(tmp_path):
    photos = tmp_path / "cdn"
    shutil.copytree(CATALOG / "images", photos, ignore=lambda _d, names: [
        n for n in names if n not in {f"{pid}.jpg" for pid in GOOD}])
    with ImageServer(photos, delay_s=0.1) as cdn:
        urls = [cdn.url(f"{pid}.jpg", host=host) + f"?copy={i}" for pid in GOOD
                for host in ("127.0.0.1", "localhost") for i in range(6)]
        stream = io.StringIO()
        with Progress(len(urls), "Downloading", stream=stream) as progress:
            got = download_images(urls, ImageCache(tmp_path / "cache"),
                                  DownloadPolicy(per_host=3, timeout_s=10), progress)
        assert all(f.downloaded and f.path is not None for f in got.values())
        assert sorted(cdn.most_in_flight.values()) == [3, 3], cdn.most_in_flight
    final = stream.getvalue().strip().splitlines()[-1]
    assert final.startswith("Downloading ") and "48/48 images" in final
    assert "/s," in final and "ETA 0:00" in final, "a rate and an ETA"


def test_retries_wait_longer_each_time(tmp_path):
    with ImageServer(tmp_path) as cdn:
        url = cdn.url("x.jpg", "status/503")
        policy = DownloadPolicy(retries=3, backoff_s=0.2, timeout_s=5)
        (fetched,) = download_images([url], ImageCache(tmp_path / "cache"), policy).values()
        times = [e.at for e in cdn.requests_for(path_of(url))]
    assert fetched.path is None and fetched.problem.endswith("(4 tries)")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # 0.2, 0.4, 0.8 s, each jittered by ×0.5…1.5
    assert len(gaps) == 3 and gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, gaps


@requires_data
def test_a_passing_failure_keeps_the_earlier_copy_and_a_404_does_not(tmp_path, cdn):
    cache, url = ImageCache(tmp_path / "cache"), cdn.url("1530.jpg")
    (first,) = download_images([url], cache, POLICY).values()
    cdn.answer_with("1530.jpg", 503)  # the CDN has a bad minute
    (stale,) = download_images([url], cache, POLICY).values()
    assert stale.stale and not stale.downloaded
    assert (stale.path, stale.sha256) == (first.path, first.sha256)
    assert stale.problem == "HTTP 503 Service Unavailable (3 tries)"
    cdn.answer_with("1530.jpg", 404)  # the photo is gone for good
    (gone,) = download_images([url], cache, POLICY).values()
    assert gone.path is None and gone.problem == "HTTP 404 Not Found"


class FailingEmbedder(Embedder):
    """Dies at its first batch, like a build stopped with Ctrl-C."""

    def embed(self, crops):
        raise KeyboardInterrupt


@requires_data
def test_a_build_that_fails_stops_its_downloads(tmp_path, cdn, store):
    cdn.delay_s = 0.05
    links = [(f"p{i}", cdn.url("1530.jpg") + f"?copy={i}") for i in range(200)]
    feed = write_feed(tmp_path, links)
    policy = DownloadPolicy(per_host=2, timeout_s=10)
    with pytest.raises(KeyboardInterrupt):
        build_index(feed, tmp_path / "index", FailingEmbedder(store), show_progress=False,
                    download=policy)
    assert not [t for t in threading.enumerate() if t.name == "image-downloads"]
    asked = len(cdn.log)
    assert 64 <= asked < 200, "the first batch's photos came; the rest were never asked for"


@requires_data
def test_a_malformed_url_is_a_problem_of_its_own(tmp_path, cdn):
    good = cdn.url("1530.jpg")
    got = download_images([good, "http://[::1/x.jpg", "http://xn--/x.jpg"],
                          ImageCache(tmp_path / "cache"), POLICY)
    assert got[good].downloaded
    assert got["http://[::1/x.jpg"].problem.startswith("not a valid URL")
    assert got["http://xn--/x.jpg"].problem.startswith("not a valid URL")
