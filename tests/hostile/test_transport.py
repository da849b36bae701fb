"""One client cannot make Gnomon's transport hold unbounded memory, or keep another client waiting.

Each attack runs against a real ``gnomon server start`` process (its memory read from
/proc) while a well-behaved client on another connection must still be answered. The
checks are on behaviour: what the server answers, what it lets the client send, how
much memory it reaches; the timeouts are only there so a broken server fails the test
instead of hanging it.
"""

from __future__ import annotations

import asyncio
import uuid
import zlib
from typing import Any

import grpc
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from gnomon.server.limits import MIB
from gnomon.server.transport import frames as f
from tests.hostile.conftest import SERVICE, STRICT, PeakMemory, bystander_answered
from tests.hostile.rawh2 import RawH2, grpc_message
from tests.support.servers import ServerProcess

DESCRIBE = b"/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace"
HISTORY = b"/temporal.api.workflowservice.v1.WorkflowService/GetWorkflowExecutionHistory"
# Generous: what the server may grow by while one client attacks it, against the hundreds
# of megabytes each attack is sized to cost a server that buffers what it is sent.
MEMORY_BOUND = 96 * MIB
LARGEST = STRICT.max_message_bytes


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def describe_request(padding: int = 0) -> bytes:
    """DescribeNamespace for "default", grown to any size by an unknown field (which the server skips)."""
    message = b"\x0a\x07default"  # field 1 (namespace), "default"
    if padding:
        message += _varint(999 << 3 | 2) + _varint(padding) + b"\x00" * padding
    return message


async def pump(client: RawH2, bodies: dict[int, bytes], end_stream: bool, frame_size: int = 16_384) -> None:
    """Send every body round-robin, each within the windows the server grants, until all are sent
    or the server grants nothing more for a second (or, for bodies left unfinished, ends a stream)."""
    sent = dict.fromkeys(bodies, 0)
    while any(sent[s] < len(body) for s, body in bodies.items()):
        progress = False
        for stream_id, body in bodies.items():
            room = min(client.window(stream_id), client.connection_window, frame_size, len(body) - sent[stream_id])
            if room <= 0:
                continue
            last = end_stream and sent[stream_id] + room == len(body)
            chunk = body[sent[stream_id] : sent[stream_id] + room]
            client.send(f.frame(f.DATA, f.FLAG_END_STREAM if last else 0, stream_id, chunk))
            client.sent[stream_id] = client.sent.get(stream_id, 0) + room
            client.connection_window -= room
            sent[stream_id] += room
            progress = True
        await client.drain()
        if not progress:
            try:
                frame = await client.read_socket(timeout=1.0)
            except TimeoutError:
                return
            if frame is None:
                return
            client.backlog.append(frame)
            ended = frame.kind == f.RST_STREAM or (frame.kind == f.HEADERS and frame.flags & f.FLAG_END_STREAM)
            if ended and not end_stream:
                return


async def test_a_large_request_in_small_frames_is_served_and_so_is_everyone_else(roomy_server: ServerProcess) -> None:
    """32 MiB in 16 KiB frames: accumulated in linear time, and another connection is answered meanwhile."""
    client = await RawH2.connect(roomy_server.address)
    try:
        stream_id = client.stream_id()
        client.send(client.headers_frame(stream_id, DESCRIBE))
        upload = asyncio.ensure_future(client.send_data(stream_id, grpc_message(describe_request(32 * MIB))))
        await bystander_answered(roomy_server.address)
        assert await asyncio.wait_for(upload, 60)
        response = await client.response(stream_id, timeout=60)
        assert response.status == 0 and len(response.data) > 5
    finally:
        client.close()


