"""Many clients at once: tables checked row by row, rule gates as pandas masks, per-manager decisions
and worklists, and the sample portfolio."""

from rm_advisor.engine.portfolio.bulk import BulkGates, Frames
from rm_advisor.engine.portfolio.run import (
    Partition,
    PortfolioRun,
    PortfolioTables,
    check_tables,
    decide_partitions,
    facts_document,
    history_spec,
    prepare,
    read_tables,
    with_policies,
)
from rm_advisor.engine.portfolio.sample import AS_OF, generate
from rm_advisor.engine.portfolio.tables import BadRow, Chunk, Report, TableInput

__all__ = [
    "AS_OF", "BadRow", "BulkGates", "Chunk", "Frames", "Partition", "PortfolioRun", "PortfolioTables", "Report",
    "TableInput", "check_tables", "decide_partitions", "facts_document", "generate", "history_spec",
    "prepare", "read_tables", "with_policies",
]
