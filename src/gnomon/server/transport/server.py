"""Gnomon's gRPC server: unary RPCs over its own HTTP/2 connections, on the event loop.

Why not ``grpc.aio.server``: measured on this project's 2-core benchmark machine, the
grpcio server spends about 170 µs of CPU per call before any handler runs (its own
threads, completion queue and the hand-offs between them and the event loop), which was
more than half of the server's whole cost per workflow. Temporal's API is unary only, so a
call here is a few frames parsed and written by :class:`Connection` in the loop's own
thread, and the handler runs as an ordinary task.

Services are registered as grpc generic handlers (see :mod:`.services`, which builds them
from the services' generated descriptors), so method names, paths and (de)serializers come
from the same generated code as with grpcio.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc

from gnomon.server.limits import Limits
from gnomon.server.transport import frames as f
from gnomon.server.transport.compression import MessageTooLarge, gunzip
from gnomon.server.transport.connection import Connection
from gnomon.server.transport.stream import Stream

logger = logging.getLogger(__name__)


class AbortError(Exception):
    """Raised by :meth:`CallContext.abort`: ends the call with this status."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailing_metadata = tuple(trailing_metadata)


class CallContext:
    """What a handler may ask about its call (deadline, metadata, peer) and how to end it.

    The part of grpc's ``ServicerContext`` that generated servicers and Gnomon's handlers
    use: besides :meth:`abort`, a handler may :meth:`set_code` and :meth:`set_details` and
    then return or raise, and (as with grpc) the call ends with that status.
    """

    __slots__ = ("_deadline", "_stream", "_connection", "_code", "_details")

    def __init__(self, deadline: float | None, stream: Stream, connection: Connection) -> None:
        self._deadline = deadline
        self._stream = stream
        self._connection = connection
        self._code: grpc.StatusCode | None = None
        self._details: str | None = None

    def time_remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.0)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (key.decode("latin-1"), value.decode("latin-1"))
            for key, value in self._stream.headers
            if not key.startswith(b":")
        )

    def peer(self) -> str:
        peer = self._connection.peer()
        return f"ipv4:{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "unknown"

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Iterable[tuple[str, Any]] = ()
    ) -> NoReturn:
        raise AbortError(code, details, trailing_metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str | None:
        return self._details

    async def run(self, handler: Callable[[Any, CallContext], Awaitable[Any]], request: Any) -> Any:
        """The handler's response; AbortError if it set a status other than OK, whether it returned or raised."""
        try:
            response = await handler(request, self)
        except AbortError:
            raise
        except Exception as error:
            if self._code in (None, grpc.StatusCode.OK):
                raise
            # Like grpc: the status the handler set wins (a generated default method sets
            # UNIMPLEMENTED, then raises NotImplementedError).
            raise AbortError(self._code, self._details or f"{type(error).__name__}: {error}") from error
        if self._code not in (None, grpc.StatusCode.OK):
            raise AbortError(self._code, self._details or "")
        return response


@dataclass(frozen=True)
class _CallDetails(grpc.HandlerCallDetails):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Method:
    handler: Callable[[Any, CallContext], Awaitable[Any]]
    deserialize: Callable[[bytes], Any]
    serialize: Callable[[Any], bytes]


def _trailers_only(code: grpc.StatusCode, message: str, metadata: Iterable[tuple[str, Any]] = ()) -> bytes:
    return f.status_block(code.value[0], message, metadata)


class GrpcServer:
    """Serves registered servicers' unary methods on one TCP port, within ``limits``."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._generic_handlers: list[grpc.GenericRpcHandler] = []
        self._methods: dict[bytes, _Method] = {}  # resolved from the generic handlers on first use
        self._connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        # Timeouts are checked this often: a few times per shortest timeout, at most once a second.
        self._sweep_interval = min(1.0, max(0.05, min(limits.request_timeout, limits.send_timeout) / 4))
        self._stopped = asyncio.Event()

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """What the generated ``add_*Servicer_to_server`` functions call."""
        self._generic_handlers.extend(handlers)

    def _method(self, path: bytes) -> _Method | None:
        method = self._methods.get(path)
        if method is None:
            details = _CallDetails(path.decode("utf-8", "replace"))
            for generic in self._generic_handlers:
                handler = generic.service(details)
                if handler is not None and handler.unary_unary is not None:
                    method = _Method(
                        handler.unary_unary,
                        handler.request_deserializer or _unchanged,
                        handler.response_serializer or _unchanged,
                    )
                    self._methods[path] = method
                    break
        return method

    def _unknown_method(self, path: bytes) -> str:
        """grpc-go's words for a path no servicer serves."""
        name = path.decode("utf-8", "replace")
        service, slash, method = name.removeprefix("/").rpartition("/")
        if not slash:
            return f'malformed method name: "{name}"'
        known = any(
            isinstance(generic, grpc.ServiceRpcHandler) and generic.service_name() == service
            for generic in self._generic_handlers
        )
        return f"unknown method {method} for service {service}" if known else f"unknown service {service}"

    async def start(self, host: str, port: int) -> int:
        """Listen; return the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._connection, host, port, reuse_address=True)
        self._sweeper = loop.call_later(self._sweep_interval, self._sweep)
        return int(self._server.sockets[0].getsockname()[1])

    def _connection(self) -> Connection:
        connection = Connection(self._on_request, self._connections.discard, self._limits)
        self._connections.add(connection)
        return connection

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in list(self._connections):
            connection.sweep(now, self._sweep_interval)
        self._sweeper = loop.call_later(self._sweep_interval, self._sweep)

    def _on_request(self, connection: Connection, stream: Stream) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._call(connection, stream))

    async def _call(self, connection: Connection, stream: Stream) -> None:
        path = stream.header(b":path") or b""
        try:
            method = self._method(path)
            if method is None:
                self._unimplemented(connection, stream, path)
                return
            message = stream.message
            if stream.compressed:
                message = await self._decompress(stream)
            stream.message = b""  # the parsed request is all the call needs from here on
            try:
                request = method.deserialize(message)
            except Exception as error:  # a protobuf DecodeError, or anything a bad payload provokes
                raise AbortError(grpc.StatusCode.INTERNAL, f"cannot parse request: {error}") from error
            timeout = stream.header(b"grpc-timeout")
            seconds = f.parse_timeout(timeout) if timeout is not None else None
            deadline = time.monotonic() + seconds if seconds is not None else None
            response = await CallContext(deadline, stream, connection).run(method.handler, request)
            connection.respond(stream, method.serialize(response))
        except AbortError as error:
            connection.fail(stream, _trailers_only(error.code, error.details, error.trailing_metadata))
        except Exception:
            logger.exception("unhandled error in %s", path.decode("utf-8", "backslashreplace"))
            connection.fail(stream, _trailers_only(grpc.StatusCode.INTERNAL, "internal error"))

    def _unimplemented(self, connection: Connection, stream: Stream, path: bytes) -> None:
        details = self._unknown_method(path)
        try:
            path.decode()
        except UnicodeDecodeError:  # no client's honest mistake: worth a warning
            logger.warning("call with a path that is not UTF-8 from %s: %r", connection.peer(), path[:200])
        else:
            logger.info("unimplemented call from %s: %s", connection.peer(), details)
        connection.fail(stream, _trailers_only(grpc.StatusCode.UNIMPLEMENTED, details))

    async def _decompress(self, stream: Stream) -> bytes:
        """The message of a request whose prefix says compressed, in grpc-go's words when it cannot be."""
        encoding = stream.header(b"grpc-encoding")
        if encoding is None or encoding == b"identity":
            raise AbortError(grpc.StatusCode.INTERNAL, "grpc: compressed flag set with identity or empty encoding")
        if encoding != b"gzip":
            name = encoding.decode("utf-8", "replace")
            details = f'grpc: Decompressor is not installed for grpc-encoding "{name}"'
            raise AbortError(grpc.StatusCode.UNIMPLEMENTED, details)
        limit = self._limits.max_message_bytes
        try:
            return await gunzip(stream.message, limit)
        except MessageTooLarge:
            details = f"grpc: received message after decompression larger than max {limit}"
            raise AbortError(grpc.StatusCode.RESOURCE_EXHAUSTED, details) from None
        except zlib.error as error:
            raise AbortError(grpc.StatusCode.INTERNAL, f"grpc: failed to decompress the message: {error}") from None

    async def stop(self, grace: float) -> None:
        """Refuse new calls, give running ones ``grace`` seconds, then close every connection."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in self._connections:
            connection.go_away()
        deadline = time.monotonic() + grace
        while any(c.active_streams for c in self._connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self._connections):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()
        self._stopped.set()

    async def wait_for_termination(self) -> None:
        await self._stopped.wait()


def _unchanged(payload: Any) -> Any:
    """A method registered without a (de)serializer takes and returns raw bytes."""
    return payload
