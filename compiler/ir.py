"""The model every front end builds and every later stage trusts.

Addresses are parsed and canonicalised once, here (netaddr objects print in
RFC 5952 form). Spans point back to the source but take no part in equality,
so the same load balancer written in YAML, JSON or the DSL is the same model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeAlias

from netaddr import EUI, IPAddress, IPNetwork

from .addresses import eui64_address, last_usable_address
from .diagnostics import Span
from .ovn_versions import OLDEST_SUPPORTED, OvnVersion

PROTOCOLS = ("tcp", "udp", "sctp")

_NO_SPANS: Mapping[str, Span] = MappingProxyType({})


def _spans() -> Mapping[str, Span]:
    return field(default_factory=lambda: _NO_SPANS, compare=False, repr=False)


class _Located:
    """Mixin: ``span`` is where the object starts, ``spans`` where its fields are."""

    __slots__ = ()
    span: Span
    spans: Mapping[str, Span]

    def at(self, name: str) -> Span:
        """The span of field ``name`` (or of a list item, ``name[i]``)."""
        return self.spans.get(name) or self.spans.get(name.split("[", 1)[0]) or self.span


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """An inclusive range of ports; a single port has first == last."""

    first: int
    last: int

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.first, self.last + 1))

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def expand_ports(ranges: tuple[PortRange, ...]) -> list[int]:
    """``80,8080-8082`` -> [80, 8080, 8081, 8082], in the order written."""
    return [port for port_range in ranges for port in port_range]


def format_ports(ranges: tuple[PortRange, ...]) -> str:
    return ",".join(str(port_range) for port_range in ranges)


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """Load_Balancer_Health_Check options, in seconds and probe counts."""

    interval: int = 10
    timeout: int = 30
    success_count: int = 3
    failure_count: int = 3


# LXD's pool health check when the pool says nothing: "the values defined by
# OVN in controller/pinctrl.c" (lxd/network/driver_ovn.go checkPoolHealthCheck,
# 5382-5387). Incus's load-balancer defaults are HealthCheck()'s.
LXD_POOL_HEALTH_CHECK = HealthCheck(interval=5, timeout=3, success_count=1, failure_count=1)
# The protocols a pool may have (lxd/network/driver_ovn.go loadBalancerPoolValidate).
POOL_PROTOCOLS = ("tcp", "udp")


# Load_Balancer.selection_fields values, in OVN's documented order.
SELECTION_FIELDS = ("eth_src", "eth_dst", "ip_src", "ip_dst", "ipv6_src", "ipv6_dst", "tp_src", "tp_dst")
NEIGHBOR_RESPONDER_MODES = ("all", "reachable", "none")


@dataclass(frozen=True, slots=True)
class LoadBalancerOptions:
    """What Load_Balancer ``options`` and ``selection_fields`` say, typed.

    Unset is the OVN default: a false flag is not written, so "false" and
    leaving the key out are the same model (and the same row).
    """

    affinity_timeout: int | None = None  # seconds, 1-65535
    selection_fields: tuple[str, ...] = ()  # in the order written
    reject: bool = False
    event: bool = False
    hairpin_snat_ip: tuple[IPAddress, ...] = ()  # at most one per family
    skip_snat: bool = False
    add_route: bool = False
    neighbor_responder: str | None = None  # all | reachable | none
    ct_flush: bool = False
    use_stateless_nat: bool = False

    def is_default(self) -> bool:
        return self == _DEFAULT_OPTIONS

    def set_keys(self) -> list[str]:
        """The config keys that are not at their default, in declaration order."""
        return [name for name in OPTION_KEYS if getattr(self, name) != getattr(_DEFAULT_OPTIONS, name)]

    def config_values(self) -> list[tuple[str, str | None]]:
        """(config key, value as text) of every option that is set; None for a flag that is on.

        The one text form: OVN's ``options`` values (hairpin addresses space
        separated, as OVN wants them) and what convert/fmt print back.
        """
        texts: list[tuple[str, str | None]] = []
        for key in self.set_keys():
            value = getattr(self, key)
            if value is True:
                texts.append((key, None))
            elif key == "selection_fields":
                texts.append((key, ", ".join(value)))
            elif key == "hairpin_snat_ip":
                texts.append((key, " ".join(str(address) for address in value)))
            else:
                texts.append((key, str(value)))
        return texts


# The config keys of the options, which are also OVN's option keys (but
# selection_fields, a column of its own).
OPTION_KEYS = tuple(LoadBalancerOptions.__dataclass_fields__)
BOOLEAN_OPTION_KEYS = tuple(key for key, f in LoadBalancerOptions.__dataclass_fields__.items() if f.type == "bool")
_DEFAULT_OPTIONS = LoadBalancerOptions()


@dataclass(frozen=True, slots=True)
class Backend(_Located):
    """A named target of a load balancer."""

    name: str
    target_address: IPAddress
    target_ports: tuple[PortRange, ...] = ()
    description: str = ""
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class LoadBalancerPort(_Located):
    """Listen ports of one protocol, spread over the named backends."""

    protocol: str
    listen_ports: tuple[PortRange, ...]
    target_backends: tuple[str, ...]
    description: str = ""
    # LXD: the name of a pool of the network instead of target_backends (one
    # listen port; the front ends refuse both or neither).
    target_pool: str | None = None
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class PoolInstance(_Located):
    """An LXD instance in a pool: its NICs on the network are the switch ports
    naming it, and its own target port, if any, overrides the pool's."""

    name: str
    target_port: int | None = None
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class LoadBalancerPool(_Located):
    """An LXD network load-balancer pool, as ``lxc network load-balancer pool show`` prints it."""

    name: str
    target_port: int
    protocol: str = "tcp"  # LXD writes "tcp" into the config when none is given
    description: str = ""
    # On unless ``healthcheck`` is false, with LXD's defaults (not Incus's).
    health_check: HealthCheck | None = LXD_POOL_HEALTH_CHECK
    instances: tuple[PoolInstance, ...] = ()
    # The user.* keys of the config map, sorted; no row carries them (a pool is no row).
    user_config: tuple[tuple[str, str], ...] = ()
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class PoolTarget:
    """One backend of a pool VIP: an address of an instance's switch port, and its port."""

    address: IPAddress
    port: int
    switch_port: str
    instance: PoolInstance


