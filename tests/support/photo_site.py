"""A local web site for the browser tests: one page showing street photos as an <img>, as a
CSS background image and through a blob: URL, plus an area with no picture at all."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.data import STREET

IMG_PHOTO, BACKGROUND_PHOTO = "ccp_0003.jpg", "ccp_0010.jpg"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Street style</title></head>
<body style="margin:0">
  <img id="photo" src="/images/{img}" width="240" alt="street photo">
  <div id="backdrop" style="width:240px;height:360px;background-image:url('/images/{bg}');
       background-size:cover"></div>
  <img id="blobbed" width="240" alt="a photo behind a blob: URL">
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
            body = PAGE.format(img=IMG_PHOTO, bg=BACKGROUND_PHOTO).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/images/"):
            super().do_GET()
        else:
            self.send_error(404)

    def log_message(self, *args) -> None:
        pass


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
