"""experta's agenda bug, reproduced: 50 rules of equal salience on one fact, every 5th also needs
NOT(Block()); Block is declared. Prints the ids of the rules that fired, as JSON.

Run as ``python -m tests.engine.inference.agenda_repro stock|safe``; the outcome of the stock strategy
depends on hash order, so the tests run it under fixed PYTHONHASHSEED values.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rm_advisor.engine.inference._experta import (
    MATCH,
    NOT,
    DepthStrategy,
    Fact,
    KnowledgeEngine,
    Rule,
    SafeDepthStrategy,
)


class Client(Fact):
    pass


class Block(Fact):
    pass


def fired_rules(strategy: type) -> list[int]:
    def make(i: int) -> Callable[..., None]:
        def fire(self: Any, **kw: Any) -> None:
            self.fired.append(i)
        return fire
    attrs: dict[str, Any] = {"__strategy__": strategy}
    for i in range(50):
        patterns = [Client(id=MATCH.c)] + ([NOT(Block(id=MATCH.c))] if i % 5 == 0 else [])
        attrs[f"r{i}"] = Rule(*patterns)(make(i))
    engine = type("E", (KnowledgeEngine,), attrs)()
    fired: list[int] = []
    engine.fired = fired
    engine.reset()
    engine.declare(Client(id=1))
    engine.declare(Block(id=1))
    engine.run()
    return fired


if __name__ == "__main__":
    print(json.dumps(fired_rules(SafeDepthStrategy if sys.argv[1] == "safe" else DepthStrategy)))
