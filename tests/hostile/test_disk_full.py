"""A full disk: writes refused cleanly, start-up still possible, and writes resume once space returns.

The database lives on a small tmpfs of its own (mounting one needs root, as in CI here; the
test is skipped, saying why, where that is not allowed), which a filler file then fills.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest, StartWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.helpers import running_worker
from tests.support.servers import start_gnomon
from tests.support.targets import ON_GNOMON

pytestmark = [pytest.mark.skipif(not ON_GNOMON, reason="Gnomon's own storage"), pytest.mark.timeout(120)]

DISK_BYTES = 16 * 1024 * 1024
PAYLOAD = "x" * 20_000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> Path:
    """Use up every free byte of ``disk`` with a filler file."""
    filler = disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
            os.fsync(out.fileno())
    return filler


async def _start(client: Client, task_queue: str) -> str:
    """Start an EchoWorkflow; without the SDK's retries, which would wait out a full disk."""
    workflow_id = f"disk-{uuid.uuid4().hex[:10]}"
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=workflow_id,
        workflow_type=WorkflowType(name="EchoWorkflow"),
        task_queue=TaskQueue(name=task_queue),
        request_id=str(uuid.uuid4()),
        input=Payloads(payloads=client.data_converter.payload_converter.to_payloads([PAYLOAD])),
    )
    await client.workflow_service.start_workflow_execution(request, retry=False)
    return workflow_id


async def test_full_disk_refuses_writes_then_recovers(small_disk: Path, output_dir: Path, task_queue: str) -> None:
    db = small_disk / "gnomon.db"
    server = start_gnomon(output_dir, db_filename=db)
    try:
        client = await Client.connect(server.address)
        before_full = [await _start(client, task_queue) for _ in range(5)]
        filler = _fill(small_disk)
        refused = 0
        for _ in range(30):
            try:
                await _start(client, task_queue)
            except RPCError as error:
                assert error.status == RPCStatusCode.RESOURCE_EXHAUSTED, error.message
                assert "disk is full" in error.message
                refused += 1
        assert refused >= 25, "the disk was full, yet writes landed"

        # Killed while the disk is full, it starts again and serves what it has.
        server.kill()
        server = start_gnomon(output_dir, db_filename=db)
        client = await Client.connect(server.address)
        for workflow_id in before_full:
            await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace="default", execution=WorkflowExecution(workflow_id=workflow_id)
                )
            )
        with pytest.raises(RPCError) as caught:
            await _start(client, task_queue)
        assert caught.value.status == RPCStatusCode.RESOURCE_EXHAUSTED

        # Space returns: writes resume without a restart, and every accepted workflow completes.
        filler.unlink()
        after = [await _start(client, task_queue) for _ in range(3)]
        async with running_worker(client, task_queue):
            for workflow_id in before_full + after:
                assert await client.get_workflow_handle(workflow_id).result() == PAYLOAD
    finally:
        server.kill()
    log = server.log_text()
    assert "Traceback" not in log
    # One line as each full-disk episode begins (a few: small writes squeeze in between).
    assert 1 <= log.count("disk full: writes") <= 10, log[-3000:]
