"""Document ingestion as durable jobs: tenants, loaders, language detection, exactly-once writes.

Modules (import what you need; heavy libraries load lazily):

* :mod:`ragbench.ingestion.loaders` -- files, folders, streams, JSONL -> :class:`Item`
* :mod:`ragbench.language` -- :func:`detect_language` (lingua, offline)
* :mod:`ragbench.ingestion.ingest` -- :func:`ingest_items`, the exactly-once job runner
* :mod:`ragbench.ingestion.jobs` -- :func:`ingest_path`, :func:`get_job`, :func:`list_jobs`
* :mod:`ragbench.ingestion.tenants` -- create, list, describe, delete tenants
"""
