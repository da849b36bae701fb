"""Frontend: validates requests, resolves namespaces, routes to history and matching."""

from gnomon.server.frontend.service import WorkflowService

__all__ = ["WorkflowService"]
