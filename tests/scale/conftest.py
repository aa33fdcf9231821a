"""One local Ray instance for the whole test session (Ray starts in seconds, not per test)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    """``ray.init(num_cpus=2)`` on 127.0.0.1, shut down at the end; yields the head's GCS address."""
    import ray

    from ragbench.executor import start_ray

    start_ray(  # tried again if a loaded machine makes the node time out while starting
        ray,
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}},
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
