"""The OVN context an import places its load balancers in.

keepalived and ipvsadm name real servers by address only; OVN needs the
network (router, switch, subnet) each one is on and, for health checks,
its Logical_Switch_Port. They come from a network file (``--network``: the
network blocks, read by the ordinary front ends, with or without
switch_ports) and, with ``--db``, from the Northbound database: the
Logical_Switch_Ports of each network's switch, found by address as
``plan`` finds them (compiler.facts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from netaddr import IPAddress

from ..diagnostics import Diagnostic, SourceRegistry
from ..facts import switch_port_owners
from ..frontend import load_files
from ..ir import Document, Network
from ..ovsdb.state import NorthboundState

_NOTHING: Mapping[str, Mapping[IPAddress, tuple[str, ...]]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Context:
    """The networks, and the switch ports the database has for their addresses."""

    document: Document
    origin: str  # for messages: the network file's name
    # network name -> address -> the Logical_Switch_Ports of its switch that have it
    database_ports: Mapping[str, Mapping[IPAddress, tuple[str, ...]]] = field(default_factory=lambda: _NOTHING)
    database: str | None = None  # the remote, when one was read

    def file_port(self, network: Network, address: IPAddress) -> str | None:
        return next((port.name for port in network.switch_ports if address in port.addresses), None)

    def database_port(self, network: Network, address: IPAddress) -> tuple[str, ...]:
        return self.database_ports.get(network.name, {}).get(address, ())


def read_context(path: str, registry: SourceRegistry) -> tuple[Context, list[Diagnostic]]:
    """The networks of a network file, read and built as every input is."""
    document, diagnostics = load_files([path], sources=registry)[:2]
    return Context(document, path), diagnostics


def with_database(context: Context, state: NorthboundState, remote: str) -> Context:
    """The context with the switch ports the database has on each network's switch."""
    ports = {
        network.name: {
            address: tuple(sorted(set(names))) for address, names in switch_port_owners(network, state).items()
        }
        for network in context.document.networks
    }
    return Context(context.document, context.origin, ports, remote)
