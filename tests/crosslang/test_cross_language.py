"""Cross-language orchestration through the server, with the official SDKs in real processes.

The programs are those of ``examples/cross-language`` and are run with the commands its
README gives (``npm ci``, ``npm run build``, ``npm run worker``, ``npm run client -- ...``,
``python worker.py``, ``python client.py ...``), against the ``server`` fixture:

* a TypeScript client (``@temporalio/client``) runs Python workflows on ``hello-task-queue``
  (Python worker, official ``temporalio`` SDK);
* a Python client runs TypeScript workflows (``@temporalio/worker``) on
  ``typescript-task-queue``, which call Python activities on ``python-activity-task-queue``;
* signals and queries, typed failures (type, message, details), a retried activity and
  timers cross the language boundary both ways.

The npm packages are installed here, once per session (``npm ci``, skipped while
``node_modules`` matches the lockfile). The TypeScript worker's native bridge ships inside
the ``@temporalio/core-bridge`` npm package, so the registry is all this needs.
Without Node.js >= 20.3 and npm on PATH the module is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from tests.support import npm
from tests.support.servers import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "examples" / "cross-language"
TS_DIR = EXAMPLE_DIR / "typescript"
PY_DIR = EXAMPLE_DIR / "python"

SCENARIO_TIMEOUT = 30.0  # seconds for one client run, start to result
WORKER_START_TIMEOUT = 120.0  # the TypeScript worker bundles its workflows with webpack at start
NPM_CI_TIMEOUT = 900.0
BUILD_TIMEOUT = 300.0

# The whole module's budget, including a first npm ci; each client run is bounded by SCENARIO_TIMEOUT.
pytestmark = pytest.mark.timeout(NPM_CI_TIMEOUT + BUILD_TIMEOUT + 300)


# --------------------------------------------------------------------------- set-up


@pytest.fixture(scope="session")
def ts_project(output_dir: Path) -> Path:
    """``examples/cross-language/typescript`` with its npm packages installed and its TypeScript built."""
    missing = npm.missing_node_reason("the cross-language tests")
    if missing:
        pytest.skip(missing)
    log_path = output_dir / "crosslang-setup.log"
    try:
        with npm.InstallLock(output_dir / "crosslang-npm.lock"):
            npm.npm_ci(TS_DIR, log_path, NPM_CI_TIMEOUT)
            npm.run_logged(["npm", "run", "build"], TS_DIR, log_path, BUILD_TIMEOUT)
    except npm.SetupError as err:
        pytest.fail(str(err))
    return TS_DIR


# --------------------------------------------------------------------------- processes


def _example_env(server: ServerProcess) -> dict[str, str]:
    env = os.environ.copy()
    env.update(TEMPORAL_ADDRESS=server.address, TEMPORAL_NAMESPACE="default", PYTHONUNBUFFERED="1")
    return env


class WorkerProcess:
    """A long-running example worker, in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, marker: str, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if marker in self.log_text():
                return time.monotonic() - started
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.name} not ready (exit {self.proc.returncode}) after {timeout}s:\n{self.log_text()[-4000:]}")

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)  # the group this fixture started: npm, sh, node

    def stop(self) -> None:
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._signal_group(signal.SIGKILL)  # anything left in the group


@pytest.fixture(scope="module")
def workers(server: ServerProcess, ts_project: Path, output_dir: Path) -> Iterator[dict[str, WorkerProcess]]:
    """The Python worker (``python worker.py``) and the TypeScript worker (``npm run worker``)."""
    env = _example_env(server)
    python_worker = WorkerProcess(
        "python worker",
        [sys.executable, "worker.py"],
        PY_DIR,
        env,
        output_dir / f"crosslang-python-worker-{server.port}.log",
    )
    ts_worker = WorkerProcess(
        "typescript worker",
        ["npm", "run", "worker"],
        ts_project,
        env,
        output_dir / f"crosslang-ts-worker-{server.port}.log",
    )
    started = {"python": python_worker, "typescript": ts_worker}
    try:
        python_worker.wait_ready("Python worker ready", WORKER_START_TIMEOUT)
        ts_worker.wait_ready("TypeScript worker ready", WORKER_START_TIMEOUT)
        yield started
    finally:
        for worker in started.values():
            worker.stop()


