"""Timers: the in-memory queue of a run's deadlines (user timers and timeouts)."""

from gnomon.server.timers.queue import Deadline, TimerEntry, TimerQueue

__all__ = ["Deadline", "TimerEntry", "TimerQueue"]
