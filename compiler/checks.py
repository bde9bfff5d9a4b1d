"""Checks on the whole model: one concern per function, all run, in order.

Each check takes the document and yields diagnostics; none of them changes
anything. The front end has already rejected malformed values, so a check
sees only well-formed objects and reasons about what they mean together.

Why this module is long: a little over 600 lines of some twenty short,
independent checks and the one CHECKS tuple that orders them; they share the
helpers that walk a network's objects (``_reserved``, ``_addresses``), and a
code's check is found by searching this one file.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from .diagnostics import Diagnostic, Span, did_you_mean, error, warning
from .ir import Backend, Document, LoadBalancer, Network, PortRange, expand_ports, pool_targets
from .option_checks import check_options
from .ovn_versions import FEATURES
from .pool_checks import (
    check_empty_pool_ports,
    check_instance_ports_in_one_pool,
    check_pool_instances,
    check_pool_ports,
    check_pool_probe_sources,
    check_pools,
    pool_ports,
    pool_target_addresses,
)

Check = Callable[[Document], Iterable[Diagnostic]]


def check_networks_unique(document: Document) -> Iterator[Diagnostic]:
    seen: dict[str, Span] = {}
    for network in document.networks:
        first = seen.setdefault(network.name, network.at("name"))
        if first is not network.at("name"):
            yield error(
                network.at("name"),
                "E300",
                f'network "{network.name}" is already defined at {first}',
            )


def check_listen_addresses_unique(document: Document) -> Iterator[Diagnostic]:
    """One listen address, one owner: rows are named after it."""
    for network in document.networks:
        seen: dict[IPAddress, tuple[str, Span]] = {}
        in_source_order = sorted(network.listeners(), key=lambda pair: (pair[1].span.line, pair[1].span.column))
        for kind, obj in in_source_order:
            span = obj.at("listen_address")
            if obj.listen_address in seen:
                other_kind, other = seen[obj.listen_address]
                yield error(
                    span,
                    "E301",
                    f"listen address {obj.listen_address} is already used by the {other_kind} at {other}",
                    "a load balancer and a forward, or two of either, cannot share a listen address",
                )
            else:
                seen[obj.listen_address] = (kind, span)


def check_row_names_unique(document: Document) -> Iterator[Diagnostic]:
    """Two networks with one row_prefix and one listen address name one row."""
    seen: dict[str, tuple[str, Span]] = {}
    for network in document.networks:
        for _kind, obj in network.listeners():
            name = network.row_name(obj.listen_address, "")
            span = obj.at("listen_address")
            if name in seen and seen[name][0] != network.name:
                yield error(
                    span,
                    "E315",
                    f'rows named "{name}<protocol>" would also be written for network '
                    f'"{seen[name][0]}" ({seen[name][1]})',
                    "give the networks different row_prefix values",
                )
            seen.setdefault(name, (network.name, span))


def check_default_targets_unique(document: Document) -> Iterator[Diagnostic]:
    """A default target is a dnat NAT row known by (router, listen address): two
    networks on one router cannot both own the row of one address."""
    seen: dict[tuple[str, IPAddress], tuple[str, Span]] = {}
    for network in document.networks:
        for fwd in network.forwards:
            if fwd.default_target is None:
                continue
            key = (network.router, fwd.listen_address)
            span = fwd.at("default_target")
            if key in seen and seen[key][0] != network.name:
                yield error(
                    span,
                    "E315",
                    f"the dnat NAT row of {fwd.listen_address} on router {network.router!r} would also be written "
                    f'for network "{seen[key][0]}" ({seen[key][1]})',
                    "one router sends an address to one default target: drop one of them, or use another address",
                )
            seen.setdefault(key, (network.name, span))


def check_load_balancers_have_ports(document: Document) -> Iterator[Diagnostic]:
    """A load balancer just made by ``incus network load-balancer create`` has
    no ports: Incus accepts it and writes no row, and so does ovn-lbc (a plan
    removes the rows of one that lost its ports). Whole-IP load balancing (a
    default target) cannot be written at all: the shape check refuses it."""
    for network in document.networks:
        for lb in network.load_balancers:
            if not lb.ports:
                yield warning(
                    lb.at("listen_address"),
                    "W005",
                    f"load balancer {lb.listen_address} has no ports yet: no Load_Balancer row is written for it",
                    "as in Incus; add a port entry to make it balance",
                )


def check_no_sctp_health_checks(document: Document) -> Iterator[Diagnostic]:
    for network in document.networks:
        for lb in network.load_balancers:
            if lb.health_check is None:
                continue
            for port in lb.ports:
                if port.protocol == "sctp":
                    yield error(
                        port.at("protocol"),
                        "E303",
                        "sctp ports cannot be health-checked: OVN ignores health checks on SCTP VIPs",
                        "turn healthcheck off or move the sctp ports to a load balancer without one",
                    )


def _reserved(network: Network) -> dict[IPAddress, str]:
    reserved: dict[IPAddress, str] = {}
    for version in (4, 6):
        source = network.reserved_probe_source(version)
        if source is not None:
            reserved[source] = f"network {network.name}'s IPv{version} health-check source address"
    return reserved


def _addresses(network: Network) -> Iterator[tuple[IPAddress, Span, str]]:
    """Every address the network's objects use, where, and as what."""
    for lb in network.load_balancers:
        yield lb.listen_address, lb.at("listen_address"), "listen address"
        for backend in lb.backends:
            yield backend.target_address, backend.at("target_address"), f'backend "{backend.name}"'
    for fwd in network.forwards:
        yield fwd.listen_address, fwd.at("listen_address"), "listen address"
        if fwd.default_target is not None:
            yield fwd.default_target, fwd.at("default_target"), "forward target"
        for port in fwd.ports:
            yield port.target_address, port.at("target_address"), "forward target"
    for _kind, obj in network.listeners():
        for address in obj.options.hairpin_snat_ip:
            yield address, obj.at("config.hairpin_snat_ip"), "hairpin_snat_ip"
    for switch_port in network.switch_ports:
        for index, address in enumerate(switch_port.addresses):
            yield (
                address,
                switch_port.at(f"addresses[{index}]"),
                f'switch port "{switch_port.name}"',
            )


