"""Visibility: what can be searched about workflows (search attributes; list queries later)."""

from gnomon.server.visibility.search_attributes import SearchAttributeRegistry

__all__ = ["SearchAttributeRegistry"]
