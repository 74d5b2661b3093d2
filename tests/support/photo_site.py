"""A local web site for the browser tests: one page showing street photos as an <img>, as a
CSS background image and through a blob: URL, a 16 x 16 icon too small to shop, plus an area
with no picture at all."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

from tests.support.data import STREET

IMG_PHOTO, BACKGROUND_PHOTO = "ccp_0003.jpg", "ccp_0010.jpg"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Street style</title></head>
<body style="margin:0">
  <img id="photo" src="/images/{img}" width="240" alt="street photo">
  <div id="backdrop" style="width:240px;height:360px;background-image:url('/images/{bg}');
       background-size:cover"></div>
  <img id="blobbed" width="240" alt="a photo behind a blob: URL">
  <img id="icon" src="/icon.png" width="16" height="16" alt="an icon">
  <div id="blank" style="width:240px;height:80px">no picture here</div>
  <script>
    fetch("/images/{img}").then(r => r.blob()).then(b => {{
      document.getElementById("blobbed").src = URL.createObjectURL(b);
    }});
  </script>
</body></html>
"""


class Site(http.server.SimpleHTTPRequestHandler):
    """The test page at / and the street photos under /images/."""

    def do_GET(self):
        if self.path == "/":
            self._send(PAGE.format(img=IMG_PHOTO, bg=BACKGROUND_PHOTO).encode(),
                       "text/html; charset=utf-8")
        elif self.path == "/icon.png":
            self._send(icon(), "image/png")
        elif self.path.startswith("/images/"):
            super().do_GET()
        else:
            self.send_error(404)

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def icon() -> bytes:
    """A 16 x 16 PNG: a picture far too small to find clothes in."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 60, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@contextmanager
def photo_site() -> Iterator[str]:
    """The site on a free loopback port; yields its base address."""
    handler = functools.partial(Site, directory=str(STREET))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
