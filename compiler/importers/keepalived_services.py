"""keepalived.conf's statement tree -> virtual services (services.py).

Reads the LVS part of keepalived.conf(5): ``virtual_server`` (an address and
port, or a ``group``; ``fwmark`` services are left out), ``virtual_server_group``
(addresses, ranges ``A.B.C.D-E`` and ``A.B.C.D-A.B.C.E``, CIDRs), ``real_server``
and its checkers. What the model has no place for is said here, at its
keyword, once: VRRP, quorum and thresholds, notify scripts, unknown keywords.
What depends on the whole service (schedulers, methods, weights, checkers,
persistence) is judged by translate.py, which sees every reader's services.

The defaults are keepalived's: scheduler wlc, method NAT, weight 1,
delay_loop 60, connect_timeout 5, retry 1 (MISC_CHECK 0, DNS_CHECK 3),
persistence_timeout 360 when written without a value. Timing set on the
virtual server is the default of its real servers, and theirs of their
checkers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from netaddr import AddrFormatError, IPAddress, IPNetwork

from ..diagnostics import Diagnostic, Span, error, warning
from .keepalived import Statement, Word
from .services import Checker, RealServer, Setting, VirtualService

# Group ranges may not expand to more VIPs than this in all (each range, and
# every use of a group, counted): each VIP becomes a load balancer, and a /8
# typed by mistake would be millions; so the output stays linear in the input.
MAX_GROUP_ADDRESSES = 10_000

CHECKERS = frozenset(
    {
        "TCP_CHECK",
        "UDP_CHECK",
        "HTTP_GET",
        "SSL_GET",
        "SMTP_CHECK",
        "DNS_CHECK",
        "MISC_CHECK",
        "BFD_CHECK",
        "PING_CHECK",
        "FILE_CHECK",
    }
)
_RETRY_DEFAULTS = {"MISC_CHECK": 0, "DNS_CHECK": 3}
_DEFAULT_TIMING = {"delay_loop": 60.0, "connect_timeout": 5.0, "retry": 1.0}
_TIMING = {"delay_loop": "delay_loop", "connect_timeout": "connect_timeout", "retry": "retry", "nb_get_retry": "retry"}
_METHODS = ("NAT", "DR", "TUN")

# Keywords that change nothing OVN would do differently, or only tune
# keepalived itself (its logs, mails, SNMP, start-up): read and dropped.
_QUIET = frozenset(
    {
        "alpha",
        "omega",
        "warmup",
        "delay_before_retry",
        "smtp_alert",
        "snmp_name",
        "virtualhost",
        "nat_mask",
        "ip_family",
        "ha_suspend",
        "inhibit_on_failure",
        "sorry_server_inhibit",
        "sorry_server_lvs_method",
        "log_all_failures",
        "sh-fallback",
        "mh-fallback",
    }
)
_SCHEDULER_FLAGS = frozenset({"flag-1", "flag-2", "flag-3", "sh-port", "mh-port"})
# Top-level blocks that configure keepalived itself, not what it balances.
_GLOBAL = frozenset(
    {
        "global_defs",
        "static_ipaddress",
        "static_routes",
        "static_rules",
        "static_track_group",
        "linkbeat_interfaces",
        "interface_up_down_delays",
        "SSL",
        "bfd_instance",
        "track_file",
        "track_process",
        "garp_group",
        "net_namespace",
        "net_namespace_ipvs",
        "namespace_with_ipsets",
        "instance",
        "use_pid_dir",
        "linkbeat_use_polling",
        "child_wait_time",
    }
)
_VRRP_NOTE = (
    "not needed: OVN's load balancer is distributed, every chassis answers for the VIP, so no director fails over"
)
_QUORUM_NOTE = "OVN has no quorum: a VIP keeps serving while any backend is up"
_SCRIPT_NOTE = "OVN runs no scripts when a backend goes up or down"


@dataclass(slots=True)
class _Read:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    groups: dict[str, tuple[list[tuple[IPAddress, int | None, Span]], Span]] = field(default_factory=dict)
    expanded: int = 0  # VIPs made from groups so far
    defined: int = 0  # addresses in the groups so far

    def fail(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(error(span, code, message, *notes))

    def warn(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(warning(span, code, message, *notes))

    def ignored(self, statement: Statement, where: str) -> None:
        self.warn(
            statement.span,
            "K001",
            f'"{statement.keyword.text}" in {where} is not a keyword the importer knows: ignored',
        )


def keepalived_services(statements: Sequence[Statement]) -> tuple[list[VirtualService], list[Diagnostic]]:
    """The virtual services of a parsed keepalived.conf, and what was not imported."""
    read = _Read()
    for statement in statements:
        if statement.keyword.text == "virtual_server_group":
            _group(read, statement)
    services: list[VirtualService] = []
    for statement in statements:
        keyword = statement.keyword.text
        if keyword == "virtual_server":
            services.extend(_virtual_server(read, statement))
        elif keyword.startswith("vrrp_"):
            read.warn(statement.span, "K011", f"{keyword} is not imported: VRRP is {_VRRP_NOTE}")
        elif keyword not in _GLOBAL and keyword != "virtual_server_group":
            read.ignored(statement, "keepalived.conf")
    return services, read.diagnostics


# -- values ---------------------------------------------------------------------


def _address(read: _Read, word: Word) -> IPAddress | None:
    try:
        text = word.text
        if ":" not in text and text.count(".") != 3:
            raise AddrFormatError(text)
        return IPAddress(text)
    except (AddrFormatError, ValueError):
        read.fail(word.span, "E200", f'invalid IP address "{word.text}"', "keepalived.conf names servers by address")
        return None


def _port(read: _Read, word: Word) -> int | None:
    if word.text.isdigit() and word.text.isascii() and 1 <= int(word.text) <= 65535:
        return int(word.text)
    read.fail(word.span, "E203", f'invalid port "{word.text}": expected a number from 1 to 65535')
    return None


def _number(read: _Read, statement: Statement, *, integer: bool = False) -> Setting | None:
    if len(statement.args) != 1:
        read.fail(statement.span, "E100", f"{statement.keyword.text} takes one number")
        return None
    word = statement.args[0]
    try:
        value = float(word.text) if not integer else int(word.text)
    except ValueError:
        value = -1
    if not word.text.isascii() or value < 0 or value != value or value > 2**31:
        kind = "a whole number" if integer else "a number of seconds"
        read.fail(word.span, "E100", f'{statement.keyword.text}: expected {kind}, found "{word.text}"')
        return None
    return Setting(value, word.span)


def _endpoint(read: _Read, statement: Statement) -> tuple[IPAddress, int | None] | None:
    """``ADDRESS [PORT]`` of a virtual or real server."""
    args = statement.args
    if not 1 <= len(args) <= 2:
        read.fail(statement.span, "E100", f"{statement.keyword.text} takes an address and a port")
        return None
    address = _address(read, args[0])
    port = _port(read, args[1]) if len(args) == 2 else None
    if address is None or (len(args) == 2 and port is None):
        return None
    return address, port


def _block(statement: Statement) -> tuple[Statement, ...]:
    return statement.block or ()


# -- virtual_server_group -----------------------------------------------------------


def _range(read: _Read, word: Word) -> list[IPAddress] | None:
    """``A.B.C.D``, ``A.B.C.D-E``, ``A.B.C.D-A.B.C.E`` or a CIDR, as addresses."""
    text = word.text
    try:
        if "/" in text:
            network = IPNetwork(text)
            first, last = int(network.first), int(network.last)
            version = network.version
        elif "-" in text:
            start_text, end_text = text.split("-", 1)
            start = IPAddress(start_text)
            version = start.version
            if "." in end_text or ":" in end_text:
                end = IPAddress(end_text)
            else:  # the last part only, decimal for IPv4 and hexadecimal for IPv6 (keepalived's rule)
                base = 10 if version == 4 else 16
                bits = 8 if version == 4 else 16
                end = IPAddress((int(start) >> bits << bits) | int(end_text, base), version)
            first, last = int(start), int(end)
        else:
            address = _address(read, word)
            return None if address is None else [address]
    except (AddrFormatError, ValueError):
        read.fail(
            word.span, "E200", f'invalid address range "{text}"', "forms: 10.0.0.1-10, 10.0.0.1-10.0.0.10, 10.0.0.0/29"
        )
        return None
    if last < first:
        read.fail(word.span, "E200", f'address range "{text}" ends before it starts')
        return None
    if last - first + 1 > MAX_GROUP_ADDRESSES:
        read.fail(
            word.span,
            "E200",
            f'address range "{text}" holds {last - first + 1} addresses, more than the {MAX_GROUP_ADDRESSES} '
            "the importer makes load balancers for",
        )
        return None
    return [IPAddress(value, version) for value in range(first, last + 1)]


def _group(read: _Read, statement: Statement) -> None:
    if len(statement.args) != 1 or statement.block is None:
        read.fail(statement.span, "E100", "virtual_server_group takes a name and a block of addresses")
        return
    name = statement.args[0].text
    entries: list[tuple[IPAddress, int | None, Span]] = []
    for entry in statement.block:
        if entry.keyword.text == "fwmark":
            read.warn(entry.span, "K009", f"fwmark in virtual_server_group {name} is left out: {_FWMARK_NOTE}")
            continue
        addresses = _range(read, entry.keyword)
        port = None
        if len(entry.args) > 1:
            read.fail(entry.args[1].span, "E100", "a virtual_server_group entry is an address or range and a port")
        elif entry.args:
            port = _port(read, entry.args[0])
            if port is None:
                continue
        read.defined += len(addresses or ())
        if read.defined > MAX_GROUP_ADDRESSES:
            read.fail(
                entry.span, "E200", f"the virtual_server_groups hold more than {MAX_GROUP_ADDRESSES} addresses in all"
            )
            return
        for address in addresses or ():
            entries.append((address, port, entry.span))
    if name in read.groups:
        read.fail(
            statement.args[0].span,
            "E100",
            f"virtual_server_group {name} is defined twice (first at {read.groups[name][1]})",
        )
        return
    read.groups[name] = (entries, statement.args[0].span)


_FWMARK_NOTE = "OVN matches a VIP's address, port and protocol, not firewall marks; write the VIPs out"


# -- virtual_server -----------------------------------------------------------------


@dataclass(slots=True)
class _Service:
    """What a virtual_server block says, before it is split per address."""

    protocol: str = "tcp"
    scheduler: str = "wlc"
    scheduler_span: Span | None = None
    flags: list[str] = field(default_factory=list)
    method: str = "NAT"
    method_span: Span | None = None
    persistence: Setting | None = None
    sorry_server: Span | None = None
    timing: dict[str, Setting] = field(default_factory=dict)
    # Each real server with its own timing and checkers, resolved once the
    # block is read: keepalived applies a virtual server's defaults after
    # reading it, wherever in the block they were written.
    real_servers: list[tuple[RealServer, dict[str, Setting], list[Statement]]] = field(default_factory=list)


def _virtual_server(read: _Read, statement: Statement) -> Iterator[VirtualService]:
    args = statement.args
    if statement.block is None:
        read.fail(statement.span, "E100", "virtual_server needs a { ... } block")
        return
    targets: list[tuple[IPAddress, int | None, Span]] = []
    if args and args[0].text == "fwmark":
        read.warn(statement.span, "K009", f"virtual_server fwmark is left out: {_FWMARK_NOTE}")
        return
    if args and args[0].text == "group":
        if len(args) != 2:
            read.fail(statement.span, "E100", "virtual_server group takes the group's name")
            return
        group = read.groups.get(args[1].text)
        if group is None:
            read.fail(args[1].span, "E100", f'no virtual_server_group is named "{args[1].text}"')
            return
        targets = group[0]
        read.expanded += len(targets)
        if read.expanded > MAX_GROUP_ADDRESSES:
            read.warn(
                statement.span,
                "K012",
                f"virtual_server group {args[1].text} is left out: the groups would make more than "
                f"{MAX_GROUP_ADDRESSES} VIPs in all",
            )
            return
    else:
        endpoint = _endpoint(read, statement)
        targets = [] if endpoint is None else [(endpoint[0], endpoint[1], args[0].span)]
    service = _Service()
    for inner in statement.block:  # read even without targets: every mistake is reported
        _service_statement(read, inner, service)
    real_servers = tuple(
        replace(
            server,
            checkers=tuple(
                _checker(read, inner, {**service.timing, **timing}, server.port) for inner in checker_statements
            ),
        )
        for server, timing, checker_statements in service.real_servers
    )
    for address, port, span in targets:
        yield VirtualService(
            protocol=service.protocol,
            address=address,
            port=port,
            span=span,
            header=statement.span,
            scheduler=service.scheduler,
            scheduler_span=service.scheduler_span,
            scheduler_flags=tuple(service.flags),
            method=service.method,
            method_span=service.method_span,
            persistence=service.persistence,
            sorry_server=service.sorry_server,
            real_servers=real_servers,
        )


def _method(read: _Read, statement: Statement) -> str | None:
    word = statement.args[0] if statement.args else None
    if word is None or word.text.upper() not in _METHODS:
        read.fail((word or statement.keyword).span, "E100", f"{statement.keyword.text} is NAT, DR or TUN")
        return None
    return word.text.upper()


def _service_statement(read: _Read, statement: Statement, service: _Service) -> None:
    keyword = statement.keyword.text
    if keyword in ("lvs_sched", "lb_algo"):
        if len(statement.args) != 1:
            read.fail(statement.span, "E100", f"{keyword} takes a scheduler name")
            return
        service.scheduler, service.scheduler_span = statement.args[0].text.lower(), statement.args[0].span
    elif keyword in ("lvs_method", "lb_kind"):
        method = _method(read, statement)
        if method is not None:
            service.method, service.method_span = method, statement.args[0].span
    elif keyword == "protocol":
        word = statement.args[0] if len(statement.args) == 1 else None
        if word is None or word.text.lower() not in ("tcp", "udp", "sctp"):
            read.fail((word or statement.keyword).span, "E204", "protocol is TCP, UDP or SCTP")
            return
        service.protocol = word.text.lower()
    elif keyword == "persistence_timeout":
        if statement.args:
            service.persistence = _number(read, statement, integer=True)
        else:
            service.persistence = Setting(360, statement.span)  # keepalived's default: 6 minutes
    elif keyword in ("persistence_granularity", "persistence_engine"):
        read.warn(
            statement.span,
            "K007",
            f"{keyword} is not imported: OVN's affinity keeps each client address, exactly, on its backend",
        )
    elif keyword in _TIMING:
        _timing(read, statement, service.timing)
    elif keyword in ("quorum", "hysteresis", "quorum_up", "quorum_down"):
        read.warn(statement.span, "K010", f"{keyword} is not imported: {_QUORUM_NOTE}")
    elif keyword == "sorry_server":
        if _endpoint(read, statement) is not None:
            service.sorry_server = statement.span
    elif keyword in _SCHEDULER_FLAGS:
        service.flags.append(keyword)
    elif keyword == "ops":
        read.warn(statement.span, "K001", "ops (one-packet scheduling) is not imported: OVN balances each UDP flow")
    elif keyword == "real_server":
        real_server = _real_server(read, statement)
        if real_server is not None:
            service.real_servers.append(real_server)
    elif keyword in _QUIET:
        return
    else:
        read.ignored(statement, "a virtual_server")


def _timing(read: _Read, statement: Statement, timing: dict[str, Setting]) -> None:
    name = _TIMING[statement.keyword.text]
    value = _number(read, statement, integer=name == "retry")
    if value is not None:
        timing[name] = value


def _real_server(read: _Read, statement: Statement) -> tuple[RealServer, dict[str, Setting], list[Statement]] | None:
    endpoint = _endpoint(read, statement)
    if endpoint is None:
        return None
    weight, weight_span = 1, None
    method: str | None = None
    method_span: Span | None = None
    timing: dict[str, Setting] = {}
    checker_statements: list[Statement] = []
    for inner in _block(statement):
        keyword = inner.keyword.text
        if keyword == "weight":
            value = _number(read, inner, integer=True)
            if value is not None:
                weight, weight_span = int(value.value), value.span
        elif keyword == "lvs_method":
            method = _method(read, inner)
            method_span = inner.args[0].span if method else None
        elif keyword in _TIMING:
            _timing(read, inner, timing)
        elif keyword in CHECKERS:
            checker_statements.append(inner)
        elif keyword in ("notify_up", "notify_down"):
            read.warn(inner.span, "K001", f"{keyword} is not imported: {_SCRIPT_NOTE}")
        elif keyword in ("uthreshold", "lthreshold"):
            read.warn(inner.span, "K010", f"{keyword} is not imported: OVN limits no backend's connections")
        elif keyword not in _QUIET:
            read.ignored(inner, "a real_server")
    server = RealServer(
        address=endpoint[0],
        port=endpoint[1],
        span=statement.args[0].span,
        weight=weight,
        weight_span=weight_span,
        method=method,
        method_span=method_span,
    )
    return server, timing, checker_statements


def _checker(read: _Read, statement: Statement, inherited: dict[str, Setting], port: int | None) -> Checker:
    kind = statement.keyword.text
    timing = dict(inherited)
    retry_default = _RETRY_DEFAULTS.get(kind, _DEFAULT_TIMING["retry"])
    probe = kind in ("TCP_CHECK", "UDP_CHECK")
    for inner in _block(statement):
        keyword = inner.keyword.text
        if keyword in _TIMING:
            _timing(read, inner, timing)
        elif keyword == "connect_port" and port is not None and [a.text for a in inner.args] == [str(port)]:
            continue  # the real server's own port: what OVN probes anyway
        elif keyword in ("connect_port", "connect_ip", "bindto", "bind_port", "bind_if", "fwmark"):
            read.warn(inner.span, "K006", f"{keyword} is not imported: {_CHECKER_NOTES[keyword]}")
        elif probe and keyword in ("payload", "require_reply", "min_reply_length", "max_reply_length"):
            read.warn(
                inner.span,
                "K006",
                f"{keyword} is not imported: OVN's UDP probe sends its own datagram and counts silence as "
                "success, an ICMP port-unreachable as failure",
            )
        elif probe and keyword not in _QUIET:
            read.ignored(inner, kind)
    default = Setting(0, statement.span)
    return Checker(
        kind=kind,
        span=statement.span,
        interval=timing.get("delay_loop", Setting(_DEFAULT_TIMING["delay_loop"], default.span)),
        timeout=timing.get("connect_timeout", Setting(_DEFAULT_TIMING["connect_timeout"], default.span)),
        retry=timing.get("retry", Setting(retry_default, default.span)),
    )


_CHECKER_NOTES = {
    "connect_port": "OVN probes each backend on the port it balances to",
    "connect_ip": "OVN probes each backend at its own address",
    "bindto": "OVN probes from the network's reserved health-check source address",
    "bind_port": "OVN chooses the probes' source port",
    "bind_if": "OVN probes through the backend's logical switch port",
    "fwmark": "OVN's probes carry no firewall mark",
}
