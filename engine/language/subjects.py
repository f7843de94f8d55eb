"""Which fact a rule speaks about: a subject key is a fact type and an id, ``client:T-1`` as text.

Inside the engine keys are :class:`SubjectKey` values; they become text only where a person or
another program reads them (a decision's traces, the decision log, scenario files, the CLI).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class SubjectKey(NamedTuple):
    """A fact type (``client``, ``manager``, ``interaction`` ...) and the id of one such fact."""

    type: str
    id: str

    @classmethod
    def of(cls, fact_type: str, fact_id: Any) -> SubjectKey:
        """The key of fact ``fact_id`` (ids may arrive as numbers from a table) of ``fact_type``."""
        return cls(fact_type, str(fact_id))

    @classmethod
    def parse(cls, text: str) -> SubjectKey:
        """``client:T-1`` → ``SubjectKey("client", "T-1")``; the id may itself contain ``:``.

        Raises ValueError when ``text`` has no type or no id.
        """
        fact_type, sep, fact_id = text.partition(":")
        if not sep or not fact_type or not fact_id:
            raise ValueError(f"a subject is written type:id, e.g. client:T-1 (got {text!r})")
        return cls(fact_type, fact_id)

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"
