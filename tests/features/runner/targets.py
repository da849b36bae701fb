"""The servers a run targets, configured as the official features runner configures its dev server.

Each language gets its own namespace (``features-python``, ``features-typescript``),
created at server start. The reference is started with the dynamic config of the
checkout's ``dockerfiles/dynamicconfig/docker.yaml``; a case with a run variant gets a
reference server of its own with the variant's dynamic config on top. Gnomon has no
dynamic config: it runs the default cases, and a variant only when Gnomon already
reports the namespace capabilities the variant expects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from tests.features.runner.catalog import Variant, dynamic_config, dynamic_config_args
from tests.support.servers import ServerProcess, start_gnomon, start_reference

SERVERS = ("gnomon", "reference")


def namespace_for(language: str) -> str:
    return f"features-{language}"


def namespace_args(languages: tuple[str, ...]) -> list[str]:
    return [arg for language in languages for arg in ("--namespace", namespace_for(language))]


@contextlib.contextmanager
def start_server(
    kind: str, checkout_root: Path, languages: tuple[str, ...], log_dir: Path, variant: Variant | None = None
) -> Iterator[ServerProcess]:
    """A server of ``kind`` for ``languages``' namespaces, stopped when the block ends."""
    if kind == "gnomon":
        if variant is not None:
            raise ValueError("Gnomon takes no dynamic config; run variants on it only as they are")
        server = start_gnomon(log_dir, extra_args=namespace_args(languages))
    elif kind == "reference":
        values: dict[str, Any] = dynamic_config(checkout_root)
        values.update(variant.dynamic_config if variant else {})
        server = start_reference(log_dir, extra_args=namespace_args(languages) + dynamic_config_args(values))
    else:
        raise ValueError(f"unknown server {kind!r}")
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class CapabilityCheck:
    """Whether a namespace reports what a variant expects, and if not, what it reports."""

    matches: bool
    reported: dict[str, Any]


async def check_capabilities(address: str, namespace: str, expected: dict[str, bool]) -> CapabilityCheck:
    """Compare ``namespace``'s capabilities (DescribeNamespace) with ``expected``, by their JSON names."""
    client = await Client.connect(address, namespace=namespace)
    response = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    capabilities = response.namespace_info.capabilities
    fields = capabilities.DESCRIPTOR.fields_by_camelcase_name
    reported: dict[str, Any] = {
        name: getattr(capabilities, fields[name].name) if name in fields else "unknown to this SDK" for name in expected
    }
    return CapabilityCheck(all(reported[name] == value for name, value in expected.items()), reported)
