"""Check that the ``raw`` driver's runs leave the histories the SDK's runs leave.

For every workload it runs a few workflows with each driver on one server and compares
the event types of the runs' histories (children included). Where the interleaving
depends on timing (when a signal or a child's completion lands relative to a workflow
task) a driver may produce several shapes; every shape the raw driver produced must be
one the SDK can produce too, so both are listed, and deterministic workloads must match
:func:`bench.workloads.expected_event_types` exactly.

    python -m bench.shapes --server gnomon        # or temporal-memory, or --address HOST:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

import grpc
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from bench.drivers import raw, sdk
from bench.drivers.common import OpenSession, run_workflows, workflow_id
from bench.histories import event_types
from bench.servers import SERVER_KINDS, launch
from bench.workloads import WORKLOADS, Step, Workload, expected_event_types

DRIVERS: dict[str, OpenSession] = {"raw": raw.open_session, "sdk": sdk.open_session}
RUNS_PER_DRIVER = 4

Shape = tuple[str, ...]


async def shapes_of(address: str, driver: str, workload: Workload) -> set[Shape]:
    """The distinct history shapes (the child's appended, if any) of a few runs by ``driver``."""
    prefix = f"shape-{driver}-{uuid.uuid4().hex[:8]}"
    outcome = await run_workflows(
        DRIVERS[driver],
        address,
        workload,
        workflows=RUNS_PER_DRIVER,
        concurrency=2,
        id_prefix=prefix,
        task_queue=prefix,
    )
    if outcome.error_count:
        raise RuntimeError(f"{driver} {workload.name}: {outcome.errors}")
    found = set()
    async with grpc.aio.insecure_channel(address) as channel:
        stub = WorkflowServiceStub(channel)
        for i in range(RUNS_PER_DRIVER):
            wid = workflow_id(prefix, i)
            shape = await event_types(stub, wid)
            if Step.CHILD in workload.steps:
                shape += ["|child:"] + await event_types(stub, f"{wid}-child-1")
            found.add(tuple(shape))
    return found


_WORKFLOW_TASK = "WORKFLOW_TASK_SCHEDULED WORKFLOW_TASK_STARTED WORKFLOW_TASK_COMPLETED"


def _show(shape: Shape) -> str:
    return " ".join(shape).replace(_WORKFLOW_TASK, "[WORKFLOW_TASK]")


async def check(address: str) -> bool:
    """Compare both drivers on every workload; print the findings; False if a fixed shape differs."""
    ok = True
    for workload in WORKLOADS.values():
        by_driver = {driver: await shapes_of(address, driver, workload) for driver in DRIVERS}
        expected = expected_event_types(workload)
        if expected is not None:
            agree = all(shapes == {tuple(expected)} for shapes in by_driver.values())
            ok &= agree
            verdict = "same, as expected" if agree else "DIFFERENT"
        elif by_driver["raw"] <= by_driver["sdk"]:
            verdict = "same (interleaving depends on timing)"
        else:
            # Not a failure: the SDK's runs may just not have hit that interleaving this time.
            verdict = "raw produced an interleaving the SDK did not, this time"
        print(f"{workload.name}: {verdict}")
        for driver, shapes in by_driver.items():
            for shape in sorted(shapes):
                print(f"  {driver}: {_show(shape)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", choices=SERVER_KINDS, help="launch this server for the check")
    where.add_argument("--address", help="a running server's host:port")
    args = parser.parse_args()
    if args.address:
        ok = asyncio.run(check(args.address))
    else:
        with tempfile.TemporaryDirectory(prefix="gnomon-shapes-") as tmp:
            server = launch(args.server, Path(tmp))
            try:
                ok = asyncio.run(check(server.address))
            finally:
                server.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
