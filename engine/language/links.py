"""Links between clients, each part defined once: the semantics of ``linked`` conditions.

A CRM records relations between clients — one guarantees another's loan, two shops have the same
owner, a company is a member of a group, two companies are related — as ``link`` facts
(``knowledge_base/facts.yaml``: ``kind``, ``from_client``, ``to_client``, ``since``). A ``linked``
condition (:mod:`engine.language.rules`) holds for a client when some client at the other end of
one of its links of the given kinds satisfies ``where``:

* **Direction.** ``out`` (the default): the subject is the link's ``from_client`` — it guarantees,
  it is the member, it owns; ``in``: the subject is its ``to_client`` — it is guaranteed, it is the
  group; ``both``: either end (same owner, related company read both ways).
* **Inside ``where``**, ``client.`` is the linked client and ``link.`` the link; signals at its top
  are the linked client's (the Rete network joins on them, as it does for a manager's clients).
* **A missing end.** A link whose other client is not among the facts links to nothing: it never
  counts (a decision sees the clients it is given). A link to the subject itself is ignored.
* **The path.** A decision's trace lists the linked clients that matched under ``related`` by link
  kind, and the explanation shows the path: ``client:G1 —guarantor_of→ client:B7``.

:func:`linked_pairs` is the per-record form, :func:`linked_frame` the batch's; a property test
requires the two to agree (``tests/engine/portfolio/test_bulk.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the batch form loads pandas; the per-record form never does
    import pandas as pd

    from rm_advisor.engine.language.facts import Fact, FactSet
    from rm_advisor.engine.language.rules import Condition, LinkedSpec

#: the fact type of links, and its fields
LINK_FACT = "link"
FROM, TO = "from_client", "to_client"


def linked_pairs(spec: LinkedSpec, fact_set: FactSet, client_id: Any) -> list[tuple[Fact, Fact]]:
    """(link, the client at its other end) for every link of ``spec``'s kinds and direction from the
    client ``client_id``, the other client among the facts; sorted by (other id, link id)."""
    kinds, me = set(spec.kind), str(client_id)
    found: dict[str, tuple[Fact, Fact]] = {}
    for link in _links(fact_set, me, spec.direction):
        if link.get("kind") not in kinds:
            continue
        other_id = link.get(TO) if str(link.get(FROM)) == me and spec.direction != "in" else link.get(FROM)
        if other_id is None or str(other_id) == me:
            continue
        other = fact_set.get("client", other_id)
        if other is not None:
            found[str(link["id"])] = (link, other)
    return sorted(found.values(), key=lambda p: (str(p[1]["id"]), str(p[0]["id"])))


def _links(fact_set: FactSet, me: str, direction: str) -> Iterable[Fact]:
    if direction in ("out", "both"):
        yield from fact_set.related(LINK_FACT, "client", me)
    if direction in ("in", "both"):
        yield from (f for f in fact_set.subjects(LINK_FACT) if str(f.get(TO)) == me)


def linked_frame(spec: LinkedSpec, links: pd.DataFrame | None, clients: pd.Index) -> pd.DataFrame:
    """The batch form of :func:`linked_pairs`: one row per (owner, other, link) with columns ``owner``
    and ``other`` (client ids as text) and the link's own columns, for owners and others in ``clients``."""
    import pandas as pd

    empty = pd.DataFrame({"owner": pd.Series(dtype=object), "other": pd.Series(dtype=object)})
    if links is None or not len(links) or not {FROM, TO, "kind"} <= set(links.columns):
        return empty
    rows = links[links["kind"].isin(list(spec.kind)) & links[FROM].notna() & links[TO].notna()]
    parts = []
    if spec.direction in ("out", "both"):
        parts.append(rows.assign(owner=rows[FROM].astype(str), other=rows[TO].astype(str)))
    if spec.direction in ("in", "both"):
        parts.append(rows.assign(owner=rows[TO].astype(str), other=rows[FROM].astype(str)))
    if not parts:
        return empty
    pairs = pd.concat(parts)
    pairs = pairs[(pairs["owner"] != pairs["other"]) & pairs["owner"].isin(clients) & pairs["other"].isin(clients)]
    return pairs.drop_duplicates(subset=["owner", "other", "id"] if "id" in pairs else ["owner", "other"])


def link_depth(cond: Condition) -> int:
    """How many links a condition reaches across: 1 for a ``linked``, 2 for a ``linked`` inside another's
    ``where``, 0 without one. A batch book carries the clients of other books that many links away."""
    from rm_advisor.engine.language.rules import LinkedCond
    from rm_advisor.engine.language.walk import children

    inner = max((link_depth(c) for c, _ in children(cond)), default=0)
    return inner + 1 if isinstance(cond, LinkedCond) else inner


def link_key(spec: LinkedSpec) -> str:
    """How a trace names the clients a ``linked`` condition reached: its kinds (``guarantor_of``)."""
    return "/".join(spec.kind) + {"out": "", "in": " (in)", "both": " (both)"}[spec.direction]


def path_text(subject: str, spec: LinkedSpec, other: str) -> str:
    """The path a link takes, as an explanation shows it: ``client:G1 —guarantor_of→ client:B7``."""
    kinds = "/".join(spec.kind)
    if spec.direction == "in":
        return f"{subject} ←{kinds}— {other}"
    if spec.direction == "both":
        return f"{subject} —{kinds}— {other}"
    return f"{subject} —{kinds}→ {other}"
