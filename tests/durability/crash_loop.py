"""The crash loop: SDK load of several workflow shapes while the server is SIGKILLed every few seconds.

A driver keeps starting workflows (activity chains, timers, signals, children, continue-as-new, updates,
local activities, retried activities) and talking to the ones that take signals or updates; a killer
SIGKILLs the server every 1-5 s and restarts it on the same SQLite file and port; the SDK client and
worker in this process reconnect on their own. At the end every *acknowledged* workflow, signal and
update is checked: completed with the right result exactly once, well-formed histories, each activity
scheduled, started and closed once. A start, signal or update whose RPC raised may or may not have
landed: it must be absent, or present once and correct.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.durability.activities import CrashActivities
from tests.durability.crashable import CrashableServer
from tests.durability.workflows import (
    ALL_WORKFLOWS,
    ActivityChainWorkflow,
    ContinueAsNewWorkflow,
    ContinueInput,
    FlakyInput,
    LocalActivityWorkflow,
    ParentWorkflow,
    RetryingActivityWorkflow,
    SignalCollectorWorkflow,
    TimerInput,
    TimerThenActivityWorkflow,
    UpdateCollectorWorkflow,
)
from tests.e2e.invariants import history_problems

logger = logging.getLogger(__name__)
E = EventType

#: A workflow task lost in a crash is retried after this, so keep it short.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=2)
#: Workflows the driver keeps open at once.
MAX_OPEN = 12
#: Signals or updates the driver sends to each collector workflow.
MESSAGES_PER_COLLECTOR = 4
#: Attempts at one signal or update (same request id / update id each time) before it counts as unanswered.
SEND_ATTEMPTS = 5
#: After the last kill: how long every workflow has to finish.
SETTLE_SECONDS = 120.0
#: A chain of continue-as-new runs longer than this is broken (the shape makes 3).
MAX_RUNS = 10

ACTIVITY_CLOSES = {
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


@dataclass
class Tracked:
    """One workflow the driver started: what it expects, and what it sent it."""

    shape: str
    workflow_id: str
    expected: Any
    acknowledged: bool
    run_id: str = ""
    #: For collectors: item -> whether its signal or update was acknowledged.
    messages: dict[str, bool] = field(default_factory=dict)
    #: Updates the server answered with a rejection (not acknowledged: they must not be in history).
    rejected: set[str] = field(default_factory=set)
    #: The signal or update being sent right now ("finish" for the last one); empty when none is.
    sending: str = ""


@dataclass
class CrashLoopReport:
    """What the loop did and what the checks found."""

    kills: int = 0
    starts_attempted: int = 0
    acknowledged: int = 0
    unacknowledged_landed: int = 0
    unacknowledged_absent: int = 0
    completed: int = 0
    signals_acknowledged: int = 0
    updates_acknowledged: int = 0
    updates_rejected: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    incorrect: list[str] = field(default_factory=list)
    shapes: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.incorrect)

    def summary(self) -> str:
        lines = [
            f"kills: {self.kills}, time: {self.elapsed:.0f}s",
            f"workflows: started {self.starts_attempted}, acknowledged {self.acknowledged}, "
            f"completed {self.completed}; unacknowledged starts: {self.unacknowledged_landed} landed, "
            f"{self.unacknowledged_absent} absent",
            f"acknowledged signals: {self.signals_acknowledged}, acknowledged updates: {self.updates_acknowledged}, "
            f"updates rejected by the server: {self.updates_rejected}",
            "shapes: " + ", ".join(f"{shape} {n}" for shape, n in sorted(self.shapes.items())),
            f"lost: {len(self.lost)}, duplicated: {len(self.duplicated)}, incorrect: {len(self.incorrect)}",
        ]
        for title, problems in (("LOST", self.lost), ("DUPLICATED", self.duplicated), ("INCORRECT", self.incorrect)):
            lines += [f"  {title}: {p}" for p in problems[:50]]
        return "\n".join(lines)


def decode(payloads: Any) -> list[Any]:
    return DataConverter.default.payload_converter.from_payloads(list(payloads.payloads))


# -- shapes ------------------------------------------------------------------------------------


SHAPES = ("chain", "timer", "signals", "children", "continue", "updates", "local", "retry")


def _plan(rng: random.Random, n: int, shapes: Sequence[str]) -> tuple[str, Any, list[Any], Any]:
    """(shape, workflow, args, expected result) of the ``n``-th workflow."""
    shape = rng.choice(shapes)
    if shape == "chain":
        values = [n, n + 1, n + 2]
        return shape, ActivityChainWorkflow, [values], [v * v for v in values]
    if shape == "timer":
        return shape, TimerThenActivityWorkflow, [TimerInput(rng.choice([0.5, 1.0, 2.0]), n)], 2 * n
    if shape == "children":
        values = [n, n + 10, n + 20]
        return shape, ParentWorkflow, [values], sum(2 * v for v in values)
    if shape == "continue":
        runs = 3
        return shape, ContinueAsNewWorkflow, [ContinueInput(runs - 1)], sum(2 * r for r in range(runs))
    if shape == "local":
        values = [n, n + 1]
        return shape, LocalActivityWorkflow, [values], [2 * v for v in values]
    if shape == "retry":
        return shape, RetryingActivityWorkflow, [FlakyInput(n, 2)], 3 * n
    collector = SignalCollectorWorkflow if shape == "signals" else UpdateCollectorWorkflow
    return shape, collector, [], None  # the expected result is what was acknowledged


class CrashLoop:
    """Drives the load, kills the server, and checks everything at the end."""

    def __init__(
        self, server: CrashableServer, client: Client, task_queue: str, seed: int, shapes: Sequence[str] = SHAPES
    ) -> None:
        self.server = server
        self.shapes = shapes
        self.client = client
        self.task_queue = task_queue
        self.rng = random.Random(seed)
        self.tracked: list[Tracked] = []
        self.report = CrashLoopReport()
        self._stop_starting = asyncio.Event()
        self._followers: list[asyncio.Task[None]] = []
        self._open = 0

    async def run(self, kills: int) -> CrashLoopReport:
        began = time.monotonic()
        activities = CrashActivities(delay=0.1)
        worker = Worker(self.client, task_queue=self.task_queue, workflows=ALL_WORKFLOWS, activities=activities.all())
        async with worker:
            driver = asyncio.create_task(self._drive())
            await self._kill(kills)
            self._stop_starting.set()
            await driver
            done, late = await asyncio.wait(self._followers, timeout=SETTLE_SECONDS)
            for task in done:
                if task.exception() is not None:
                    self.report.incorrect.append(f"the driver failed: {task.exception()!r}")
            for task in late:
                task.cancel()  # judged (as lost) by the checks
            await asyncio.gather(*late, return_exceptions=True)
        await self._check()
        self.report.elapsed = time.monotonic() - began
        return self.report

    # -- load -------------------------------------------------------------------------------

    async def _drive(self) -> None:
        n = 0
        while not self._stop_starting.is_set():
            if self._open < MAX_OPEN:
                await self._start(n)
                n += 1
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))

    async def _start(self, n: int) -> None:
        shape, workflow, args, expected = _plan(self.rng, n, self.shapes)
        workflow_id = f"loop-{shape}-{n}-{uuid.uuid4().hex[:6]}"
        self.report.starts_attempted += 1
        self.report.shapes[shape] += 1
        try:
            handle = await self.client.start_workflow(
                workflow, args=args, id=workflow_id, task_queue=self.task_queue, task_timeout=WORKFLOW_TASK_TIMEOUT
            )
            tracked = Tracked(shape, workflow_id, expected, acknowledged=True, run_id=handle.result_run_id or "")
        except RPCError as error:
            logger.info("start of %s raised %s", workflow_id, error)
            tracked = Tracked(shape, workflow_id, expected, acknowledged=False)
        self.tracked.append(tracked)
        self._followers.append(asyncio.create_task(self._follow(tracked)))

    async def _follow(self, tracked: Tracked) -> None:
        """Send the workflow its signals or updates if it takes them, then wait until it closes."""
        self._open += 1
        try:
            if not tracked.acknowledged and not await self._exists(tracked.workflow_id):
                return
            if tracked.shape in ("signals", "updates"):
                await self._send_messages(tracked)
            handle = self.client.get_workflow_handle(tracked.workflow_id)
            while True:
                try:
                    await handle.result()  # follows continue-as-new
                    return
                except RPCError:
                    await asyncio.sleep(0.5)  # the server is down: ask again
                except WorkflowFailureError:
                    return  # judged by the checks
        finally:
            self._open -= 1

    async def _exists(self, workflow_id: str) -> bool:
        while True:
            try:
                await self.client.get_workflow_handle(workflow_id).describe()
                return True
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:
                    return False
                await asyncio.sleep(0.5)

    async def _send_messages(self, tracked: Tracked) -> None:
        """The collector's signals or updates, then ``finish`` (retried until acknowledged)."""
        handle = self.client.get_workflow_handle(tracked.workflow_id)
        for i in range(MESSAGES_PER_COLLECTOR):
            await asyncio.sleep(self.rng.uniform(0.1, 0.6))
            item = tracked.sending = f"{tracked.workflow_id}-m{i}"
            if tracked.shape == "signals":
                tracked.messages[item] = await self._signal(tracked.workflow_id, item)
            else:
                tracked.messages[item] = await self._update(handle, tracked, item)
        tracked.sending = "finish"
        while True:
            try:
                await handle.signal("finish")
                tracked.sending = ""
                return
            except RPCError:
                await asyncio.sleep(0.5)

    async def _signal(self, workflow_id: str, item: str) -> bool:
        """One signal, resent with the same request id until it is acknowledged (the server dedups)."""
        request = SignalWorkflowExecutionRequest(
            namespace=self.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name="add",
            input=Payloads(payloads=DataConverter.default.payload_converter.to_payloads([item])),
            identity="crash-loop",
            request_id=str(uuid.uuid4()),
        )
        for _ in range(SEND_ATTEMPTS):
            try:
                await self.client.workflow_service.signal_workflow_execution(request, timeout=timedelta(seconds=5))
                return True
            except RPCError:
                await asyncio.sleep(0.5)
        return False

    async def _update(self, handle: WorkflowHandle[Any, Any], tracked: Tracked, item: str) -> bool:
        """One update, re-executed with the same update id until it is acknowledged (the server dedups)."""
        for _ in range(SEND_ATTEMPTS):
            try:
                await handle.execute_update(
                    UpdateCollectorWorkflow.add, item, id=item, rpc_timeout=timedelta(seconds=10)
                )
                return True
            except WorkflowUpdateFailedError as error:
                # An answer, not an acknowledgement: the update must then be absent from history.
                logger.warning("update %s rejected: %s", item, error.cause)
                tracked.rejected.add(item)
                return False
            except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
                await asyncio.sleep(0.5)
        return False

    async def _kill(self, kills: int) -> None:
        for _ in range(kills):
            await asyncio.sleep(self.rng.uniform(1.0, 5.0))
            self.server.crash()
            self.report.kills += 1
            await self.server.restart_after(self.rng.uniform(0.0, 0.5))

    # -- checks -----------------------------------------------------------------------------

    async def _check(self) -> None:
        for tracked in self.tracked:
            if tracked.acknowledged:
                self.report.acknowledged += 1
            await self._check_one(tracked)
        self.report.signals_acknowledged = sum(
            ack for t in self.tracked if t.shape == "signals" for ack in t.messages.values()
        )
        self.report.updates_acknowledged = sum(
            ack for t in self.tracked if t.shape == "updates" for ack in t.messages.values()
        )
        self.report.updates_rejected = sum(len(t.rejected) for t in self.tracked)

    async def _check_one(self, tracked: Tracked) -> None:
        wid = tracked.workflow_id
        runs = await self._runs(wid, tracked.run_id)
        if runs is None:
            if tracked.acknowledged:
                self.report.lost.append(f"{wid}: acknowledged start, no such workflow")
            else:
                self.report.unacknowledged_absent += 1
            return
        if not tracked.acknowledged:
            self.report.unacknowledged_landed += 1
        elif runs[0][0] != tracked.run_id:
            self.report.duplicated.append(f"{wid}: first run {runs[0][0]} is not the acknowledged {tracked.run_id}")
        expected_runs = 3 if tracked.shape == "continue" else 1
        if len(runs) != expected_runs:
            target = self.report.duplicated if len(runs) > expected_runs else self.report.lost
            target.append(f"{wid}: {len(runs)} runs, expected {expected_runs}")
        for i, (run_id, events) in enumerate(runs):
            last = i == len(runs) - 1
            self._check_history(f"{wid}/{run_id}", events, continued=not last)
        final = runs[-1][1]
        if final[-1].event_type != E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            stuck = f" (the driver was still waiting for {tracked.sending!r} to be answered)" if tracked.sending else ""
            self.report.lost.append(f"{wid}: last run ends with {E.Name(final[-1].event_type)}, not completed{stuck}")
            return
        result = decode(final[-1].workflow_execution_completed_event_attributes.result)[0]
        if tracked.shape in ("signals", "updates"):
            self._check_messages(tracked, runs[0][1], result)
        elif result != tracked.expected:
            self.report.incorrect.append(f"{wid}: result {result!r}, expected {tracked.expected!r}")
        if tracked.shape == "children":
            await self._check_children(wid, runs[0][1])
        if tracked.shape == "local":
            markers = sum(1 for e in runs[0][1] if e.event_type == E.EVENT_TYPE_MARKER_RECORDED)
            if markers != 2:
                target = self.report.duplicated if markers > 2 else self.report.lost
                target.append(f"{wid}: {markers} local activity markers, expected 2")
        if tracked.acknowledged:
            self.report.completed += 1

    async def _runs(self, workflow_id: str, first_run: str = "") -> list[tuple[str, list[HistoryEvent]]] | None:
        """Every run of the workflow id, first to last, following continue-as-new; None if it does not exist."""
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            latest = await handle.describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        info = latest.raw_description.workflow_execution_info
        runs = []
        run_id: str | None = first_run or info.first_run_id or latest.run_id
        while run_id:
            events = list((await self.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events)
            runs.append((run_id, events))
            run_id = None
            if events and events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                run_id = events[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if len(runs) > MAX_RUNS:
                break
        return runs

    def _check_history(self, name: str, events: Sequence[HistoryEvent], *, continued: bool) -> None:
        problems = history_problems(events)
        if problems:
            self.report.incorrect.append(f"{name}: malformed history: {problems[:3]}")
        closing = E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW if continued else None
        if closing is not None and events and events[-1].event_type != closing:
            self.report.incorrect.append(f"{name}: ends with {E.Name(events[-1].event_type)}, expected continue-as-new")
        self._check_activities(name, events)

    def _check_activities(self, name: str, events: Sequence[HistoryEvent]) -> None:
        """Each scheduled activity started once and closed once (completed), whatever the attempts."""
        scheduled = [e.event_id for e in events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
        started = Counter(
            e.activity_task_started_event_attributes.scheduled_event_id
            for e in events
            if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED
        )
        closed: Counter[int] = Counter()
        for e in events:
            if e.event_type in ACTIVITY_CLOSES:
                closed[getattr(e, ACTIVITY_CLOSES[e.event_type]).scheduled_event_id] += 1
                if e.event_type != E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                    self.report.incorrect.append(f"{name}: activity closed with {E.Name(e.event_type)}")
        for event_id in scheduled:
            for what, counter in (("started", started), ("closed", closed)):
                if counter[event_id] > 1:
                    self.report.duplicated.append(f"{name}: activity {event_id} {what} {counter[event_id]} times")
                elif counter[event_id] == 0:
                    self.report.lost.append(f"{name}: activity {event_id} never {what}")

    def _check_messages(self, tracked: Tracked, events: Sequence[HistoryEvent], result: list[str]) -> None:
        wid = tracked.workflow_id
        if tracked.shape == "signals":
            seen = [
                decode(e.workflow_execution_signaled_event_attributes.input)[0]
                for e in events
                if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                and e.workflow_execution_signaled_event_attributes.signal_name == "add"
            ]
        else:
            seen = [
                e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
                for e in events
                if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            ]
            completed = Counter(
                e.workflow_execution_update_completed_event_attributes.meta.update_id
                for e in events
                if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
            )
            for update_id in seen:
                if completed[update_id] != 1:
                    target = self.report.duplicated if completed[update_id] > 1 else self.report.lost
                    target.append(f"{wid}: update {update_id} completed {completed[update_id]} times")
        counts = Counter(seen)
        for item, n in counts.items():
            if n > 1:
                self.report.duplicated.append(f"{wid}: {tracked.shape} {item} in history {n} times")
            if item not in tracked.messages:
                self.report.incorrect.append(f"{wid}: {item} in history, never sent")
        for item, acknowledged in tracked.messages.items():
            if acknowledged and item not in counts:
                self.report.lost.append(f"{wid}: acknowledged {tracked.shape} {item} not in history")
        for item in tracked.rejected & set(counts):
            self.report.incorrect.append(f"{wid}: update {item} was rejected to its caller, yet accepted in history")
        if result != seen:
            self.report.incorrect.append(f"{wid}: result {result} is not the history's {seen}")

    async def _check_children(self, parent_id: str, events: Sequence[HistoryEvent]) -> None:
        initiated = sum(1 for e in events if e.event_type == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
        started = sum(1 for e in events if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
        completed = sum(1 for e in events if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
        if (initiated, started, completed) != (3, 3, 3):
            self.report.incorrect.append(
                f"{parent_id}: children initiated/started/completed {initiated}/{started}/{completed}"
            )
        for i in range(3):
            runs = await self._runs(f"{parent_id}-child-{i}")
            if runs is None:
                self.report.lost.append(f"{parent_id}: child {i} does not exist")
                continue
            if len(runs) != 1:
                self.report.duplicated.append(f"{parent_id}: child {i} has {len(runs)} runs")
            for run_id, child_events in runs:
                self._check_history(f"{parent_id}-child-{i}/{run_id}", child_events, continued=False)
