"""The rules pairing follows, without a server: which Origins may ask, what counts as the code,
and how failed attempts slow the next ones."""

from __future__ import annotations

import pytest

from companion.errors import ErrorCode
from companion.server.attempts import Attempts
from companion.server.origins import origin_problem
from companion.server.pairing import PairingRequest

CHROME = "chrome-extension://knhekecfkhfdgpmjaboemjdidiipffjc"
FIREFOX = "moz-extension://0b5e1c2d-1111-4222-8333-944455556666"
SAFARI = "safari-web-extension://0B5E1C2D-1111-4222-8333-944455556666"


@pytest.mark.parametrize("origin", [CHROME, FIREFOX, SAFARI])
def test_an_extension_origin_of_the_exact_form_may_pair(origin):
    assert origin_problem(origin) is None


@pytest.mark.parametrize("origin", [
    CHROME.replace("a", "\u0430", 1),  # Cyrillic а
    CHROME.replace("e", "\u0435", 1),  # Cyrillic е, in the scheme
    CHROME[:-1] + "\u200b",  # a zero-width space for the last letter
    CHROME + "\n", CHROME + "/", CHROME + ":443", " " + CHROME,
    CHROME[:-1] + "q",  # q is past Chrome's alphabet (a–p)
    CHROME.upper(), CHROME[:-1], "chrome-extension://" + "\x1b[31m" + CHROME[19:],
    FIREFOX.upper(), "moz-extension://" + FIREFOX[16:].replace("-", ""), SAFARI.lower(), "moz-extension://",
    "\u009b" + CHROME,  # a C1 control (CSI) in front
])
def test_an_origin_that_only_looks_like_an_extensions_is_malformed(origin):
    assert origin_problem(origin) == ErrorCode.ORIGIN_MALFORMED


@pytest.mark.parametrize("origin", ["https://shop.example", "null", "", "file://"])
def test_any_other_origin_is_forbidden(origin):
    assert origin_problem(origin) == ErrorCode.ORIGIN_FORBIDDEN


def test_a_pairing_request_exists_only_for_an_extension_origin():
    with pytest.raises(ValueError):
        PairingRequest(CHROME.replace("a", "\u0430", 1), "123456")


@pytest.mark.parametrize(("typed", "matches"), [
    ("123456", True), ("123 456", True), (" 123456 \r", True), ("1 2 3 4 5 6", True),
    ("y", False), ("yes", False), ("", False), ("123457", False), ("1234567", False),
    ("12345", False), ("１２３４５６", False),  # fullwidth digits are not the code
])
def test_only_the_code_itself_matches(typed, matches):
    assert PairingRequest(CHROME, "123456").matches(typed) is matches


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_few_failures_are_free_then_each_locks_twice_as_long_up_to_a_cap():
    clock = Clock()
    attempts = Attempts(free=3, first_lock_s=10, max_lock_s=60, clock=clock)
    attempts.failed()
    attempts.failed()
    assert attempts.wait_s() == 0
    locks = []
    for _ in range(5):
        attempts.failed()
        locks.append(attempts.wait_s())
        clock.now += attempts.wait_s()  # the caller waits it out, then fails again
        assert attempts.wait_s() == 0
    assert locks == [10, 20, 40, 60, 60]


def test_an_approval_starts_afresh():
    clock = Clock()
    attempts = Attempts(free=3, first_lock_s=10, clock=clock)
    for _ in range(3):
        attempts.failed()
    assert attempts.wait_s() == 10
    clock.now += 10
    attempts.succeeded()
    attempts.failed()
    assert attempts.wait_s() == 0


def test_endless_failures_never_overflow():
    attempts = Attempts(free=1, first_lock_s=10, max_lock_s=300)
    for _ in range(5000):
        attempts.failed()
    assert 0 < attempts.wait_s() <= 300
