"""The Python client: starts TypeScript workflows (run by ../typescript/src/worker.ts on
'typescript-task-queue'), which call Python activities.

    python client.py hello [NAME]             sayHelloFromTypeScript(NAME)
    python client.py signal-query             signals and queries greetingCollector; prints JSON
    python client.py failure                  failInTypeScript fails; prints the typed failure as JSON
    python client.py activity-failure         a Python activity's failure, as the TypeScript workflow saw it
    python client.py retry [FAILURES]         a Python activity fails FAILURES times, then succeeds
    python client.py timer [MILLIS]           sleepyGreeting sleeps on a timer; prints JSON

The result goes to stdout (last line); progress goes to stderr.
"""

import asyncio
import json
import os
import sys
import time
import uuid

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

# isort: split
from names import TYPESCRIPT_WORKFLOW_TASK_QUEUE, temporal_address, temporal_namespace

TASK_QUEUE = TYPESCRIPT_WORKFLOW_TASK_QUEUE


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def new_id(kind: str) -> str:
    return f"py-client-{kind}-{uuid.uuid4()}"


async def hello(client: Client, name: str) -> str:
    workflow_id = new_id("hello")
    log(f"executing sayHelloFromTypeScript({name!r}) as {workflow_id} on {TASK_QUEUE}")
    return await client.execute_workflow("sayHelloFromTypeScript", name, id=workflow_id, task_queue=TASK_QUEUE)


async def signal_query(client: Client) -> str:
    workflow_id = new_id("collector")
    log(f"starting greetingCollector as {workflow_id} on {TASK_QUEUE}")
    handle = await client.start_workflow("greetingCollector", id=workflow_id, task_queue=TASK_QUEUE)
    await handle.signal("add_name", "Ada")
    await handle.signal("add_name", "Grace")
    queried = await handle.query("names")
    log(f"query 'names' answered {queried!r}")
    await handle.signal("finish")
    result = await handle.result()
    return json.dumps({"workflowId": workflow_id, "queried": queried, "result": result})


async def failure(client: Client) -> str:
    workflow_id = new_id("failure")
    log(f"executing failInTypeScript as {workflow_id} on {TASK_QUEUE}")
    try:
        await client.execute_workflow("failInTypeScript", "no reason at all", id=workflow_id, task_queue=TASK_QUEUE)
    except WorkflowFailureError as err:
        cause = err.cause
        if not isinstance(cause, ApplicationError):
            raise
        return json.dumps(
            {
                "workflowId": workflow_id,
                "errorClass": type(err).__name__,
                "causeClass": type(cause).__name__,
                "type": cause.type,
                "message": cause.message,
                "details": list(cause.details),
                "nonRetryable": cause.non_retryable,
            }
        )
    raise RuntimeError("failInTypeScript unexpectedly succeeded")


async def activity_failure(client: Client) -> str:
    workflow_id = new_id("activity-failure")
    log(f"executing activityFailureSeenByTypeScript as {workflow_id} on {TASK_QUEUE}")
    seen = await client.execute_workflow(
        "activityFailureSeenByTypeScript", "Python", id=workflow_id, task_queue=TASK_QUEUE
    )
    return json.dumps({"workflowId": workflow_id, "seenByTypeScript": seen})


async def retry(client: Client, failures: int) -> str:
    workflow_id = new_id("retry")
    log(f"executing flakyGreeting('Python', {failures}) as {workflow_id} on {TASK_QUEUE}")
    result = await client.execute_workflow(
        "flakyGreeting", args=["Python", failures], id=workflow_id, task_queue=TASK_QUEUE
    )
    return json.dumps({"workflowId": workflow_id, "result": result})


async def timer(client: Client, millis: int) -> str:
    workflow_id = new_id("timer")
    log(f"executing sleepyGreeting('Python', {millis}) as {workflow_id} on {TASK_QUEUE}")
    started = time.monotonic()
    result = await client.execute_workflow(
        "sleepyGreeting", args=["Python", millis], id=workflow_id, task_queue=TASK_QUEUE
    )
    elapsed_ms = round((time.monotonic() - started) * 1000)
    return json.dumps({"workflowId": workflow_id, "result": result, "elapsedMs": elapsed_ms})


async def main(argv: list[str]) -> None:
    command = argv[0] if argv else "hello"
    arg = argv[1] if len(argv) > 1 else None
    client = await Client.connect(temporal_address(), namespace=temporal_namespace())
    if command == "hello":
        output = await hello(client, arg or "Python")
    elif command == "signal-query":
        output = await signal_query(client)
    elif command == "failure":
        output = await failure(client)
    elif command == "activity-failure":
        output = await activity_failure(client)
    elif command == "retry":
        output = await retry(client, int(arg or 2))
    elif command == "timer":
        output = await timer(client, int(arg or 1500))
    else:
        raise SystemExit(f"unknown command {command!r}: hello, signal-query, failure, activity-failure, retry or timer")
    print(output, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
    # A short-lived process using temporalio can abort at interpreter exit while the SDK's
    # Rust runtime threads wind down ("Fatal Python error: PyGILState_Release", temporalio
    # sdk-python issue #300). The result is printed: leave without interpreter finalization.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
