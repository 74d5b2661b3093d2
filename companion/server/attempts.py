"""Failed pairing attempts slow the next ones: a few are free, then each failure locks pairing
for twice as long as the one before, up to a cap. An approval starts afresh.

Without it, anything on this computer could keep putting pairing questions in front of the user
until one is answered carelessly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

FREE_FAILURES = 3  # a mistyped code or two costs nothing
FIRST_LOCK_S = 10.0
MAX_LOCK_S = 300.0


@dataclass
class Attempts:
    free: int = FREE_FAILURES
    first_lock_s: float = FIRST_LOCK_S
    max_lock_s: float = MAX_LOCK_S
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    _open_at: float = field(default=0.0, init=False)

    def wait_s(self) -> float:
        """Seconds until pairing may be asked again; 0 when it may now."""
        return max(0.0, self._open_at - self.clock())

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.free:
            lock = self.first_lock_s * 2 ** min(self.failures - self.free, 30)
            self._open_at = self.clock() + min(lock, self.max_lock_s)

    def succeeded(self) -> None:
        self.failures = 0
        self._open_at = 0.0
