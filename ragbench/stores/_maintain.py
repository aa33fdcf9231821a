"""Keep key lookups on a growing LanceDB table from growing with it.

Ingestion looks rows up by key once per batch (``doc_id IN (...)``, ``key IN (...)``) and merges
new chunks on ``chunk_id``. Without an index each of those reads the whole table, and every commit
adds one more small fragment, so at a million chunks a batch's lookups cost twenty times what they
cost at 100k (docs/scale.md). :func:`maintain` gives the key columns BTree indexes (once) and runs
LanceDB's ``optimize``: it compacts the fragments, and folds the rows added since into every index
(full-text and vector ones included). Rows added after it are still found (LanceDB searches the
unindexed rows flat), so the caller only has to run it every so many rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragbench.stores._retry import retrying


def maintain(table: Any, columns: Sequence[str]) -> list[str]:
    """BTree-index ``columns`` of ``table`` where no index covers them, then ``optimize`` it, each
    retried when another writer committed meanwhile. Returns the columns indexed now."""
    from lancedb.index import BTree

    indexed = {column for index in table.list_indices() for column in index.columns}
    created = [column for column in columns if column not in indexed]

    def create(column: str) -> None:
        try:
            table.create_index(column, config=BTree(), replace=False)
        except Exception as exc:
            if "already exists" not in str(exc).lower():  # else: another process created it meanwhile
                raise

    for column in created:
        retrying(lambda column=column: create(column))
    retrying(table.optimize)
    return created
