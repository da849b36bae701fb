"""Frontend: validates requests, resolves namespaces, routes to history and matching."""

from gnomon.server.frontend.operator import OPERATOR_SERVICE, OperatorService
from gnomon.server.frontend.service import WORKFLOW_SERVICE, WorkflowService

__all__ = ["OPERATOR_SERVICE", "WORKFLOW_SERVICE", "OperatorService", "WorkflowService"]
