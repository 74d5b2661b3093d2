"""In CI (SHOP_THE_LOOK_STRICT_SKIPS=1) a skipped test fails the run; locally it does not."""

from __future__ import annotations

import pytest

from tests.support.data import REPO

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

def test_runs():
    assert True

def test_needs_firefox():
    pytest.skip("firefox-esr is not installed")
"""
SKIPPED_MODULE = """
import pytest
pytest.skip("../shared/data/faces is missing", allow_module_level=True)

def test_never_runs():
    pass
"""


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str,
        strict: bool) -> pytest.RunResult:
    pytester.makepyfile(test_inner=source)
    pytester.makeconftest('pytest_plugins = ["tests.support.strict_skips"]')
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    if strict:
        monkeypatch.setenv("SHOP_THE_LOOK_STRICT_SKIPS", "1")
    else:
        monkeypatch.delenv("SHOP_THE_LOOK_STRICT_SKIPS", raising=False)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def test_a_skipped_test_fails_the_run_in_strict_mode_and_names_its_reason(pytester, monkeypatch):
    result = run(pytester, monkeypatch, SKIPPING, strict=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 unexpected skip(s)*", "*firefox-esr is not installed*"])


def test_a_module_skipped_at_collection_fails_the_run_in_strict_mode(pytester, monkeypatch):
    result = run(pytester, monkeypatch, SKIPPED_MODULE, strict=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*../shared/data/faces is missing*"])


def test_skips_are_allowed_outside_strict_mode(pytester, monkeypatch):
    result = run(pytester, monkeypatch, SKIPPING, strict=False)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)