def check_reserved_addresses(document: Document) -> Iterator[Diagnostic]:
    """The health-check source must be an otherwise unused address."""
    for network in document.networks:
        reserved = _reserved(network)
        for version, gateway, key in ((4, network.ipv4, "ipv4_address"), (6, network.ipv6, "ipv6_address")):
            choice = network.probe_source.of(version)
            # An address chosen outright that is the gateway is that choice's
            # mistake, reported at the choice (E328).
            if gateway is not None and gateway.ip in reserved and not isinstance(choice, IPAddress):
                derived = (
                    "address two below the subnet's end (probe_source last)"
                    if choice == "last"
                    else "EUI-64 address of router_mac (probe_source eui64)"
                )
                yield error(
                    network.at(key),
                    "E304",
                    f"the gateway {gateway.ip} is {reserved[gateway.ip]}",
                    f"ovn-lbc reserves the {derived} as the IPv{version} health-check source; "
                    "give the router another address, or choose another probe_source",
                )
        for address, span, what in _addresses(network):
            if address in reserved:
                yield error(
                    span,
                    "E304",
                    f"{what} {address} is {reserved[address]}, reserved for health checks",
                    "OVN answers ARP/ND for that address itself; using it elsewhere breaks health checks",
                )


def _targets(network: Network) -> Iterator[tuple[IPAddress, IPAddress, Span, str]]:
    """(target, listen address, where, what) for every backend and forward target."""
    for lb in network.load_balancers:
        for backend in lb.backends:
            yield (
                backend.target_address,
                lb.listen_address,
                backend.at("target_address"),
                f'backend "{backend.name}"',
            )
    for fwd in network.forwards:
        if fwd.default_target is not None:
            yield (
                fwd.default_target,
                fwd.listen_address,
                fwd.at("default_target"),
                "the default target",
            )
        for port in fwd.ports:
            yield (
                port.target_address,
                fwd.listen_address,
                port.at("target_address"),
                "the forward target",
            )


@dataclass(frozen=True, slots=True)
class _Subnet:
    """A subnet's bounds as integers, found once per network: a check of 40,000
    targets compared netaddr objects made anew for each (cidr, network, broadcast)."""

    cidr: IPNetwork
    first: int
    last: int
    network: int
    broadcast: int | None  # IPv4 only, and none in a /31 or /32 (netaddr, RFC 3021)
    gateway: int

    @classmethod
    def of(cls, subnet: IPNetwork) -> _Subnet:
        cidr = subnet.cidr
        broadcast = subnet.broadcast if subnet.version == 4 else None
        return cls(
            cidr,
            cidr.first,
            cidr.last,
            int(subnet.network),
            None if broadcast is None else int(broadcast),
            int(subnet.ip),
        )


