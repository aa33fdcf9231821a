"""The dashboard's logic, kept out of the Panel UI file (``dashboards/app.py``).

Modules (Panel, LanceDB and MLflow are imported lazily):

* :mod:`ragbench.dashboard.auth` -- users file, password hashes, tenant access checks, bind check
* :mod:`ragbench.dashboard.sessions` -- server-side sign-in sessions (logout, expiry)
* :mod:`ragbench.dashboard.gate` -- Host/Origin rules and sign-in rate limits
* :mod:`ragbench.dashboard.login` -- login/logout handlers, the auth provider, the request guard
* :mod:`ragbench.dashboard.service` -- :class:`DashboardService`: presets, asking, access control
* :mod:`ragbench.dashboard.history` -- conversation history per user and tenant (sqlite)
* :mod:`ragbench.dashboard.jobs` -- ingestion jobs from uploads or folders (:mod:`ragbench.ingestion`)
* :mod:`ragbench.dashboard.health` -- service health probes
* :mod:`ragbench.dashboard.experiments` -- MLflow runs, comparisons with CIs
* :mod:`ragbench.dashboard.views`, :mod:`ragbench.dashboard.views_admin` -- the Panel views
* :mod:`ragbench.dashboard.api` -- JSON routes next to the app
* :mod:`ragbench.dashboard.server` -- ``ragbench dashboard``
"""
