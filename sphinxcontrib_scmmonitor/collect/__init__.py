"""Collect: list each node's backup files (over SSH or on the local disk) into the store."""

from .local import CollectError
from .runner import Collection, NodeResult, collect_all, collect_node

__all__ = ["CollectError", "Collection", "NodeResult", "collect_all", "collect_node"]
