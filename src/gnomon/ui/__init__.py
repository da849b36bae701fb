"""Gnomon's web UI: server-rendered pages on the same process and service layer as the gRPC API."""

from gnomon.ui.app import create_app
from gnomon.ui.server import UiServer

__all__ = ["UiServer", "create_app"]