def check_target_addresses(document: Document) -> Iterator[Diagnostic]:
    """Targets: the listen address's family, inside the subnet, a host address."""
    for network in document.networks:
        subnets = {version: _Subnet.of(subnet) for version in (4, 6) if (subnet := network.subnet(version)) is not None}
        for target, listen, span, what in itertools.chain(_targets(network), pool_target_addresses(network)):
            if target.version != listen.version:
                yield error(
                    span,
                    "E305",
                    f"{what} {target} is IPv{target.version} but the listen address {listen} is IPv{listen.version}",
                )
                continue
            subnet = subnets.get(target.version)
            if subnet is None:
                yield error(
                    span,
                    "E306",
                    f"{what} {target} is IPv{target.version} but network {network.name} has no "
                    f"ipv{target.version}_address",
                )
                continue
            value = int(target)
            if not subnet.first <= value <= subnet.last:
                yield error(
                    span,
                    "E306",
                    f"{what} {target} is outside network {network.name}'s subnet {subnet.cidr}",
                )
            elif value in (subnet.network, subnet.broadcast):
                role = "network" if value == subnet.network else "broadcast"
                yield error(span, "E307", f"{what} {target} is the {role} address of {subnet.cidr}")
            elif value == subnet.gateway:
                yield error(
                    span,
                    "E307",
                    f"{what} {target} is the network's gateway (the router's own address)",
                )


def _spare_address_problem(address: IPAddress, subnet: IPNetwork, network: Network) -> str | None:
    """Why an address cannot be set aside as the probe source, or None."""
    if address not in subnet.cidr:
        return f"is outside network {network.name}'s subnet {subnet.cidr}"
    if address == subnet.network:
        return f"is the network address of {subnet.cidr}"
    if address.version == 4 and address == subnet.broadcast:
        return f"is the broadcast address of {subnet.cidr}"
    if address == subnet.ip:
        return "is the network's gateway (the router's own address)"
    return None


def check_probe_sources(document: Document) -> Iterator[Diagnostic]:
    """A chosen probe source is for a family the network has, and an address
    chosen outright is a spare host address of its subnet: northd answers ARP
    and ND for it on the network's switch."""
    for network in document.networks:
        for version, choice in network.probe_source.chosen():
            span = network.at(f"probe_source.ipv{version}")
            subnet = network.subnet(version)
            if subnet is None:
                yield error(
                    span,
                    "E328",
                    f"the IPv{version} probe source is {choice}, but network {network.name} has no "
                    f"ipv{version}_address to probe from",
                )
                continue
            if not isinstance(choice, IPAddress):
                continue
            problem = _spare_address_problem(choice, subnet, network)
            if problem is not None:
                notes = ("to probe from the router's own address, choose router (OVN 26.03 or later)",)
                yield error(
                    span,
                    "E328",
                    f"the IPv{version} probe source {choice} {problem}",
                    *(notes if choice == subnet.ip else ()),
                )


def _port_owners(ranges: tuple[PortRange, ...], span: Span, seen: dict[int, Span]) -> Iterator[tuple[int, Span]]:
    for port in expand_ports(ranges):
        if port in seen:
            yield port, seen[port]
        else:
            seen[port] = span


def check_listen_ports_unique(document: Document) -> Iterator[Diagnostic]:
    """A listen port names one VIP: at most once per protocol on a listen address."""
    for network in document.networks:
        for _kind, obj in network.listeners():
            seen: dict[str, dict[int, Span]] = defaultdict(dict)
            for port in obj.ports:
                span = port.at("listen_port")
                reported: set[int] = set()
                for number, first in _port_owners(port.listen_ports, span, seen[port.protocol]):
                    if number in reported:
                        continue
                    reported.add(number)
                    where = "earlier in this list" if first == span else f"at {first}"
                    yield error(
                        span,
                        "E308",
                        f"listen port {number}/{port.protocol} of {obj.listen_address} is already used {where}",
                    )


