"""gRPC over HTTP/2 for Temporal's unary API, served from the event loop."""

from gnomon.server.transport.server import AbortError, CallContext, GrpcServer
from gnomon.server.transport.services import service_handler

__all__ = ["AbortError", "CallContext", "GrpcServer", "service_handler"]
