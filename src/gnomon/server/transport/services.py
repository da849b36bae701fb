"""Serving a service implementation by its protobuf service descriptor.

Why not the generated ``add_*Servicer_to_server`` functions: they want a subclass of the
generated servicer base class, whose every method is (in its type stubs) abstract and
synchronous and (at run time) a default that answers "Method not implemented!". Gnomon's
handlers are coroutines, and each service implements only part of its RPCs. So the method
table comes from the same generated code, the service's descriptor (method names, paths,
request and response types), each method is bound to the implementation's coroutine of the
same name, and every method the implementation lacks answers UNIMPLEMENTED, naming itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass

from gnomon.server.transport.server import CallContext

logger = logging.getLogger(__name__)

Handler = Callable[[Any, CallContext], Awaitable[Any]]


def implements(implementation: object, method_name: str) -> bool:
    """Whether ``implementation`` serves the RPC ``method_name`` (the one rule: a method of that name)."""
    return callable(getattr(implementation, method_name, None))


def service_handler(service: ServiceDescriptor, implementation: object) -> grpc.GenericRpcHandler:
    """A handler for every RPC of ``service``: ``implementation``'s method of its name, or UNIMPLEMENTED."""
    handlers = {}
    missing = []
    for method in service.methods:
        if method.client_streaming or method.server_streaming:
            raise ValueError(f"{method.full_name} streams; Gnomon's transport serves unary RPCs only")
        if implements(implementation, method.name):
            handler = getattr(implementation, method.name)
        else:
            handler = unimplemented(method.name)
            missing.append(method.name)
        handlers[method.name] = _method_handler(method, handler)
    logger.debug("%s: %d RPCs, unimplemented: %s", service.full_name, len(handlers), ", ".join(missing) or "none")
    return grpc.method_handlers_generic_handler(service.full_name, handlers)


def unimplemented(name: str) -> Handler:
    """A handler answering UNIMPLEMENTED with a message naming the RPC ``name``."""

    async def handler(request: Any, context: CallContext) -> NoReturn:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented by Gnomon yet.")

    handler.__name__ = name
    return handler


def _method_handler(method: MethodDescriptor, handler: Handler) -> grpc.RpcMethodHandler:
    request_type = GetMessageClass(method.input_type)
    response_type = GetMessageClass(method.output_type)
    return grpc.unary_unary_rpc_method_handler(
        handler, request_deserializer=request_type.FromString, response_serializer=response_type.SerializeToString
    )
