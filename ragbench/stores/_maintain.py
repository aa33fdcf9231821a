"""Keep key lookups on a growing LanceDB table from growing with it.

Ingestion looks rows up by key once per batch (``doc_id IN (...)``, ``key IN (...)``) and merges
new chunks on ``chunk_id``. Without an index each of those reads the whole key column, fragment by
fragment, and every commit adds one more small fragment: at a million chunks a batch's lookups cost
twenty times what they cost at 100k (docs/scale.md). :func:`maintain` gives the key columns BTree
indexes and rebuilds them so they cover every row. Rows added after it are still found (LanceDB
searches the unindexed rows flat), so the caller only has to run it every so many rows.

Why a rebuild and not LanceDB's ``optimize``: ``optimize`` (the only maintenance LanceDB 0.40 offers
without pylance) also compacts, and its compaction merges every fragment under a million rows, so
each run rewrites the whole table, vectors included (12.8 s per run at 1M chunks, peak memory +1.7
GB). A BTree rebuild reads one key column: 0.1-0.7 s at a million rows. Fragments are left as they
are; an indexed lookup at 1M rows costs 13 ms on one fragment and 25 ms on 400 (measured; 70 and
190 ms without the index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragbench.stores._retry import retrying


def maintain(table: Any, columns: Sequence[str]) -> list[str]:
    """BTree-index ``columns`` of ``table``, rebuilding an index that does not cover every row, each
    retried when another writer committed meanwhile. Returns the columns indexed for the first time."""
    from lancedb.index import BTree

    unindexed = {
        index.columns[0]: index.num_unindexed_rows for index in table.list_indices() if len(index.columns) == 1
    }
    created = [column for column in columns if column not in unindexed]
    for column in columns:
        if unindexed.get(column, 1) == 0:
            continue
        retrying(lambda column=column: table.create_index(column, config=BTree(), replace=True))
    return created
