"""The store's atomic write: upsert chunks and drop documents in one LanceDB commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ragbench.stores._filters import build_filter


def atomic_replace(
    db: Any, table_name: str, existing: Callable[[], Any], rows: list[dict], drop_doc_ids: Sequence[str]
) -> int:
    """Upsert ``rows`` (by ``chunk_id``) and delete every chunk of ``drop_doc_ids`` in ONE commit; returns the rows written.

    ``existing()`` returns the table or ``None`` while it does not exist (also a folder left by a create that
    failed, e.g. disk full). Creating the table races safely with another process creating it.
    """
    if existing() is None:
        if not rows:
            return 0
        try:
            db.create_table(table_name, data=rows)
            return len(rows)
        except (ValueError, OSError, RuntimeError):  # created meanwhile by another writer?
            if existing() is None:  # no: a real failure (disk full, ...)
                raise
    table = db.open_table(table_name)
    builder = table.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all()
    if drop_doc_ids:
        builder = builder.when_not_matched_by_source_delete(build_filter({"doc_id": list(drop_doc_ids)}))
    if rows:
        builder.execute(rows)
    elif drop_doc_ids:
        table.delete(build_filter({"doc_id": list(drop_doc_ids)}))
    return len(rows)
