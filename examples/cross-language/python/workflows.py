"""Python workflows, started by the TypeScript client (../typescript/src/client.ts)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn(name="SayHello")
class SayHello:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"Hello {name}, Python here!"


@workflow.defn(name="GreetingCollector")
class GreetingCollector:
    """Collects names sent by signal (from any language) until ``finish``; ``names`` queries them."""

    def __init__(self) -> None:
        self._names: list[str] = []
        self._finished = False

    @workflow.signal(name="add_name")
    def add_name(self, name: str) -> None:
        self._names.append(name)

    @workflow.signal(name="finish")
    def finish(self) -> None:
        self._finished = True

    @workflow.query(name="names")
    def names(self) -> list[str]:
        return self._names

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._finished)
        return f"Hello {' and '.join(self._names)}, Python here!"


@workflow.defn(name="FailInPython")
class FailInPython:
    """Fails with a typed application error that a TypeScript client receives as an ApplicationFailure."""

    @workflow.run
    async def run(self, reason: str) -> str:
        raise ApplicationError(
            f"Python workflow refused: {reason}",
            {"language": "python", "code": 42},
            "second detail",
            type="PythonWorkflowError",
            non_retryable=True,
        )


@workflow.defn(name="SleepyGreeting")
class SleepyGreeting:
    """Sleeps on a durable timer, then greets."""

    @workflow.run
    async def run(self, name: str, millis: int) -> str:
        await workflow.sleep(timedelta(milliseconds=millis))
        return f"Hello {name}, Python here after a {millis} ms timer!"


WORKFLOWS = [SayHello, GreetingCollector, FailInPython, SleepyGreeting]
