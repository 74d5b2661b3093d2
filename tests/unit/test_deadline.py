"""A look's deadline: steps that have not started when it passes do not start."""

from __future__ import annotations

import time

import pytest

from companion.errors import LookError
from companion.pipeline.deadline import Deadline
from companion.pipeline.look import Timer


def test_a_step_does_not_start_after_the_deadline():
    timer = Timer(Deadline.after(0.05))
    with timer.step("people"):
        time.sleep(0.1)  # a step already running is not interrupted
    with pytest.raises(LookError) as caught, timer.step("embed"):
        pytest.fail("the step after the deadline ran")
    assert (caught.value.code, caught.value.status) == ("look_timeout", 503)
    assert "embed" in caught.value.message
    assert "people" in timer.ms and "embed" not in timer.ms


def test_without_a_deadline_every_step_runs():
    timer = Timer()
    with timer.step("people"):
        pass
    assert set(timer.ms) == {"people"}