@dataclass(frozen=True, slots=True)
class LoadBalancer(_Located):
    """An Incus network load balancer: one listen address, many backends."""

    listen_address: IPAddress
    backends: tuple[Backend, ...] = ()
    ports: tuple[LoadBalancerPort, ...] = ()
    description: str = ""
    health_check: HealthCheck | None = None
    options: LoadBalancerOptions = LoadBalancerOptions()
    # The user.* keys of the config map, sorted. The health-check keys live
    # in health_check only, so every front end builds the same model.
    user_config: tuple[tuple[str, str], ...] = ()
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()

    def backend(self, name: str) -> Backend | None:
        return next((b for b in self.backends if b.name == name), None)


@dataclass(frozen=True, slots=True)
class ForwardPort(_Located):
    """Listen ports of one protocol sent to one target address."""

    protocol: str
    listen_ports: tuple[PortRange, ...]
    target_address: IPAddress
    target_ports: tuple[PortRange, ...] = ()
    description: str = ""
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class Forward(_Located):
    """An Incus network forward: ports (and optionally all else) to one target each."""

    listen_address: IPAddress
    ports: tuple[ForwardPort, ...] = ()
    default_target: IPAddress | None = None
    description: str = ""
    options: LoadBalancerOptions = LoadBalancerOptions()
    # The user.* keys of the config map, sorted (target_address is default_target).
    user_config: tuple[tuple[str, str], ...] = ()
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


# Where a network's health-check probes come from, per family: a word, or an
# address given outright. "last": the subnet's last usable address (Incus's
# choice for both families); "eui64" (IPv6 only): router_mac's EUI-64 address
# in the /64; "router": the router port's own address, the gateway (OVN 26.03
# accepts a router port's address as the source, so nothing need be spared).
PROBE_SOURCE_WORDS = ("last", "eui64", "router")
ProbeChoice: TypeAlias = str | IPAddress


@dataclass(frozen=True, slots=True)
class ProbeSource:
    """The network's choice of health-check source address, per family.

    The defaults are what ovn-lbc always did: the last usable IPv4 address,
    and the EUI-64 address of router_mac for IPv6.
    """

    ipv4: ProbeChoice = "last"
    ipv6: ProbeChoice = "eui64"

    def of(self, version: int) -> ProbeChoice:
        return self.ipv4 if version == 4 else self.ipv6

    def chosen(self) -> list[tuple[int, ProbeChoice]]:
        """(family, choice) of each family not at its default: what the printers write."""
        return [
            (version, self.of(version)) for version in (4, 6) if self.of(version) != _DEFAULT_PROBE_SOURCE.of(version)
        ]


_DEFAULT_PROBE_SOURCE = ProbeSource()


