"""Tenant views for notebooks: what each tenant holds, and checks that tenants stay isolated.

Example:
    >>> parts = build(compose(["dataset=demo"]))  # doctest: +SKIP
    >>> ingest_dataset(parts)  # doctest: +SKIP
    >>> isolation_matrix(parts)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from ragbench.config import Components
from ragbench.types import Query


def inventory(parts: Components):
    """One row per tenant of the dataset: documents, questions, chunks in its store and its store folder."""
    import pandas as pd

    stored = set(parts.store.tenants())
    rows = []
    for tenant, counts in parts.dataset.summary().items():
        rows.append({
            "tenant": tenant, "documents": counts["documents"], "questions": counts["questions"],
            "chunks_in_store": parts.store.count(tenant) if tenant in stored else 0,
            "store_folder": f"tenants/{tenant}/",
        })
    return pd.DataFrame(rows)


def isolation_matrix(parts: Components, *, k: int | None = None):
    """Ask every tenant's questions on behalf of every tenant and count hits from other tenants' documents.

    Row ``asked_as`` x column ``questions_of``: how many retrieved chunks did NOT belong to
    ``asked_as``. Isolation holds when every cell is 0 (retrieval never crosses tenants,
    even for another tenant's questions).
    """
    import pandas as pd

    k = int(k or parts.cfg.k)
    tenants = parts.dataset.tenants
    owned = {(d.tenant, d.id) for d in parts.dataset.documents}
    cells = {}
    for asked_as in tenants:
        for questions_of in tenants:
            queries = [Query(text=s.question, tenant=asked_as, id=s.id) for s in parts.dataset.samples
                       if s.tenant == questions_of]
            hits = parts.retriever.retrieve(queries, k) if queries else []
            cells[(asked_as, questions_of)] = sum(
                1 for per_query in hits for h in per_query if h.tenant != asked_as or (asked_as, h.doc_id) not in owned
            )
    frame = pd.DataFrame(
        [[cells[(a, q)] for q in tenants] for a in tenants], index=pd.Index(tenants, name="asked_as"),
        columns=pd.Index(tenants, name="questions_of"),
    )
    return frame


def same_question(parts: Components, questions: Sequence[str] | None = None, *, sources: int = 2):
    """Ask the same questions as each tenant: answers and sources side by side.

    With ``questions=None`` the dataset's isolation probes (questions worded identically in
    several tenants) are used.
    """
    import pandas as pd

    if questions is None:
        by_text: dict[str, set[str]] = {}
        for s in parts.dataset.samples:
            by_text.setdefault(s.question, set()).add(s.tenant)
        questions = [q for q, ts in by_text.items() if len(ts) > 1]
    tenants = parts.dataset.tenants
    rows = []
    for question in questions:
        row = {"question": question}
        outputs = parts.pipeline.run([Query(text=question, tenant=t) for t in tenants])
        for tenant, (hits, answer, _) in zip(tenants, outputs, strict=True):
            row[f"{tenant}: answer"] = answer.text
            row[f"{tenant}: sources"] = ", ".join(list(dict.fromkeys(h.doc_id for h in hits))[:sources])
        rows.append(row)
    return pd.DataFrame(rows)
