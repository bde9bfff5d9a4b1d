"""What the database tells a compilation, before its last checks and the lowering.

Planning against a Northbound database (plan, apply, destroy) learns two
facts the file may leave out:

- the OVN release the database runs, from its NB schema version, which bounds
  the target release (a feature the database's OVN lacks is an error);
- the Logical_Switch_Port of each health-checked backend the file gives no
  switch port, found by address on the network's switch (Incus and LXD files
  name no ports: the platform made them).

An LXD pool's instances are not found here: LXD writes no instance name into
its Logical_Switch_Port rows (only lxd_switch and lxd_location,
lxd/network/openvswitch/ovn.go LogicalSwitchPortAdd), so only the file can
say which port is whose (``instance`` on a switch port; E345 when missing).

They enter the model here, once, so that the checks waiting for them run
once and the model is lowered once; planning then only compares rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from netaddr import AddrFormatError, IPAddress

from .diagnostics import Diagnostic, error
from .ir import Document, Network, SwitchPort, Target
from .ovn_versions import effective_target, release_of_schema
from .ovsdb.state import DbDatapath, NorthboundState


@dataclass(frozen=True, slots=True)
class FoundPort:
    """A backend's Logical_Switch_Port found in the database, not in the file."""

    network: str
    switch: str
    backend: str
    address: str
    port: str


def database_target(document: Document, state: NorthboundState) -> Document:
    """The document, with the target the database's schema says when it says
    one that is older than (or when nobody declared) the file's target."""
    release = release_of_schema(state.schema_version) if state.schema_version else None
    if release is None:
        return document
    declared = document.declared_target
    version = effective_target(declared.version if declared else None, release)
    if declared is not None and version == declared.version:
        return document
    origin = f"the database: its NB schema {state.schema_version} is OVN {release}'s"
    return replace(document, declared_target=Target(version, origin))


def _port_addresses(entries: Iterable[str]) -> set[IPAddress]:
    """The IP addresses in Logical_Switch_Port ``addresses`` entries ("MAC IP...", "router", ...)."""
    found: set[IPAddress] = set()
    for entry in entries:
        for word in entry.split()[1:]:
            try:
                found.add(IPAddress(word.split("/")[0]))
            except (AddrFormatError, ValueError):
                continue
    return found


def switch_port_owners(
    network: Network,
    state: NorthboundState,
    switches: dict[tuple[str, str], list[DbDatapath]] | None = None,
) -> dict[IPAddress, list[str]]:
    """The names of the Logical_Switch_Ports of the network's switch, by each address they have."""
    found = state.datapaths_by_name() if switches is None else switches
    owners: dict[IPAddress, list[str]] = {}
    for switch in found.get(("Logical_Switch", network.switch), []):
        for uuid in switch.ports:
            port = state.switch_ports.get(uuid)
            if port is not None:
                for address in _port_addresses(port.addresses):
                    owners.setdefault(address, []).append(port.name)
    return owners


def discover_switch_ports(
    document: Document, state: NorthboundState
) -> tuple[Document, tuple[FoundPort, ...], list[Diagnostic]]:
    """Give each health-checked backend without a switch port in the file the
    Logical_Switch_Port of its network's switch that has its address."""
    switches = state.datapaths_by_name()
    networks: list[Network] = []
    found: list[FoundPort] = []
    diagnostics: list[Diagnostic] = []
    for network in document.networks:
        known = {address for port in network.switch_ports for address in port.addresses}
        missing = [
            backend
            for lb in network.load_balancers
            if lb.health_check is not None
            for backend in lb.backends
            if backend.target_address not in known
        ]
        if not missing:
            networks.append(network)
            continue
        owners = switch_port_owners(network, state, switches)
        added: dict[str, list[IPAddress]] = {}
        for backend in missing:
            names = sorted(set(owners.get(backend.target_address, [])))
            span = backend.at("target_address")
            if not names:
                diagnostics.append(
                    error(
                        span,
                        "E312",
                        f'backend "{backend.name}" ({backend.target_address}) has no switch port: health checks '
                        f"need one, and no Logical_Switch_Port of switch {network.switch} has this address",
                        f"add the port to network {network.name}'s switch_ports, or give the port this address",
                    )
                )
            elif len(names) > 1:
                diagnostics.append(
                    error(
                        span,
                        "E316",
                        f"address {backend.target_address} is on several Logical_Switch_Ports of switch "
                        f"{network.switch} ({', '.join(names)}): a health check could not tell which to probe",
                        f"name the port in network {network.name}'s switch_ports",
                    )
                )
            else:
                if backend.target_address not in added.setdefault(names[0], []):
                    added[names[0]].append(backend.target_address)
                found.append(
                    FoundPort(network.name, network.switch, backend.name, str(backend.target_address), names[0])
                )
        extra = tuple(SwitchPort(name, tuple(addresses)) for name, addresses in sorted(added.items()))
        networks.append(replace(network, switch_ports=network.switch_ports + extra))
    return replace(document, networks=tuple(networks)), tuple(found), diagnostics
