"""The model every front end builds and every later stage trusts.

Addresses are parsed and canonicalised once, here (netaddr objects print in
RFC 5952 form). Spans point back to the source but take no part in equality,
so the same load balancer written in YAML, JSON or the DSL is the same model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from netaddr import EUI, IPAddress, IPNetwork

from .diagnostics import Span

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
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class LoadBalancer(_Located):
    """An Incus network load balancer: one listen address, many backends."""

    listen_address: IPAddress
    backends: tuple[Backend, ...] = ()
    ports: tuple[LoadBalancerPort, ...] = ()
    description: str = ""
    health_check: HealthCheck | None = None
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
    # The user.* keys of the config map, sorted (target_address is default_target).
    user_config: tuple[tuple[str, str], ...] = ()
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()


@dataclass(frozen=True, slots=True)
class SwitchPort(_Located):
    """A Logical_Switch_Port and the addresses behind it (for health checks)."""

    name: str
    addresses: tuple[IPAddress, ...]
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
    forwards: tuple[Forward, ...] = ()
    load_balancers: tuple[LoadBalancer, ...] = ()
    span: Span = field(default=Span("<model>", 0, 0), compare=False, repr=False)
    spans: Mapping[str, Span] = _spans()

    def subnet(self, version: int) -> IPNetwork | None:
        return self.ipv4 if version == 4 else self.ipv6


@dataclass(frozen=True, slots=True)
class Document:
    """Everything a run compiles: the networks of all its input files."""

    networks: tuple[Network, ...] = ()
