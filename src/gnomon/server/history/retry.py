"""Retry policies: Temporal's defaults and the backoff between attempts."""

from __future__ import annotations

from temporalio.api.common.v1 import RetryPolicy
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import Failure

from gnomon.server.protoutil import seconds

DEFAULT_INITIAL_INTERVAL = 1.0
DEFAULT_BACKOFF_COEFFICIENT = 2.0
DEFAULT_MAXIMUM_INTERVAL_FACTOR = 100


def with_defaults(policy: RetryPolicy | None) -> RetryPolicy:
    """The policy with Temporal's defaults filled into every unset field."""
    result = RetryPolicy()
    if policy is not None:
        result.CopyFrom(policy)
    if seconds(result.initial_interval) <= 0:
        result.initial_interval.FromSeconds(int(DEFAULT_INITIAL_INTERVAL))
    if result.backoff_coefficient == 0:
        result.backoff_coefficient = DEFAULT_BACKOFF_COEFFICIENT
    if seconds(result.maximum_interval) <= 0:
        result.maximum_interval.FromNanoseconds(
            result.initial_interval.ToNanoseconds() * DEFAULT_MAXIMUM_INTERVAL_FACTOR
        )
    return result


def failure_type(failure: Failure | None) -> str:
    if failure is None:
        return ""
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type
    return ""


def next_backoff(
    policy: RetryPolicy,
    attempt: int,
    failure: Failure | None,
    *,
    now: float,
    expiration: float,
) -> tuple[float | None, int]:
    """The delay before attempt ``attempt + 1``, or None, with the retry state that explains it.

    ``expiration`` is the absolute time after which no retry may start (0: none).
    """
    if failure is not None and failure.HasField("application_failure_info"):
        info = failure.application_failure_info
        if info.non_retryable or info.type in policy.non_retryable_error_types:
            return None, RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    if policy.maximum_attempts and attempt >= policy.maximum_attempts:
        return None, RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    delay = seconds(policy.initial_interval) * policy.backoff_coefficient ** (attempt - 1)
    maximum = seconds(policy.maximum_interval)
    if maximum > 0:
        delay = min(delay, maximum)
    if failure is not None and failure.HasField("application_failure_info"):
        explicit = failure.application_failure_info.next_retry_delay
        if explicit.seconds or explicit.nanos:
            delay = seconds(explicit)
    if expiration and now + delay >= expiration:
        return None, RetryState.RETRY_STATE_TIMEOUT
    return delay, RetryState.RETRY_STATE_IN_PROGRESS
