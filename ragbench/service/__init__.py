"""The query API as a service: ``ragbench serve`` (FastAPI + uvicorn) over the pipeline ``build()`` makes.

Modules (each imports its heavy libraries lazily):

* :mod:`ragbench.service.app` -- routes, refusals, OpenAPI (``create_app``, ``app_from_env``)
* :mod:`ragbench.service.answering` -- retrieve, generate, stream, trace one request
* :mod:`ragbench.service.access` -- API keys, the dashboard's tenant rules, the Host/Origin guard
* :mod:`ragbench.service.keys` -- the key store (``ragbench keys``), hashed at rest
* :mod:`ragbench.service.ratelimit` -- per-tenant request and token limits, shared by workers (sqlite)
* :mod:`ragbench.service.generation` -- remote models concurrently, in-process models batched
* :mod:`ragbench.service.ingest` -- ingestion jobs through the API
* :mod:`ragbench.service.state` -- what one worker holds; readiness

See docs/deploy.md.
"""
