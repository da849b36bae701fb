"""Matching: task queues, long polls, sticky queues."""

from gnomon.server.matching.service import MatchingService, TaskRef, TaskType

__all__ = ["MatchingService", "TaskRef", "TaskType"]
