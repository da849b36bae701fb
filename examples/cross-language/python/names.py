"""Names shared by both languages; ../typescript/src/names.ts spells the same strings.

A workflow type, an activity type, a signal or query name and a task queue are
just strings on the wire, so a Python client can start a TypeScript workflow and
a TypeScript workflow can call a Python activity.
"""

import os

# Python worker: the Python workflows (SayHello, GreetingCollector, ...).
PYTHON_WORKFLOW_TASK_QUEUE = "hello-task-queue"
# Python worker: the Python activities called by the TypeScript workflows.
PYTHON_ACTIVITY_TASK_QUEUE = "python-activity-task-queue"
# TypeScript worker: the TypeScript workflows.
TYPESCRIPT_WORKFLOW_TASK_QUEUE = "typescript-task-queue"


def temporal_address() -> str:
    return os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")


def temporal_namespace() -> str:
    return os.environ.get("TEMPORAL_NAMESPACE", "default")
