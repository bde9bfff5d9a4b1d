"""What keepalived.conf and ipvsadm say about load balancing, in one shape.

Both readers produce these; ``translate.py`` turns them into the model.
Every value keeps the span of the text that said it, so each finding of the
translation points at its keepalived or ipvsadm line. Defaults are the
tools' own (keepalived.conf(5), ipvsadm(8)), filled in by the readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPAddress

from ..diagnostics import Span

# Health checkers that open a TCP connection or send a UDP datagram, as OVN's probes do.
PROBES = {"TCP_CHECK": "tcp", "UDP_CHECK": "udp"}


@dataclass(frozen=True, slots=True)
class Setting:
    """A number from the input and where it was written."""

    value: float
    span: Span


@dataclass(frozen=True, slots=True)
class Checker:
    """A real server's health checker, its timing inherited as keepalived does
    (virtual server -> real server -> checker)."""

    kind: str  # TCP_CHECK, UDP_CHECK, HTTP_GET, MISC_CHECK, ...
    span: Span
    interval: Setting  # delay_loop, seconds
    timeout: Setting  # connect_timeout, seconds
    retry: Setting  # retries after a first failure


@dataclass(frozen=True, slots=True)
class RealServer:
    address: IPAddress
    port: int | None  # None: the virtual server's port
    span: Span  # the address
    weight: int = 1
    weight_span: Span | None = None
    # NAT | DR | TUN, and where it was said (None: the virtual server's method).
    method: str | None = None
    method_span: Span | None = None
    checkers: tuple[Checker, ...] = ()


@dataclass(frozen=True, slots=True)
class VirtualService:
    """One VIP, port and protocol with its real servers."""

    protocol: str  # tcp | udp | sctp
    address: IPAddress
    port: int | None  # None: every port (a persistent port-0 service)
    span: Span  # the address (for a group's entry, the entry)
    header: Span  # the virtual_server keyword or the -A line
    scheduler: str = "wlc"
    scheduler_span: Span | None = None  # None: the default
    scheduler_flags: tuple[str, ...] = ()
    method: str = "NAT"
    method_span: Span | None = None
    persistence: Setting | None = None  # seconds
    sorry_server: Span | None = None
    real_servers: tuple[RealServer, ...] = ()
