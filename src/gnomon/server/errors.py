"""Errors the server's layers raise; the frontend maps each to one gRPC status."""

from __future__ import annotations

from google.protobuf.message import Message


class ServiceError(Exception):
    """An error to report to the caller, with a message that says what was wrong."""

    def __init__(self, message: str, *, details: Message | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidArgumentError(ServiceError):
    """The request is malformed (INVALID_ARGUMENT)."""


class NotFoundError(ServiceError):
    """The namespace, workflow, or task is not there (NOT_FOUND)."""


class AlreadyExistsError(ServiceError):
    """Something with that identity exists already (ALREADY_EXISTS)."""


class PermissionDeniedError(ServiceError):
    """The caller may not do this (PERMISSION_DENIED)."""


class FailedPreconditionError(ServiceError):
    """The target is not in a state that allows the request (FAILED_PRECONDITION)."""


class UnavailableError(ServiceError):
    """The server cannot serve the request now; retrying may work (UNAVAILABLE)."""


class ResourceExhaustedError(ServiceError):
    """A limit or a resource of the server is used up; retry later or send less (RESOURCE_EXHAUSTED)."""


class AbortedError(ServiceError):
    """The operation was aborted by a conflict; retrying it may work (ABORTED)."""


class DeadlineExceededError(ServiceError):
    """The request did not finish in time (DEADLINE_EXCEEDED)."""