async def test_a_message_over_the_limit_is_refused_at_its_prefix(strict_server: ServerProcess) -> None:
    client = await RawH2.connect(strict_server.address)
    try:
        stream_id = client.stream_id()
        prefix = b"\x00" + (LARGEST + 1).to_bytes(4, "big")
        client.send(client.headers_frame(stream_id, DESCRIBE) + f.frame(f.DATA, 0, stream_id, prefix))
        response = await client.response(stream_id)
        assert response.status == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert response.message == f"grpc: received message larger than max ({LARGEST + 1} vs. {LARGEST})"
        reset = await client.until(f.RST_STREAM, stream_id)
        assert reset is not None and reset.error_code == f.NO_ERROR  # "stop sending"
        assert stream_id not in client.granted  # no window was opened for it
    finally:
        client.close()


async def test_a_grpc_client_sending_too_much_gets_grpc_gos_answer(strict_server: ServerProcess) -> None:
    message = describe_request(LARGEST)
    async with grpc.aio.insecure_channel(strict_server.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(DESCRIBE.decode())(message, timeout=30)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert caught.value.details() == f"grpc: received message larger than max ({len(message)} vs. {LARGEST})"


def _gzip_of_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, compressed a mebibyte at a time (never ``size`` in memory)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    return b"".join(deflate.compress(zeros) for _ in range(size // MIB)) + deflate.flush()


async def test_a_gzip_bomb_is_refused_once_it_expands_past_the_limit(strict_server: ServerProcess) -> None:
    """150 KB of gzip expanding to 150 MiB: the limit applies to the expanded size."""
    memory = PeakMemory(strict_server.proc.pid)
    bomb = _gzip_of_zeros(150 * MIB)
    assert len(bomb) < LARGEST
    client = await RawH2.connect(strict_server.address)
    try:
        memory.reset()
        before = memory.current
        stream_id = client.stream_id()
        headers = client.headers_frame(stream_id, DESCRIBE, extra=((b"grpc-encoding", b"gzip"),))
        client.send(headers)
        assert await client.send_data(stream_id, grpc_message(bomb, compressed=True))
        response = await client.response(stream_id)
        assert response.status == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert response.message == f"grpc: received message after decompression larger than max {LARGEST}"
        assert memory.peak - before < MEMORY_BOUND
    finally:
        client.close()
    async with grpc.aio.insecure_channel(strict_server.address) as channel:  # the same from grpc's own client
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(DESCRIBE.decode())(
                describe_request(2 * LARGEST), compression=grpc.Compression.Gzip, timeout=30
            )
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_data_sent_without_regard_for_flow_control_is_not_kept(strict_server: ServerProcess) -> None:
    """300 MiB of DATA on a stream that never ends: reset at once, the rest dropped as it comes."""
    memory = PeakMemory(strict_server.proc.pid)
    client = await RawH2.connect(strict_server.address)
    try:
        memory.reset()
        before = memory.current
        stream_id = client.stream_id()
        client.send(client.headers_frame(stream_id, DESCRIBE))
        chunk = f.frame(f.DATA, 0, stream_id, grpc_message(bytes(MIB - 5)))
        bystander = asyncio.ensure_future(bystander_answered(strict_server.address))
        for _ in range(300):
            client.send(chunk)
            await client.drain()
        await bystander
        reset = await client.until(f.RST_STREAM, stream_id)
        assert reset is not None and reset.error_code == f.FLOW_CONTROL_ERROR
        assert memory.peak - before < MEMORY_BOUND
        served = client.request(DESCRIBE, describe_request())  # and the connection goes on
        assert (await client.response(served)).status == 0
    finally:
        client.close()


async def test_a_request_that_never_ends_is_cancelled(strict_server: ServerProcess) -> None:
    client = await RawH2.connect(strict_server.address)
    try:
        stream_id = client.stream_id()
        client.send(client.headers_frame(stream_id, DESCRIBE))
        body = grpc_message(describe_request(3 * MIB))
        assert await client.send_data(stream_id, body[: 2 * MIB], end_stream=False)
        response = await client.response(stream_id)
        assert response.status == grpc.StatusCode.CANCELLED.value[0]
        assert response.message == f"request stalled for {STRICT.request_timeout:g} s"
        assert client.granted[stream_id] <= len(body)  # never more window than the message needs
    finally:
        client.close()


async def test_partial_requests_get_no_more_window_than_the_connection_budget(strict_server: ServerProcess) -> None:
    """100 requests of 4 MiB, none ever finished: 400 MiB asked for, a budget's worth granted."""
    client = await RawH2.connect(strict_server.address)
    try:
        bodies = {client.stream_id(): grpc_message(describe_request(LARGEST - 100)) for _ in range(100)}
        client.send(b"".join(client.headers_frame(s, DESCRIBE) for s in bodies))
        await pump(client, bodies, end_stream=False)
        granted = sum(client.granted.get(s, f.DEFAULT_WINDOW) for s in bodies)
        budget = STRICT.max_connection_request_bytes + LARGEST + 5  # the oldest request may finish
        assert granted <= budget + len(bodies) * f.DEFAULT_WINDOW
        oldest = next(iter(bodies))
        assert client.granted[oldest] == len(bodies[oldest])  # while the budget is spent, it proceeds
    finally:
        client.close()


async def test_concurrent_large_requests_beyond_the_budget_all_complete(strict_server: ServerProcess) -> None:
    """60 MiB of requests sent at once on a connection with an 8 MiB budget: none waits forever."""
    client = await RawH2.connect(strict_server.address)
    try:
        bodies = {client.stream_id(): grpc_message(describe_request(MIB)) for _ in range(60)}
        client.send(b"".join(client.headers_frame(s, DESCRIBE) for s in bodies))
        await pump(client, bodies, end_stream=True)
        for stream_id in bodies:
            assert (await client.response(stream_id)).status == 0
    finally:
        client.close()


async def test_streams_beyond_the_concurrency_limit_are_refused(strict_server: ServerProcess) -> None:
    client = await RawH2.connect(strict_server.address)
    try:
        stream_ids = [client.stream_id() for _ in range(STRICT.max_concurrent_streams + 50)]
        client.send(b"".join(client.headers_frame(s, DESCRIBE) for s in stream_ids))
        refused: set[int] = set()
        cancelled: set[int] = set()
        while len(refused) + len(cancelled) < len(stream_ids):
            frame = await client.read_frame()
            assert frame is not None
            if frame.kind == f.RST_STREAM and frame.error_code == f.REFUSED_STREAM:
                refused.add(frame.stream_id)
            elif frame.kind == f.HEADERS and ("grpc-status", "1") in frame.headers:
                cancelled.add(frame.stream_id)  # the others, once the request timeout passes
        assert refused == set(stream_ids[STRICT.max_concurrent_streams :])
        await bystander_answered(strict_server.address)
    finally:
        client.close()


async def test_a_header_block_that_never_ends_is_cut_short(strict_server: ServerProcess) -> None:
    """200 MiB of CONTINUATION without END_HEADERS: GOAWAY once the block passes its bound."""
    memory = PeakMemory(strict_server.proc.pid)
    client = await RawH2.connect(strict_server.address)
    memory.reset()
    before = memory.current
    goaway = asyncio.ensure_future(client.goaway(timeout=30))
    stream_id = client.stream_id()
    client.send(f.frame(f.HEADERS, 0, stream_id, client.header_block(DESCRIBE)))
    continuation = f.frame(f.CONTINUATION, 0, stream_id, b"\x00" * 16_384)
    sent = 0
    try:
        while not goaway.done() and sent < 200 * MIB:
            client.send(continuation)
            await client.drain()
            await asyncio.sleep(0)  # drain() yields only when the socket backs up: let the reader run
            sent += len(continuation)
    except ConnectionError:
        pass
    assert await goaway == f.ENHANCE_YOUR_CALM
    assert sent < 200 * MIB
    assert memory.peak - before < MEMORY_BOUND
    await bystander_answered(strict_server.address)


@pytest.fixture(scope="module")
async def large_history(strict_server: ServerProcess) -> bytes:
    """A GetWorkflowExecutionHistory request whose answer is about 6 MiB: more than STRICT's unsent limit."""
    client = await Client.connect(strict_server.address)
    workflow_id = f"large-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow("Nobody", b"a" * (3 * MIB), id=workflow_id, task_queue="nobody")
    await handle.signal("grow", b"s" * (3 * MIB))
    return GetWorkflowExecutionHistoryRequest(
        namespace="default", execution=WorkflowExecution(workflow_id=workflow_id)
    ).SerializeToString()


async def logged(server: ServerProcess, text: str, after: int, timeout: float = 30.0) -> None:
    """Wait until ``text`` appears in the server's log past its first ``after`` characters."""
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in server.log_text()[after:]:
        assert asyncio.get_running_loop().time() < deadline, f"never logged: {text}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("windows", ["closed", "open"])
async def test_responses_never_read_are_not_kept(
    strict_server: ServerProcess, large_history: bytes, windows: str
) -> None:
    """40 large histories asked for at once by a client that reads none of them: with its windows
    closed they wait for window in the server, with them open they fill the socket; either way the
    server holds a few, then drops the connection."""
    memory = PeakMemory(strict_server.proc.pid)
    settings = {f.SETTINGS_INITIAL_WINDOW_SIZE: f.MAX_WINDOW} if windows == "open" else {}
    client = await RawH2.connect(strict_server.address, settings)
    try:
        if windows == "open":
            client.send(f.window_update(0, f.MAX_WINDOW - f.DEFAULT_WINDOW))
        log_size = len(strict_server.log_text())
        memory.reset()
        before = memory.current
        for _ in range(40):
            client.request(HISTORY, large_history)
        await client.drain()
        await logged(strict_server, "client not reading responses", after=log_size)
        assert memory.peak - before < MEMORY_BOUND  # 40 x 6 MiB, had they been kept
        await bystander_answered(strict_server.address)
        assert await client.goaway(timeout=30) in (f.ENHANCE_YOUR_CALM, None)  # None: reset mid-read
    finally:
        client.close()


async def test_a_client_that_stops_reading_gets_no_new_calls_then_goaway(
    strict_server: ServerProcess, large_history: bytes
) -> None:
    """A client that reads its socket but never opens its window: one large answer fills the limit,
    the next call does not start, and the connection is closed once nothing moves."""
    client = await RawH2.connect(strict_server.address)
    try:
        first = client.request(HISTORY, large_history)
        frame = await client.until(f.HEADERS, first)  # the answer began; its data waits for window
        assert frame is not None and not frame.flags & f.FLAG_END_STREAM
        second = client.request(DESCRIBE, describe_request())
        await bystander_answered(strict_server.address)
        while True:
            frame = await client.read_frame(timeout=30)
            assert frame is not None, "closed without GOAWAY"
            assert not (frame.kind == f.HEADERS and frame.stream_id == second), "a call started regardless"
            if frame.kind == f.GOAWAY:
                assert frame.error_code == f.ENHANCE_YOUR_CALM
                break
    finally:
        client.close()


async def test_a_path_that_is_not_utf8_is_answered_and_logged(strict_server: ServerProcess) -> None:
    client = await RawH2.connect(strict_server.address)
    try:
        response = await client.response(client.request(b"/\xff\xfe/Method", describe_request()))
        assert response.status == grpc.StatusCode.UNIMPLEMENTED.value[0]
        assert "not UTF-8" in strict_server.log_text()
    finally:
        client.close()


async def test_grpc_clients_queue_calls_beyond_the_concurrency_limit(in_process: Any) -> None:
    """grpc's own client honours SETTINGS_MAX_CONCURRENT_STREAMS: more calls than the limit all succeed."""
    _, _, address = in_process
    async with grpc.aio.insecure_channel(address) as channel:
        slow = channel.unary_unary(f"/{SERVICE}/Slow")
        results = await asyncio.gather(*(slow(b"", timeout=60) for _ in range(STRICT.max_concurrent_streams + 50)))
    assert results == [b"done"] * (STRICT.max_concurrent_streams + 50)
