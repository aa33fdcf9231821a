"""Stores: per-tenant chunk storage and search (see :class:`ragbench.protocols.Store`)."""

from ragbench.stores.lancedb import LanceDBStore

__all__ = ["LanceDBStore"]
