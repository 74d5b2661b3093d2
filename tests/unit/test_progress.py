"""Long work shows a progress bar with a count, a rate and an ETA."""

from __future__ import annotations

import io
import re

from companion.progress import Progress


def test_the_progress_line_has_count_rate_and_eta():
    stream = io.StringIO()
    with Progress(200, "Indexing", stream=stream) as bar:
        for _ in range(50):
            bar.advance()
        line = bar.line()
    assert "50/200 images" in line
    assert re.search(r"\d+(\.\d)?/s", line)
    assert re.search(r"ETA \d+:\d\d", line)


def test_the_final_line_is_written_when_done():
    stream = io.StringIO()
    with Progress(3, "Work", unit="steps", stream=stream) as bar:
        bar.advance(3)
    assert "3/3 steps" in stream.getvalue().splitlines()[-1]


def test_the_line_ends_with_what_other_work_is_doing_while_it_has_something_to_say():
    said = ["photos 300/900 downloaded"]
    bar = Progress(900, "Indexing", stream=io.StringIO(), detail=lambda: said[0])
    bar.advance(100)
    assert bar.line().endswith("; photos 300/900 downloaded")
    said[0] = ""
    assert ";" not in bar.line()