@dataclass(frozen=True, slots=True)
class SwitchPort(_Located):
    """A Logical_Switch_Port and the addresses behind it (for health checks)."""

    name: str
    addresses: tuple[IPAddress, ...]
    # LXD: the instance whose NIC this port is; pools name instances, not ports.
    instance: str | None = None
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class Network(_Located):
    """An OVN network: the router and switch its load balancers attach to."""

    name: str
    row_prefix: str
    router: str
    switch: str
    # The gateway address with the subnet's prefix, e.g. 10.135.209.1/24.
    ipv4: IPNetwork | None = None
    ipv6: IPNetwork | None = None
    router_mac: EUI | None = None
    switch_ports: tuple[SwitchPort, ...] = ()
    # More datapaths the load balancers take effect on (clients' switches, routers).
    attach_switches: tuple[str, ...] = ()
    attach_routers: tuple[str, ...] = ()
    # Reach the datapaths through one Load_Balancer_Group of this name instead
    # of attaching every row to every datapath.
    lb_group: str | None = None
    probe_source: ProbeSource = ProbeSource()
    forwards: tuple[Forward, ...] = ()
    load_balancers: tuple[LoadBalancer, ...] = ()
    # LXD's load-balancer pools (``load_balancer_pools``), which port entries name.
    pools: tuple[LoadBalancerPool, ...] = ()
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()

    def pools_by_name(self) -> dict[str, LoadBalancerPool]:
        """Every pool by name (the first of a name, as the checks report the others)."""
        found: dict[str, LoadBalancerPool] = {}
        for pool in self.pools:
            found.setdefault(pool.name, pool)
        return found

    def ports_by_instance(self) -> dict[str, list[SwitchPort]]:
        """The switch ports of each instance, in the order written."""
        found: dict[str, list[SwitchPort]] = {}
        for port in self.switch_ports:
            if port.instance is not None:
                found.setdefault(port.instance, []).append(port)
        return found

    def subnet(self, version: int) -> IPNetwork | None:
        return self.ipv4 if version == 4 else self.ipv6

    def row_name(self, listen_address: IPAddress, protocol: str) -> str:
        """``<row_prefix>-lb-<listen_address>-<protocol>``, the address canonical:
        the Load_Balancer row's name (the checks hold these unique)."""
        return f"{self.row_prefix}-lb-{listen_address}-{protocol}"

    def health_check_source(self, version: int) -> IPAddress | None:
        """The address health-check probes come from, for one address family,
        as the network's probe_source chooses; None when there is none."""
        subnet = self.subnet(version)
        if subnet is None:
            return None
        choice = self.probe_source.of(version)
        if isinstance(choice, IPAddress):
            return choice
        if choice == "router":
            return subnet.ip
        if choice == "last":
            return last_usable_address(subnet)
        if choice == "eui64" and version == 6 and self.router_mac is not None:
            return eui64_address(subnet, self.router_mac)
        return None

    def reserved_probe_source(self, version: int) -> IPAddress | None:
        """The health-check source when it is an address set aside for the probes
        (nothing else may use it); None for "router", the gateway, which stays
        the router's own address."""
        if self.probe_source.of(version) == "router":
            return None
        return self.health_check_source(version)

    def pool_probe_source(self, version: int) -> IPAddress | None:
        """Where LXD probes a pool's instances from: the router's own address on
        the network (ipv4.address / ipv6.address), for internal and external
        listen addresses alike (lxd/network/driver_ovn.go loadBalancerFlattenVIPs,
        5341-5361). OVN takes a router port's address as a probe source from 26.03."""
        subnet = self.subnet(version)
        return subnet.ip if subnet is not None else None

    def listeners(self) -> Iterator[tuple[str, LoadBalancer | Forward]]:
        """("load balancer" | "forward", object) of everything with a listen address."""
        for lb in self.load_balancers:
            yield "load balancer", lb
        for fwd in self.forwards:
            yield "forward", fwd

    def datapaths(self) -> tuple[tuple[str, str], ...]:
        """(table, name) of every datapath the load balancers take effect on."""
        routers = dict.fromkeys((self.router, *self.attach_routers))
        switches = dict.fromkeys((self.switch, *self.attach_switches))
        return tuple(("Logical_Router", name) for name in routers) + tuple(
            ("Logical_Switch", name) for name in switches
        )


def pool_targets(
    pool: LoadBalancerPool, ports_by_instance: Mapping[str, list[SwitchPort]], version: int
) -> tuple[PoolTarget, ...]:
    """The backends of a pool VIP of IP ``version``, in LXD's order: the pool's
    instances as listed, each instance's switch ports (LXD: its NICs on the
    network, in Go map order, so ovn-lbc takes the order written), each
    port's addresses of the listen address's family as listed
    (lxd/network/driver_ovn.go checkLoadBalancerPoolInstances, 5510-5587).
    The instance's target port, else the pool's."""
    return tuple(
        PoolTarget(address, instance.target_port or pool.target_port, port.name, instance)
        for instance in pool.instances
        for port in ports_by_instance.get(instance.name, ())
        for address in port.addresses
        if address.version == version
    )


@dataclass(frozen=True, slots=True)
class Target:
    """The OVN release the output is for, and who said so."""

    version: OvnVersion
    # For messages: 'target_ovn at FILE:LINE:COL', '--ovn-version', 'the database', 'the default'.
    origin: str = field(default="the default", compare=False)
    span: Span | None = field(default=None, compare=False)


DEFAULT_TARGET = Target(OLDEST_SUPPORTED, "the default: the oldest OVN ovn-lbc supports")


@dataclass(frozen=True, slots=True)
class Document:
    """Everything a run compiles: the networks of all its input files."""

    networks: tuple[Network, ...] = ()
    # What a file (target_ovn) or the command line said the site runs; None: nobody said.
    declared_target: Target | None = None

    @property
    def target(self) -> Target:
        return self.declared_target or DEFAULT_TARGET