def _backends_by_name(lb: LoadBalancer) -> dict[str, Backend]:
    """``lb.backend`` for every name at once (the first of a name, as it finds):
    a name lookup per target must not cost a scan of the backends."""
    found: dict[str, Backend] = {}
    for backend in lb.backends:
        found.setdefault(backend.name, backend)
    return found


def check_target_port_counts(document: Document) -> Iterator[Diagnostic]:
    """Target ports: none, one, or one per listen port of every entry using them."""
    for network in document.networks:
        for lb in network.load_balancers:
            by_name = _backends_by_name(lb)
            for port in lb.ports:
                listen_count = len(expand_ports(port.listen_ports))
                for name in dict.fromkeys(port.target_backends):
                    backend = by_name.get(name)
                    if backend is None:
                        continue
                    count = len(expand_ports(backend.target_ports))
                    if count > 1 and count != listen_count:
                        yield error(
                            backend.at("target_port"),
                            "E309",
                            f'backend "{name}" has {count} target ports but the port entry at '
                            f"{port.at('listen_port')} has {listen_count} listen ports",
                            "give one target port, or exactly one per listen port of every entry using the backend",
                        )
        for fwd in network.forwards:
            for fport in fwd.ports:
                listen_count = len(expand_ports(fport.listen_ports))
                count = len(expand_ports(fport.target_ports))
                if count > 1 and count != listen_count:
                    yield error(
                        fport.at("target_port"),
                        "E309",
                        f"{count} target ports for {listen_count} listen ports",
                        "give one target port, or exactly one per listen port",
                    )


def check_target_backends(document: Document) -> Iterator[Diagnostic]:
    for network in document.networks:
        for lb in network.load_balancers:
            names = [backend.name for backend in lb.backends]
            known = set(names)
            for port in lb.ports:
                seen: set[str] = set()
                for index, name in enumerate(port.target_backends):
                    span = port.at(f"target_backend[{index}]")
                    if name not in known:
                        yield error(span, "E310", f'no backend named "{name}"{did_you_mean(name, names)}')
                    elif name in seen:
                        yield error(span, "E314", f'backend "{name}" is listed twice in this port entry')
                    seen.add(name)


def check_backend_names_unique(document: Document) -> Iterator[Diagnostic]:
    for network in document.networks:
        for lb in network.load_balancers:
            seen: dict[str, Span] = {}
            for backend in lb.backends:
                span = backend.at("name")
                if backend.name in seen:
                    yield error(
                        span,
                        "E311",
                        f'backend "{backend.name}" is already defined at {seen[backend.name]}',
                    )
                else:
                    seen[backend.name] = span


def check_health_check_sources(document: Document) -> Iterator[Diagnostic]:
    """A health-checked backend's address family needs a probe source address."""
    for network in document.networks:
        for lb in network.load_balancers:
            if lb.health_check is None:
                continue
            span = lb.at("config.healthcheck")
            for version in sorted({b.target_address.version for b in lb.backends}):
                if network.health_check_source(version) is not None:
                    continue
                if version == 6 and (network.ipv6 is None or network.probe_source.ipv6 == "eui64"):
                    yield error(
                        span,
                        "E313",
                        "IPv6 health checks need the network's router_mac and an ipv6_address of /64 or shorter",
                        "the source address is the EUI-64 address of router_mac in the network's /64, "
                        "unless probe_source chooses another for ipv6 (last, router or an address)",
                    )
                else:  # "last", in a subnet too small to spare an address
                    yield error(
                        span,
                        "E317",
                        f"network {network.name}'s IPv{version} subnet has no spare address for the "
                        "health-check source",
                        f"use a subnet of /{30 if version == 4 else 126} or larger, or choose another probe_source",
                    )


def check_backends_have_switch_ports(document: Document) -> Iterator[Diagnostic]:
    """Health checks probe through a Logical_Switch_Port. Planning against a
    database skips this check and looks the ports up there instead."""
    for network in document.networks:
        ports_by_address = {a for p in network.switch_ports for a in p.addresses}
        for lb in network.load_balancers:
            if lb.health_check is None:
                continue
            for backend in lb.backends:
                if backend.target_address not in ports_by_address:
                    yield error(
                        backend.at("target_address"),
                        "E312",
                        f'backend "{backend.name}" ({backend.target_address}) has no switch port: '
                        "health checks need one",
                        f"add the Logical_Switch_Port with this address to network {network.name}'s switch_ports "
                        "(or plan against the database, which finds it)",
                    )


