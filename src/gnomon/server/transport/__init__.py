"""gRPC over HTTP/2 for Temporal's unary API, served from the event loop."""

from gnomon.server.transport.server import AbortError, CallContext, GrpcServer

__all__ = ["AbortError", "CallContext", "GrpcServer"]