async def _run_client(
    args: list[str], cwd: Path, server: ServerProcess, workers: dict[str, WorkerProcess]
) -> tuple[str, str]:
    """Run one client command; return (its result: stdout's last line, its stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=_example_env(server),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), SCENARIO_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = await proc.communicate()
        pytest.fail(
            f"{' '.join(args)} did not finish within {SCENARIO_TIMEOUT}s\nstdout:\n{out.decode()}\nstderr:\n"
            f"{err.decode()}\n{_worker_logs(workers)}"
        )
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    assert proc.returncode == 0, (
        f"{' '.join(args)} exited {proc.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}\n{_worker_logs(workers)}"
    )
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, f"{' '.join(args)} printed no result; stderr:\n{stderr}"
    return lines[-1], stderr


def _worker_logs(workers: dict[str, WorkerProcess]) -> str:
    return "\n".join(f"--- {w.name} log ({w.log_path}):\n{w.log_text()[-3000:]}" for w in workers.values())


async def ts_client(server: ServerProcess, workers: dict[str, WorkerProcess], *args: str) -> tuple[str, str]:
    return await _run_client(["npm", "run", "client", "--", *args], TS_DIR, server, workers)


async def py_client(server: ServerProcess, workers: dict[str, WorkerProcess], *args: str) -> tuple[str, str]:
    return await _run_client([sys.executable, "client.py", *args], PY_DIR, server, workers)


def _workflow_id(stderr: str) -> str:
    match = re.search(r" as (\S+) on ", stderr)
    assert match, f"no workflow id in the client's progress output:\n{stderr}"
    return match.group(1)


async def _history(client: Client, workflow_id: str) -> list[HistoryEvent]:
    return [event async for event in client.get_workflow_handle(workflow_id).fetch_history_events()]


def _events(history: list[HistoryEvent], attributes: str) -> list:
    """The ``<attributes>`` of every event that has them, e.g. ``activity_task_started_event_attributes``."""
    return [getattr(e, attributes) for e in history if e.WhichOneof("attributes") == attributes]


def _identities(history: list[HistoryEvent], attributes: str) -> set[str]:
    return {attrs.identity for attrs in _events(history, attributes)}


def _all_start_with(identities: set[str], prefix: str) -> bool:
    return bool(identities) and all(identity.startswith(prefix) for identity in identities)


# --------------------------------------------------------------------------- TypeScript client -> Python


async def test_typescript_client_runs_python_workflow(server, workers, client: Client) -> None:
    result, stderr = await ts_client(server, workers, "hello", "TypeScript")
    assert result == "Hello TypeScript, Python here!"

    history = await _history(client, _workflow_id(stderr))
    started = _events(history, "workflow_execution_started_event_attributes")[0]
    assert started.workflow_type.name == "SayHello"
    assert started.task_queue.name == "hello-task-queue"
    assert _all_start_with(_identities(history, "workflow_task_completed_event_attributes"), "python-worker-")


async def test_typescript_client_signals_and_queries_python_workflow(server, workers, client: Client) -> None:
    result, _ = await ts_client(server, workers, "signal-query")
    output = json.loads(result)
    assert output["queried"] == ["Ada", "Grace"]
    assert output["result"] == "Hello Ada and Grace, Python here!"

    history = await _history(client, output["workflowId"])
    signals = [attrs.signal_name for attrs in _events(history, "workflow_execution_signaled_event_attributes")]
    assert signals == ["add_name", "add_name", "finish"]


async def test_python_workflow_failure_reaches_typescript_typed(server, workers, client: Client) -> None:
    result, _ = await ts_client(server, workers, "failure")
    output = json.loads(result)
    assert output["errorClass"] == "WorkflowFailedError"
    assert output["causeClass"] == "ApplicationFailure"
    assert output["type"] == "PythonWorkflowError"
    assert output["message"] == "Python workflow refused: no reason at all"
    assert output["details"] == [{"language": "python", "code": 42}, "second detail"]
    assert output["nonRetryable"] is True

    history = await _history(client, output["workflowId"])
    failure = _events(history, "workflow_execution_failed_event_attributes")[0].failure
    assert failure.application_failure_info.type == "PythonWorkflowError"


async def test_python_workflow_timer_from_typescript_client(server, workers, client: Client) -> None:
    result, _ = await ts_client(server, workers, "timer", "1000")
    output = json.loads(result)
    assert output["result"] == "Hello TypeScript, Python here after a 1000 ms timer!"
    assert output["elapsedMs"] >= 1000

    history = await _history(client, output["workflowId"])
    timers = _events(history, "timer_started_event_attributes")
    assert [t.start_to_fire_timeout.ToMilliseconds() for t in timers] == [1000]
    assert len(_events(history, "timer_fired_event_attributes")) == 1


# --------------------------------------------------------------------------- Python client -> TypeScript -> Python


async def test_python_client_runs_typescript_workflow_calling_python_activity(server, workers, client: Client) -> None:
    result, stderr = await py_client(server, workers, "hello", "Python")
    assert result == "Hello Python (composed in Python), TypeScript here!"

    history = await _history(client, _workflow_id(stderr))
    started = _events(history, "workflow_execution_started_event_attributes")[0]
    assert started.workflow_type.name == "sayHelloFromTypeScript"
    assert started.task_queue.name == "typescript-task-queue"
    assert _all_start_with(_identities(history, "workflow_task_completed_event_attributes"), "typescript-worker-")
    scheduled = _events(history, "activity_task_scheduled_event_attributes")
    assert [(a.activity_type.name, a.task_queue.name) for a in scheduled] == [
        ("compose_greeting", "python-activity-task-queue")
    ]
    assert _all_start_with(_identities(history, "activity_task_started_event_attributes"), "python-worker-")


async def test_python_client_signals_and_queries_typescript_workflow(server, workers, client: Client) -> None:
    result, _ = await py_client(server, workers, "signal-query")
    output = json.loads(result)
    assert output["queried"] == ["Ada", "Grace"]
    assert output["result"] == "Hello Ada and Grace, TypeScript here!"

    history = await _history(client, output["workflowId"])
    signals = [attrs.signal_name for attrs in _events(history, "workflow_execution_signaled_event_attributes")]
    assert signals == ["add_name", "add_name", "finish"]
    assert _all_start_with(_identities(history, "workflow_task_completed_event_attributes"), "typescript-worker-")


async def test_typescript_workflow_failure_reaches_python_typed(server, workers, client: Client) -> None:
    result, _ = await py_client(server, workers, "failure")
    output = json.loads(result)
    assert output["errorClass"] == "WorkflowFailureError"
    assert output["causeClass"] == "ApplicationError"
    assert output["type"] == "TypeScriptWorkflowError"
    assert output["message"] == "TypeScript workflow refused: no reason at all"
    assert output["details"] == [{"language": "typescript", "code": 7}, "second detail"]
    assert output["nonRetryable"] is True

    history = await _history(client, output["workflowId"])
    failure = _events(history, "workflow_execution_failed_event_attributes")[0].failure
    assert failure.application_failure_info.type == "TypeScriptWorkflowError"


async def test_python_activity_failure_reaches_typescript_workflow_typed(server, workers, client: Client) -> None:
    result, _ = await py_client(server, workers, "activity-failure")
    output = json.loads(result)
    assert output["seenByTypeScript"] == {
        "errorClass": "ActivityFailure",
        "activityType": "refuse_greeting",
        "retryState": "NON_RETRYABLE_FAILURE",
        "causeClass": "ApplicationFailure",
        "type": "PythonActivityError",
        "message": "Python activity refuses to greet Python",
        "details": [{"language": "python", "code": 13}, "second detail"],
        "nonRetryable": True,
    }

    history = await _history(client, output["workflowId"])
    failed = _events(history, "activity_task_failed_event_attributes")
    assert len(failed) == 1  # non-retryable: one attempt only
    assert failed[0].failure.application_failure_info.type == "PythonActivityError"
    assert failed[0].failure.application_failure_info.non_retryable
    assert failed[0].identity.startswith("python-worker-")


async def test_python_activity_retried_for_typescript_workflow(server, workers, client: Client) -> None:
    result, _ = await py_client(server, workers, "retry", "2")
    output = json.loads(result)
    assert output["result"] == {"greeting": "Hello Python, Python activity here on attempt 3!", "attempt": 3}

    history = await _history(client, output["workflowId"])
    started = _events(history, "activity_task_started_event_attributes")
    assert [s.attempt for s in started] == [3]  # the server records the last attempt only
    last_failure = started[0].last_failure
    assert last_failure.application_failure_info.type == "TransientPythonError"
    assert last_failure.message == "attempt 2 failed on purpose"
    assert len(_events(history, "activity_task_completed_event_attributes")) == 1


async def test_typescript_workflow_timer_from_python_client(server, workers, client: Client) -> None:
    result, _ = await py_client(server, workers, "timer", "1000")
    output = json.loads(result)
    assert output["result"] == "Hello Python, TypeScript here after a 1000 ms timer!"
    assert output["elapsedMs"] >= 1000

    history = await _history(client, output["workflowId"])
    timers = _events(history, "timer_started_event_attributes")
    assert [t.start_to_fire_timeout.ToMilliseconds() for t in timers] == [1000]
    assert len(_events(history, "timer_fired_event_attributes")) == 1
