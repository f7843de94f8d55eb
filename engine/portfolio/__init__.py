"""Many clients at once: tables checked row by row, history derived for all (:mod:`engine.derivation`),
rule gates as pandas masks, per-manager decisions and worklists, the sample portfolio, and a whole
batch run in order (:func:`run_batch`)."""

from typing import TYPE_CHECKING, Any

from rm_advisor.engine.portfolio.batch import (
    Backend,
    BatchCounts,
    BatchEvents,
    BatchLog,
    BatchPlan,
    BatchResult,
    BookWriter,
    Silent,
    TableReader,
    Written,
    run_batch,
)
from rm_advisor.engine.portfolio.bulk import BulkGates, Frames
from rm_advisor.engine.portfolio.run import (
    ManagerResult,
    Partition,
    PortfolioRun,
    PortfolioTables,
    check_tables,
    decide_partitions,
    facts_document,
    prepare,
    read_tables,
    with_policies,
)
from rm_advisor.engine.portfolio.sample import AS_OF, generate
from rm_advisor.engine.portfolio.tables import BadRow, Chunk, Report, TableInput
from rm_advisor.engine.portfolio.worklist import Contact, SetAside, WorkItem, Worklist, build_worklist, capacity_of

if TYPE_CHECKING:
    from rm_advisor.engine.portfolio.distributed import DaskBackend, connect_cluster

#: exported from engine/portfolio/distributed.py on first use: dask loads only for a run on a cluster
_DISTRIBUTED = ("DaskBackend", "connect_cluster")


def __getattr__(name: str) -> Any:
    if name in _DISTRIBUTED:
        from rm_advisor.engine.portfolio import distributed

        return getattr(distributed, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AS_OF", "Backend", "BadRow", "BatchCounts", "BatchEvents", "BatchLog", "BatchPlan", "BatchResult", "BookWriter",
    "BulkGates", "Chunk", "Contact", "DaskBackend", "Frames", "ManagerResult", "Partition", "PortfolioRun",
    "PortfolioTables", "Report", "SetAside", "Silent", "TableInput", "TableReader", "WorkItem", "Worklist", "Written",
    "build_worklist", "capacity_of", "check_tables", "connect_cluster", "decide_partitions", "facts_document",
    "generate", "prepare", "read_tables", "run_batch", "with_policies",
]
