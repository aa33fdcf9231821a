"""Which documents an ingestion job may skip: the rule the job's plan applies, and the part of it the
driver can decide before a document is loaded (used by ``executor=ray``, :mod:`ragbench.ingestion._ray`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ragbench.ingestion import _tables
from ragbench.ingestion.loaders import Item
from ragbench.types import Document, content_hash


def content_version(doc: Document) -> str:
    """Hash of what a document's chunks are made from; a document keeping its id (a dataset's)
    whose text or title changed is re-ingested."""
    return content_hash(doc.title, doc.text)


@dataclass(frozen=True)
class Committed:
    """What the ledger and the chunk table hold for one source key: a document of that key loaded
    later is unchanged (``skipped``, never embedded) when :meth:`covers` says so.

    Attributes:
        doc_ids: Ids that may be the key's document and have committed chunks.
        version: The recorded content version (``None`` or ``""``: recorded before versions; any text).
    """

    doc_ids: frozenset[str]
    version: str | None

    @classmethod
    def of(cls, row: dict, present: set[str] | frozenset[str], fingerprint: str) -> Committed | None:
        """``None`` when the key must be written whatever its content: chunked another way, or the
        replace of an interrupted run is pending (``prev_doc_ids``)."""
        if row.get("chunker") not in (None, fingerprint) or row.get("prev_doc_ids"):
            return None
        return cls(frozenset(present), row.get("version"))

    def covers(self, doc: Document) -> bool:
        return doc.id in self.doc_ids and self.version in (None, "", content_version(doc))


def committed_keys(
    db, store, tenant: str, fingerprint: str, items: list[Item], chunk: int = 512
) -> dict[str, Committed]:
    """Before the documents are loaded: the keys whose document is unchanged if its content is
    (:meth:`Committed.covers`), from the ledger and the chunk table, by the same rule as the plan.

    ``executor=ray`` sends this with each item so actors skip embedding unchanged documents;
    the plan of each batch (on the driver, after they come back) still decides what is written.
    """
    out: dict[str, Committed] = {}
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        rows = {r["key"]: r for r in _tables.select(db, "documents", "key", [it.key for it in part])}
        ids = {it.key: {rows.get(it.key, {}).get("doc_id") or "", it.doc_id or ""} - {""} for it in part}
        present = store.chunk_doc_ids(tenant, sorted(set().union(*ids.values())))
        for it in part:
            committed = Committed.of(rows.get(it.key, {}), ids[it.key] & present, fingerprint)
            if committed is not None and committed.doc_ids:
                out[it.key] = committed
    return out
