"""Helpers shared by the test suites: server launchers and small utilities."""
