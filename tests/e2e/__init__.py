"""End-to-end tests: the official temporalio SDK against a running server (Gnomon or the reference)."""
