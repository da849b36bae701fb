"""A loopback HTTP CONNECT proxy for the ``client/http_proxy*`` features, counting the tunnels it opens.

The features connect through it with or without basic auth (user ``proxy-user``, password
``proxy-pass``, as their files hard-code); the runner then checks the counts against the
feature's ``config.json``. Only loopback targets are tunnelled.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging

from tests.support.servers import HOST

logger = logging.getLogger(__name__)

PROXY_USER = "proxy-user"
PROXY_PASSWORD = "proxy-pass"
CHUNK_BYTES = 64 * 1024


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ConnectProxy:
    """``async with ConnectProxy() as proxy``: listening on ``proxy.url`` until the block ends."""

    def __init__(self) -> None:
        self.unauthed_tunnels = 0
        self.authed_tunnels = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not listening"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{HOST}:{port}"

    async def __aenter__(self) -> ConnectProxy:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.rsplit(" ", 1)[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or not port.isdigit() or not _is_loopback(host):
            await self._refuse(writer, "400 Bad Request")
            return
        auth = headers.get("proxy-authorization")
        if auth is not None:
            expected = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
            if auth != f"Basic {expected}":
                await self._refuse(writer, "407 Proxy Authentication Required")
                return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except OSError as err:
            logger.warning("proxy could not reach %s: %s", target, err)
            await self._refuse(writer, "502 Bad Gateway")
            return
        if auth is None:
            self.unauthed_tunnels += 1
        else:
            self.authed_tunnels += 1
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _refuse(writer: asyncio.StreamWriter, status: str) -> None:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(CHUNK_BYTES):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()
