"""experta 1.9.4 as rm-advisor uses it: imported here, with its two repairs, and nowhere else.

* Its pinned ``frozendict==1.2`` subclasses ``collections.Mapping``, removed in Python 3.10. The
  missing ``collections`` aliases are added for the time of the import only and removed again, so
  a host application's ``collections`` module is left as it was (frozendict reads them only when
  its class statement runs).
* Importing experta calls ``logging.basicConfig()``; the root logger's handlers and level are
  restored right after, so a host application keeps its own logging set-up.
* ``DepthStrategy`` can fail to remove a cancelled activation when several share one key, so a
  rule may fire on a retracted fact, twice, or despite a ``NOT``; :class:`SafeDepthStrategy`
  searches the whole run of equal keys (reproduction: ``tests/engine/inference/agenda_repro.py``).

Only :mod:`engine.inference.chaining` imports this module; the layers test keeps it that way.
"""

from __future__ import annotations

import bisect
import collections
import collections.abc
import logging
from collections.abc import Iterable
from typing import Any

_ALIASES = ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet", "Iterable",
            "Iterator", "Hashable", "Callable", "Sized", "Container")


def _import_experta() -> Any:
    added = [n for n in _ALIASES if not hasattr(collections, n)]
    for name in added:
        setattr(collections, name, getattr(collections.abc, name))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import experta
        import experta.strategies
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in added:
            delattr(collections, name)
    return experta


_experta = _import_experta()
MATCH: Any = _experta.MATCH
NOT: Any = _experta.NOT
Fact: Any = _experta.Fact
KnowledgeEngine: Any = _experta.KnowledgeEngine
Rule: Any = _experta.Rule
DepthStrategy: Any = _experta.strategies.DepthStrategy


class SafeDepthStrategy(DepthStrategy):
    """experta's depth strategy with a correct removal of cancelled activations."""

    def _update_agenda(self, agenda: Any, added: Iterable[Any], removed: Iterable[Any]) -> None:
        acts = agenda.activations
        for act in removed:
            act.key = self.get_key(act)
            lo, hi = bisect.bisect_left(acts, act), bisect.bisect_right(acts, act)
            for i in range(lo, hi):
                if acts[i] == act:
                    del acts[i]
                    break
        for act in added:
            act.key = self.get_key(act)
            bisect.insort(acts, act)
