"""Python activities, called by the TypeScript workflows of ../typescript/src/workflows.ts."""

from temporalio import activity
from temporalio.exceptions import ApplicationError


@activity.defn(name="compose_greeting")
async def compose_greeting(greeting: str, name: str) -> str:
    return f"{greeting} {name} (composed in Python)"


@activity.defn(name="flaky_greeting")
async def flaky_greeting(name: str, failures: int) -> dict:
    """Fails its first ``failures`` attempts with a retryable error, then succeeds."""
    attempt = activity.info().attempt
    if attempt <= failures:
        raise ApplicationError(
            f"attempt {attempt} failed on purpose", {"attempt": attempt}, type="TransientPythonError"
        )
    return {"greeting": f"Hello {name}, Python activity here on attempt {attempt}!", "attempt": attempt}


@activity.defn(name="refuse_greeting")
async def refuse_greeting(name: str) -> str:
    """Always fails with a non-retryable, typed error carrying details."""
    raise ApplicationError(
        f"Python activity refuses to greet {name}",
        {"language": "python", "code": 13},
        "second detail",
        type="PythonActivityError",
        non_retryable=True,
    )


ACTIVITIES = [compose_greeting, flaky_greeting, refuse_greeting]
