"""Old import path, kept until its last callers (scripts/, training/, a few tests; listed in
notes/api_changes.md) move to the new one; then it goes.
New code: companion.types."""

from companion.types import *  # noqa: F403
