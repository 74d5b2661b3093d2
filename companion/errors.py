"""One error type for everything a user or a client can get wrong, with a stable code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LookError(Exception):
    """An expected failure: ``code`` is machine-readable, ``message`` says what to do next.

    ``status`` is the HTTP status the server answers with.
    """

    code: str
    message: str
    status: int = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}