def check_switch_port_addresses(document: Document) -> Iterator[Diagnostic]:
    for network in document.networks:
        seen: dict[IPAddress, str] = {}
        for switch_port in network.switch_ports:
            for index, address in enumerate(switch_port.addresses):
                owner = seen.setdefault(address, switch_port.name)
                if owner != switch_port.name:
                    yield error(
                        switch_port.at(f"addresses[{index}]"),
                        "E316",
                        f'address {address} is also on switch port "{owner}": '
                        "a health check could not tell which port to probe",
                    )


def check_forwards(document: Document) -> Iterator[Diagnostic]:
    for network in document.networks:
        for fwd in network.forwards:
            if not fwd.ports and fwd.default_target is None:
                yield warning(
                    fwd.at("listen_address"),
                    "W001",
                    f"forward {fwd.listen_address} has no ports and no default target: it does nothing",
                )
            if not fwd.ports and fwd.default_target is not None and not fwd.options.is_default():
                keys = fwd.options.set_keys()
                yield warning(
                    fwd.at("config." + keys[0]),
                    "W006",
                    f"forward {fwd.listen_address} has no ports, so {', '.join(keys)} acts on nothing: its default "
                    "target is a router NAT row (as Incus writes it), which takes no load-balancer option",
                    "drop the option, or add the port entries it is for",
                )
            for port in fwd.ports:
                if fwd.default_target is not None and port.target_address == fwd.default_target:
                    yield error(
                        port.at("target_address"),
                        "E318",
                        f"the target {port.target_address} is already the forward's default target",
                        "the default target receives every port; drop this entry or change its target",
                    )


def _version_problem(document: Document, key: str, span: Span, what: str, *notes: str) -> Diagnostic | None:
    target = document.target
    feature = FEATURES[key]
    if feature.available_in(target.version):
        return None
    return error(
        span,
        "E319",
        f"{what} needs {feature.requirement()}; the target is OVN {target.version} ({target.origin})",
        *notes,
        "if the site runs a newer OVN, say so with target_ovn in the file or --ovn-version"
        if not target.origin.startswith("the database")
        else "upgrade OVN first, or leave this out",
    )


def _pool_version_problems(document: Document, network: Network) -> Iterator[Diagnostic]:
    """A health-checked pool that writes a VIP: its probes come from the router's
    address, which OVN takes as a probe source from 26.03 on. LXD refuses it
    below northd 25.09.90 too (lxd/network/driver_ovn.go poolHealthCheckSupported,
    5418-5441), and only for a pool that gives a VIP targets (5596-5603)."""
    ports_by_instance = network.ports_by_instance()
    reported: set[int] = set()
    for lb, _port, pool in pool_ports(network):
        if pool.health_check is None or id(pool) in reported:
            continue
        if not pool_targets(pool, ports_by_instance, lb.listen_address.version):
            continue
        reported.add(id(pool))
        problem = _version_problem(
            document,
            "pool_health_check",
            pool.at("config.healthcheck"),
            f"pool \"{pool.name}\"'s health check (probed from the router's address, as LXD does)",
            'LXD refuses it too below northd 25.09.90 ("Cannot use OVN version ... to configure health checks")',
            'healthcheck: "false" in the pool (DSL: no-health-check) works on any release',
        )
        if problem is not None:
            yield problem


def check_ovn_version(document: Document) -> Iterator[Diagnostic]:
    """Nothing newer than the target release (compiler.ovn_versions)."""
    for network in document.networks:
        if network.lb_group is not None:
            problem = _version_problem(document, "lb_group", network.at("lb_group"), "lb_group")
            if problem is not None:
                yield problem
        for version, choice in network.probe_source.chosen():
            if choice == "router":
                span = network.at(f"probe_source.ipv{version}")
                what = f"the IPv{version} probe source router (the router port's own address)"
                problem = _version_problem(document, "probe_source_router", span, what)
                if problem is not None:
                    yield problem
        for _kind, obj in network.listeners():
            for key in obj.options.set_keys():
                span = obj.at(f"config.{key}")
                found = [(key, key)] if key in FEATURES else []
                if key == "selection_fields":
                    ipv6 = [f for f in obj.options.selection_fields if f.startswith("ipv6_")]
                    found = [("selection_fields_ipv6", f"selection field {ipv6[0]}")] if ipv6 else []
                for feature, what in found:
                    problem = _version_problem(document, feature, span, what)
                    if problem is not None:
                        yield problem
        yield from _pool_version_problems(document, network)


