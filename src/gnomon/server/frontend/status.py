"""The one place where server errors become gRPC statuses.

Temporal's SDKs read structured error details (for example
``WorkflowExecutionAlreadyStartedFailure``) from the ``grpc-status-details-bin``
trailer, a serialized ``google.rpc.Status``; errors that carry details send it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.rpc.status_pb2 import Status

from gnomon.server import errors
from gnomon.server.transport import AbortError, CallContext

logger = logging.getLogger(__name__)

_CODES: dict[type[errors.ServiceError], grpc.StatusCode] = {
    errors.InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExistsError: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPreconditionError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    errors.UnavailableError: grpc.StatusCode.UNAVAILABLE,
    errors.DeadlineExceededError: grpc.StatusCode.DEADLINE_EXCEEDED,
    errors.AbortedError: grpc.StatusCode.ABORTED,
    errors.ResourceExhaustedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
}

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Handler = Callable[[Any, Req, CallContext], Awaitable[Resp]]


# Error messages quote what the request named (an id, a name), which may be huge: the answer
# carries at most this much of one (twice: in grpc-message and in the status details).
MAX_MESSAGE_CHARS = 2_000


def _bounded(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "... (cut)"


def code_of(error: errors.ServiceError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in _CODES:
            return _CODES[cls]  # type: ignore[index]
    return grpc.StatusCode.INTERNAL


def rpc(handler: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Wrap an RPC: ServiceErrors become their status; anything else is INTERNAL and logged."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Req, context: CallContext) -> Resp:
        try:
            return await handler(self, request, context)
        except errors.ServiceError as error:
            code = code_of(error)
            message = _bounded(error.message)
            trailing: tuple[tuple[str, bytes], ...] = ()
            if error.details is not None:
                packed = AnyProto()
                packed.Pack(error.details)
                status = Status(code=code.value[0], message=message, details=[packed])
                trailing = (("grpc-status-details-bin", status.SerializeToString()),)
            await context.abort(code, message, trailing_metadata=trailing)
            raise  # unreachable: abort raises
        except AbortError:
            raise
        except Exception as error:
            logger.exception("%s failed", handler.__name__)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {error}")
            raise

    return wrapper
