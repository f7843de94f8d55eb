"""A serving process and the cyclic garbage collector.

What a server keeps for its whole life (the compiled rule book, the knowledge base, the models'
schemas: about a million objects) would otherwise be scanned by every full collection, which
Python starts when enough objects have survived younger ones: about one decision in a hundred
paid 60–80 ms for it (measured in ``bench/decision_bench.py``, "Speed (measured)" in README.md).
With the ``freeze_gc`` setting the server moves what is alive after start-up out of the
collector's reach (:func:`gc.freeze`), and after a reload collects the previous rule set and
freezes again, so a decision's own garbage is all a collection scans.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what is garbage now (a rule set no longer served, too), then freeze what is still alive."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def release() -> None:
    """Give everything frozen back to the collector (the server stops)."""
    gc.unfreeze()
