"""A feedback writer process for the durability tests (and for trying the store by hand).

    python -m tests.store.writer DB_URL DECISION_ID ITEMS.json STATUS

Records STATUS on each [subject, item] of ITEMS.json, one by one, and prints ``ack SUBJECT ITEM``
after each commit returned (``dup SUBJECT ITEM`` when another writer recorded it first). A line is
printed only once the store acknowledged the write, as an API would answer only then.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rm_advisor.store import FeedbackInput, Store
from rm_advisor.store.errors import StoreError


def main(url: str, decision_id: str, items_file: str, status: str) -> None:
    items = json.loads(Path(items_file).read_text(encoding="utf-8"))
    with Store(url) as store:
        print("ready", flush=True)
        for subject, item in items:
            try:
                store.feedback.add(FeedbackInput(decision_id=decision_id, subject=subject, item=item, status=status))
                print(f"ack {subject} {item}", flush=True)
            except StoreError as exc:
                if exc.diagnostics[0].code != "feedback_duplicate":
                    raise
                print(f"dup {subject} {item}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
