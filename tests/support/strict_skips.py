"""CI fails on any skip: a skipped test there means a missing browser, package or data folder.

Locally a skip is fine (no Firefox on a laptop). ``scripts/test.sh`` sets
``SHOP_THE_LOOK_STRICT_SKIPS=1``, and then a run with even one skip (a test, or a whole module
skipped at collection) ends with exit status 1 and names each skip with its reason.
"""

from __future__ import annotations

import os

import pytest

STRICT_ENV = "SHOP_THE_LOOK_STRICT_SKIPS"


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (file, line, "Skipped: reason")
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not strict():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if not skipped:
        return
    lines = [f"  {report.nodeid}: {_skip_reason(report)}" for report in skipped]
    if reporter is not None:
        reporter.write_sep("=", f"{len(skipped)} unexpected skip(s) ({STRICT_ENV}=1)", red=True)
        for line in lines:
            reporter.write_line(line)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
