"""Temporal's cross-SDK feature suite (``temporalio/features``) run against Gnomon and the reference."""
