"""The ragbench Panel app: Ask, Documents, Experiments, Monitor.

Serve it with ``ragbench dashboard`` (adds login, the JSON API and the bind check), or
for local use with Panel directly::

    RAGBENCH_DASHBOARD_OVERRIDES="home=/tmp/rb" panel serve dashboards/app.py \
        --address 127.0.0.1 --port 5006 --allow-websocket-origin 127.0.0.1:5006 --plugins ragbench.dashboard.api

The app logic lives in :mod:`ragbench.dashboard`; this file only makes it servable.
"""

from ragbench.dashboard.views import create_app

create_app().servable(title="ragbench")
