"""The tenant's bookkeeping tables (``documents``, ``jobs``, ``job_items``) in its LanceDB directory.

Every write is one LanceDB commit (``merge_insert`` on the table's key, or a plain append
for rows whose keys are new), retried with jittered backoff when another process
committed at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from ragbench.stores._retry import retrying

T = TypeVar("T")

KEYS = {"documents": "key", "jobs": "job_id", "job_items": "item_id"}
#: The columns each table is read by, per batch or per job: BTree-indexed by :func:`maintain`.
LOOKUPS = {"documents": ("key",), "jobs": (), "job_items": ("job_id",)}


# The bookkeeping tables' columns: s = string, i = int64, f = float64.
COLUMNS = {
    "documents": "key:s doc_id:s prev_doc_ids:s title:s source:s content_type:s size:i language:s chunks:i status:s "
    "error:s job_id:s chunker:s updated_at:f version:s",
    "jobs": "job_id:s tenant:s status:s total:i done:i completed:i skipped:i failed:i chunks_created:i created_at:f "
    "updated_at:f finished_at:f seconds:f pid:i host:s error:s settings:s",
    "job_items": "item_id:s job_id:s seq:i key:s doc_id:s title:s source:s content_type:s size:i language:s status:s "
    "attempts:i error:s chunks:i seconds:f",
}


@lru_cache(maxsize=1)
def _schemas():
    """Arrow schemas of :data:`COLUMNS`, built once per process (they are on the hot path of every write)."""
    import pyarrow as pa

    types = {"s": pa.string(), "i": pa.int64(), "f": pa.float64()}
    return {
        table: pa.schema([(name, types[kind]) for name, kind in (col.split(":") for col in spec.split())])
        for table, spec in COLUMNS.items()
    }


def _migrate(table, name: str):
    """Add columns that newer ragbench versions record (filled with nulls) to an older table."""
    have = set(table.schema.names)
    missing = [fld for fld in _schemas()[name] if fld.name not in have]
    if missing:
        import pyarrow as pa

        try:
            table.add_columns(pa.schema(missing))
        except Exception:
            if not all(fld.name in table.schema.names for fld in missing):
                raise
    return table


def open_table(db, name: str, *, create: bool = True):
    """Open (creating empty, race-safely, when ``create``) one bookkeeping table; ``None`` if absent.

    A table folder without a committed version (a create that failed, e.g. on a full disk) counts
    as absent, so a re-run creates it instead of being blocked by it."""
    if name in db.list_tables().tables:
        try:
            return _migrate(db.open_table(name), name)
        except ValueError as exc:
            if "not found" not in str(exc).lower():
                raise
    if not create:
        return None
    try:
        return db.create_table(name, schema=_schemas()[name], exist_ok=True)
    except Exception:
        return _migrate(db.open_table(name), name)


def fill(name: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with every column of table ``name`` (missing strings '', numbers 0)."""
    import pyarrow as pa

    out = {}
    for fld in _schemas()[name]:
        value = row.get(fld.name)
        if value is None:
            value = "" if fld.type == pa.string() else 0
        out[fld.name] = value
    return out


def _arrow(name: str, rows: Sequence[dict[str, Any]]):
    import pyarrow as pa

    return pa.Table.from_pylist([fill(name, r) for r in rows], schema=_schemas()[name])


def upsert(db, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace ``rows`` by the table's key, in one commit."""
    if not rows:
        return
    data = _arrow(name, rows)
    key = KEYS[name]

    def commit():
        table = open_table(db, name)
        table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(data)

    retrying(commit)


def append(db, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` (whose keys are known to be new) in one commit: no merge, so the cost
    of the write does not grow with the table."""
    if not rows:
        return
    data = _arrow(name, rows)
    retrying(lambda: open_table(db, name).add(data))


def delete(db, name: str, column: str, values: Sequence[str]) -> None:
    """Delete the rows of ``name`` whose ``column`` is in ``values``, in one commit."""
    table = open_table(db, name, create=False)
    if table is None or not values:
        return
    from lancedb.expr import col

    expr = col(column).isin(list(values))
    retrying(lambda: table.delete(expr))


def select(db, name: str, column: str | None = None, values: Sequence[str] | None = None) -> list[dict]:
    """Rows of ``name`` whose ``column`` is in ``values`` (all rows when ``column`` is None)."""
    table = open_table(db, name, create=False)
    if table is None or (column is not None and not values):
        return []
    if column is None:
        return table.to_arrow().to_pylist()
    from lancedb.expr import col

    query = table.search().where(col(column).isin(list(values))).limit(None)
    return query.to_arrow().to_pylist()


def maintain(db, name: str) -> list[str]:
    """BTree-index the columns ``name`` is read by (:data:`LOOKUPS`), rebuilt to cover every row
    (:func:`ragbench.stores._maintain.maintain`); returns the columns indexed for the first time."""
    from ragbench.stores._maintain import maintain as maintain_table

    table = open_table(db, name, create=False)
    return maintain_table(table, LOOKUPS.get(name, ())) if table is not None else []
