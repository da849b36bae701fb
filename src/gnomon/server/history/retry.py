"""Retry policies: Temporal's defaults and the backoff between attempts."""

from __future__ import annotations

import math

from temporalio.api.common.v1 import RetryPolicy
from temporalio.api.enums.v1 import RetryState, TimeoutType
from temporalio.api.failure.v1 import Failure

from gnomon.server.protoutil import duration_problem, seconds

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


TIMEOUT_TYPE_PREFIX = "TemporalTimeout:"


def problem(policy: RetryPolicy) -> str | None:
    """Why the reference refuses ``policy`` (in its words), or None if it is valid.

    Unset fields take their defaults first, as on the reference: a backoff coefficient of 0
    is the default 2, one of 0.5 is refused. NaN and infinity pass, as they do there; the
    interval they lead to is the maximum interval (see :func:`next_backoff`).
    """
    if policy.maximum_attempts == 1:
        return None  # no retries: nothing else matters
    initial = duration_problem(policy.initial_interval)
    if initial is not None:
        return f"invalid InitialInterval set on retry policy: {initial}"
    if policy.backoff_coefficient and policy.backoff_coefficient < 1:
        return "BackoffCoefficient cannot be less than 1 on retry policy."
    maximum = duration_problem(policy.maximum_interval)
    if maximum is not None:
        return f"invalid MaximumInterval set on retry policy: {maximum}"
    if 0 < seconds(policy.maximum_interval) < seconds(policy.initial_interval):
        return "MaximumInterval cannot be less than InitialInterval on retry policy."
    if policy.maximum_attempts < 0:
        return "MaximumAttempts cannot be negative on retry policy."
    for name in policy.non_retryable_error_types:
        if name.startswith(TIMEOUT_TYPE_PREFIX):
            value = name.removeprefix(TIMEOUT_TYPE_PREFIX)
            if value not in _TIMEOUT_TYPES:
                return f"Invalid timeout type value: {value}."
    return None


def _timeout_type_names() -> frozenset[str]:
    """The names a timeout type may go by, as the reference parses them: 'StartToClose' or 'TIMEOUT_TYPE_...'."""
    names = set()
    for full in TimeoutType.DESCRIPTOR.values_by_name:
        if full != "TIMEOUT_TYPE_UNSPECIFIED":
            names.add(full)
            names.add("".join(part.title() for part in full.removeprefix("TIMEOUT_TYPE_").split("_")))
    return frozenset(names)


_TIMEOUT_TYPES = _timeout_type_names()


def interval(policy: RetryPolicy, attempt: int) -> float:
    """Seconds to wait after attempt ``attempt`` fails: initial x coefficient^(attempt-1), at most the maximum.

    Never NaN or unbounded: a coefficient of NaN or infinity, or a power too large for a
    float, gives the maximum interval.
    """
    maximum = seconds(policy.maximum_interval)
    try:
        delay = seconds(policy.initial_interval) * policy.backoff_coefficient ** (attempt - 1)
    except OverflowError:
        delay = math.inf
    if math.isnan(delay) or math.isinf(delay):
        delay = maximum if maximum > 0 else seconds(policy.initial_interval) * DEFAULT_MAXIMUM_INTERVAL_FACTOR
    return min(delay, maximum) if maximum > 0 else delay


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
    delay = interval(policy, attempt)
    if failure is not None and failure.HasField("application_failure_info"):
        explicit = failure.application_failure_info.next_retry_delay
        if explicit.seconds or explicit.nanos:
            delay = seconds(explicit)
    if expiration and now + delay >= expiration:
        return None, RetryState.RETRY_STATE_TIMEOUT
    return delay, RetryState.RETRY_STATE_IN_PROGRESS
