"""The store's errors: a request the decision log or the feedback store refuses, a database that
cannot be used.

Both are :class:`~rm_advisor.engine.errors.AdvisorError` values with coded diagnostics, so an API
route or a CLI command handles them as it handles the engine's. Their codes (``decision_not_found``,
``feedback_duplicate``, ``store_unavailable``...) are listed with every other code in
``engine/errors.py:CODE_GROUPS`` (group "decision log and feedback (store/)"), from which
docs/error-codes.md is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from rm_advisor.engine.errors import AdvisorError, Diagnostic, Location


class StoreError(AdvisorError):
    """The decision log or the feedback store refused a request (unknown decision, duplicate
    feedback, bad reason code...) or the database cannot be used."""

    code = "store_error"


@dataclass(frozen=True)
class Cause:
    """Why the database cannot be used: a stable class and a text fit for an answer to a client
    (:func:`store.database.cause_of` tells it from a driver's error)."""

    kind: str
    text: str

    @property
    def hint(self) -> str:
        return _HINTS.get(self.kind, "see the server log")


_HINTS = {
    "disk_full": "free space on the database's disk (or raise its quota); the server recovers by itself",
    "read_only": "the database or its file is read-only: check permissions, the mount, or a standby server",
    "locked": "another process holds the database's write lock; it is retried, or see what holds it",
    "unreachable": "the database server or file cannot be reached: check that it runs and the network",
    "refused": "the database refused the server's credentials or permissions",
    "io_error": "the database's storage reports an I/O error: check the disk",
}


class Unusable(StoreError):
    """The database answers no connection or takes no write; ``cause`` says why (no secrets)."""

    def __init__(self, cause: Cause, doing: str):
        self.cause = cause
        super().__init__([Diagnostic("store_unavailable", f"the decision database cannot {doing}: {cause.text}",
                                     Location(path="database"), hint=cause.hint)])