def check_datapaths(document: Document) -> Iterator[Diagnostic]:
    """Each switch and router once per network."""
    for network in document.networks:
        for key, own, names in (
            ("attach_switches", network.switch, network.attach_switches),
            ("attach_routers", network.router, network.attach_routers),
        ):
            seen = {own}
            for index, name in enumerate(names):
                if name in seen:
                    what = "the network's own" if name == own else "already listed"
                    yield error(network.at(f"{key}[{index}]"), "E323", f"{name!r} is {what} in network {network.name}")
                seen.add(name)


# ovn-nbctl splits its command line into commands at every argument that is
# exactly "--", and looks a record up by UUID before it looks for a name.
# (Any other text, one starting with "-" too, is an operand once it follows
# the command's name, as every name in ovn-lbc's script does.)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _names(network: Network) -> Iterator[tuple[str, str, Span]]:
    """(what, name, where) of every OVN row a network names."""
    yield "router", network.router, network.at("router")
    yield "switch", network.switch, network.at("switch")
    for key, names in (("attach_routers", network.attach_routers), ("attach_switches", network.attach_switches)):
        for index, name in enumerate(names):
            yield key, name, network.at(f"{key}[{index}]")
    if network.lb_group is not None:
        yield "lb_group", network.lb_group, network.at("lb_group")
    for port in network.switch_ports:
        yield "switch port", port.name, port.at("name")


def check_names_ovn_nbctl_reads(document: Document) -> Iterator[Diagnostic]:
    """Names ovn-nbctl would read as something else than that name."""
    for network in document.networks:
        for what, name, span in _names(network):
            if name == "--":
                yield error(
                    span,
                    "E324",
                    f'{what} "--" cannot be named to ovn-nbctl: it reads "--" as the separator between two commands',
                    "rename the row in OVN; every other name, one starting with '-' too, is fine",
                )
            elif _UUID.fullmatch(name):
                yield error(
                    span,
                    "E324",
                    f'{what} "{name}" has the form of a UUID: ovn-nbctl (and OVN\'s tools) would look it up '
                    "as a row's _uuid before looking for a row of that name",
                    "rename the row in OVN so that its name is no UUID",
                )


def check_switch_port_names(document: Document) -> Iterator[Diagnostic]:
    """ip_port_mappings values are ``PORT:SOURCE``: northd splits them at the first ':'."""
    for network in document.networks:
        for port in network.switch_ports:
            if ":" in port.name:
                yield error(
                    port.at("name"),
                    "E325",
                    f'switch port "{port.name}" has a ":" in its name: a health check names its port in '
                    'ip_port_mappings as "PORT:SOURCE", and ovn-northd cuts that at the first ":", so it '
                    "would find no such port and silently make no monitor for the backend",
                    "rename the Logical_Switch_Port so that its name has no ':' (OVN has no way to quote it)",
                )


CHECKS: tuple[Check, ...] = (
    check_networks_unique,
    check_listen_addresses_unique,
    check_row_names_unique,
    check_default_targets_unique,
    check_load_balancers_have_ports,
    check_no_sctp_health_checks,
    check_reserved_addresses,
    check_target_addresses,
    check_probe_sources,
    check_listen_ports_unique,
    check_target_port_counts,
    check_target_backends,
    check_backend_names_unique,
    check_pools,
    check_pool_ports,
    check_pool_instances,
    check_empty_pool_ports,
    check_instance_ports_in_one_pool,
    check_pool_probe_sources,
    check_health_check_sources,
    check_backends_have_switch_ports,
    check_switch_port_addresses,
    check_forwards,
    check_options,
    check_datapaths,
    check_names_ovn_nbctl_reads,
    check_switch_port_names,
    check_ovn_version,
)


# The checks a plan against a database runs itself, with what the database says.
DATABASE_CHECKS: tuple[Check, ...] = (check_backends_have_switch_ports, check_ovn_version)


def run_checks(document: Document, checks: Iterable[Check] = CHECKS) -> list[Diagnostic]:
    return [diagnostic for check in checks for diagnostic in check(document)]
