"""YAML/JSON pass 3: a shape-checked tree -> the model, reporting bad values.

Reads every field of every object (addresses, ports, config, health checks,
Load_Balancer options) with the value rules both front ends share
(``values``, ``lb_options``), so all value errors of a file are reported at
once, each at its node. What the shape check (``document_shape``) rejected
or disqualified is skipped silently and left out of the model.

Why this module is long: one class, ModelBuilder, with a method per kind of
object (LXD's pools too) and the value readers they share, as in
``dsl_builder``; splitting it would part methods that call each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from netaddr import EUI, IPAddress, IPNetwork

from ..diagnostics import Diagnostic, Span, error, note, warning
from ..ir import (
    LXD_POOL_HEALTH_CHECK,
    OPTION_KEYS,
    POOL_PROTOCOLS,
    Backend,
    Document,
    Forward,
    ForwardPort,
    HealthCheck,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPool,
    LoadBalancerPort,
    Network,
    PoolInstance,
    PortRange,
    ProbeChoice,
    ProbeSource,
    SwitchPort,
    Target,
)
from ..ovn_versions import parse_ovn_version
from .lb_options import build_options, parse_option
from .tree import MappingNode, Node, Path, ScalarNode, SequenceNode
from .values import (
    MAX_HEALTH_CHECK_VALUE,
    health_check_value_problem,
    name_problem,
    parse_address,
    parse_bool,
    parse_gateway,
    parse_mac,
    parse_pool_health_check_enabled,
    parse_ports,
    parse_probe_source,
    parse_single_port,
    pool_health_check_value,
    probe_source_problem,
    string_problem,
    zero_default_message,
)

T = TypeVar("T")

HEALTH_CHECK_KEYS = ("interval", "timeout", "success_count", "failure_count")
_COUNT = re.compile(r"0*([0-9]{1,12})")


def _user_keys(config: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in config if pair[0].startswith("user."))


class _PlaceholderSpans(dict[str, Span]):
    """The field spans of every object built on the fast path: each is the
    placeholder, so none is kept. A 10,000-load-balancer model held some
    80,000 dicts of copies of one span, about a third of its memory; the
    objects' ``at()`` falls back to their own span, the same placeholder."""

    def __init__(self, placeholder: Span) -> None:
        super().__init__()
        self.placeholder = placeholder

    def __setitem__(self, key: str, value: Span) -> None:
        pass  # a placeholder: nothing to keep

    def __missing__(self, key: str) -> Span:
        return self.placeholder


class ModelBuilder:
    """Builds the model from a shape-checked tree, reporting bad values.

    Every field of every object is read, so all value errors of a file are
    reported at once; an object the shape check disqualified is then left out
    of the model. Nodes the shape check rejected count as failed, silently.
    """

    def __init__(
        self, root: MappingNode, poisoned: set[Path], rejected: set[int], *, placeholder: Span | None = None
    ) -> None:
        """``placeholder``: the fast path's one span for every node (document.load_document_fast);
        the objects then share one mapping of field spans that keeps nothing."""
        self.root = root
        self._placeholder_spans = None if placeholder is None else _PlaceholderSpans(placeholder)
        self.poisoned = poisoned
        self.rejected = rejected
        self.diagnostics: list[Diagnostic] = []
        # One netaddr object per distinct address text in a run: a big file
        # names each backend's address many times, and parsing it costs more
        # than a lookup. Safe to share: nothing changes an address in place.
        self.addresses: dict[str, IPAddress | None] = {}
        # The same for the other values a big file repeats (port lists, texts
        # found storable, names): each is judged once per distinct text.
        self.port_lists: dict[str, tuple[tuple[PortRange, ...], list[tuple[int, str]]]] = {}
        self.storable: set[str] = set()
        self.names: dict[tuple[str, str], str | None] = {}

    # -- helpers --------------------------------------------------------

    def new_spans(self) -> dict[str, Span]:
        """Where an object's fields are: a mapping of its own, or on the fast path the shared one."""
        return {} if self._placeholder_spans is None else self._placeholder_spans

    def fail(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(error(span, code, message, *notes))

    @staticmethod
    def items(node: MappingNode, key: str) -> list[Node]:
        child = node.items.get(key)
        return child.items if isinstance(child, SequenceNode) else []

    def usable(self, node: Node) -> ScalarNode | None:
        """The node as a scalar, or None when the shape check rejected it."""
        return node if isinstance(node, ScalarNode) and id(node) not in self.rejected else None

    def field(self, node: MappingNode, key: str, spans: dict[str, Span]) -> tuple[bool, ScalarNode | None]:
        """(present, scalar): scalar is None when present but rejected by the shape check."""
        child = node.items.get(key)
        if child is None:
            return False, None
        scalar = self.usable(child)
        if scalar is not None:
            spans[key] = scalar.span
        return True, scalar

    def text(self, node: MappingNode, key: str, spans: dict[str, Span], default: str = "") -> str | None:
        """A string field in Incus's form (integers and booleans as their text)."""
        present, child = self.field(node, key, spans)
        if not present:
            return default
        return self.string(child) if child is not None else None

    def string(self, child: ScalarNode) -> str | None:
        value = child.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return ""
        text = child.raw if child.raw is not None else str(value)
        if text in self.storable:
            return text
        problem = string_problem(text)
        if problem is not None:
            self.fail(child.span, "E208", problem)
            return None
        self.storable.add(text)
        return text

    def name(self, node: MappingNode, key: str, spans: dict[str, Span], what: str) -> str | None:
        if key not in node.items:
            return None  # every name is required: the shape check reported it (E103)
        value = self.text(node, key, spans)
        problem = None
        if value is not None:
            known = (value, what)
            problem = (
                self.names[known] if known in self.names else self.names.setdefault(known, name_problem(value, what))
            )
        if problem is not None:
            self.fail(spans.get(key, node.span), "E207", problem)
            return None
        return value

    def address(self, node: MappingNode, key: str, spans: dict[str, Span]) -> IPAddress | None:
        _, child = self.field(node, key, spans)
        return self.parse_address(child, f'"{key}"') if child is not None else None

    def parse_address(self, child: ScalarNode, what: str) -> IPAddress | None:
        text = self.string(child)
        if text is None:
            return None
        address = self.addresses.get(text, False)
        if address is False:
            address = self.addresses[text] = parse_address(text)
        if address is None:
            self.fail(child.span, "E200", f'{what}: "{text}" is not an IPv4 or IPv6 address')
        return address

    def ports(self, node: MappingNode, key: str, spans: dict[str, Span]) -> tuple[PortRange, ...] | None:
        present, child = self.field(node, key, spans)
        if not present:
            return ()
        if child is None:
            return None
        text = self.string(child)
        if text is None:
            return None
        if not text.strip():
            if key == "listen_port":
                self.fail(child.span, "E203", "listen_port must name at least one port")
                return None
            return ()
        parsed = self.port_lists.get(text)
        if parsed is None:
            parsed = self.port_lists[text] = parse_ports(text)
        ranges, problems = parsed
        for offset, message in problems:
            self.fail(child.span_of_offset(offset), "E203", f"invalid {key}: {message}")
        return None if problems else ranges

    def config(self, node: MappingNode, spans: dict[str, Span]) -> tuple[tuple[str, str], ...] | None:
        child = node.items.get("config")
        if child is None:
            return ()
        if not isinstance(child, MappingNode):
            return None  # rejected by the shape check
        pairs: list[tuple[str, str]] = []
        ok = True
        for key, value_node in child.items.items():
            # Keys become external_ids keys too (user.*): the same rule as values.
            key_problem = string_problem(key)
            if key_problem is not None:
                self.fail(child.key_span(key), "E208", f'config key "{key}": {key_problem}')
                ok = False
            scalar = self.usable(value_node)
            if scalar is None:
                ok = False
                continue
            spans[f"config.{key}"] = scalar.span
            value = self.string(scalar)
            if value is None:
                ok = False
            else:
                pairs.append((key, value))
        return tuple(sorted(pairs)) if ok else None

    def each_scalar(
        self, node: MappingNode, key: str, spans: dict[str, Span], convert: Callable[[ScalarNode], T | None]
    ) -> tuple[T, ...] | None:
        """Convert every item of a list of scalars; None when any item failed."""
        results: list[T] = []
        ok = key not in node.items or isinstance(node.items[key], SequenceNode)
        for index, item in enumerate(self.items(node, key)):
            scalar = self.usable(item)
            if scalar is None:
                ok = False
                continue
            spans[f"{key}[{index}]"] = scalar.span
            value = convert(scalar)
            if value is None:
                ok = False
            else:
                results.append(value)
        return tuple(results) if ok else None

    def each(
        self,
        parent: MappingNode,
        key: str,
        path: Path,
        build: Callable[[MappingNode, Path], T | None],
    ) -> tuple[list[T], bool]:
        """Build every item of a list field; False when any item failed."""
        results: list[T] = []
        ok = True
        for index, item in enumerate(self.items(parent, key)):
            item_path = (*path, key, index)
            if not isinstance(item, MappingNode):
                ok = False
                continue
            # Built even when disqualified, to report its value errors too.
            built = build(item, item_path)
            if built is None or item_path in self.poisoned:
                ok = False
            else:
                results.append(built)
        return results, ok

    # -- objects --------------------------------------------------------

    def document(self) -> Document:
        networks, _ = self.each(self.root, "networks", (), self.network)
        return Document(tuple(networks), self.target())

    def target(self) -> Target | None:
        present, child = self.field(self.root, "target_ovn", {})
        text = self.string(child) if child is not None else None
        if not present or child is None or text is None:
            return None
        version = parse_ovn_version(text)
        if isinstance(version, str):
            self.fail(child.span, "E210", f"target_ovn: {version}")
            return None
        return Target(version, f"target_ovn at {child.span}", child.span)

    def datapath_names(self, node: MappingNode, key: str, what: str, spans: dict[str, Span]) -> tuple[str, ...] | None:
        def one(item: ScalarNode) -> str | None:
            text = self.string(item)
            problem = name_problem(text, what) if text is not None else None
            if problem is not None:
                self.fail(item.span, "E207", problem)
                return None
            return text

        return self.each_scalar(node, key, spans, one)

    def network(self, node: MappingNode, path: Path) -> Network | None:
        spans = self.new_spans()
        name = self.name(node, "name", spans, "network name")
        row_prefix = self.name(node, "row_prefix", spans, "row_prefix")
        router = self.name(node, "router", spans, "router name")
        switch = self.name(node, "switch", spans, "switch name")
        ipv4 = self.subnet(node, "ipv4_address", 4, spans)
        ipv6 = self.subnet(node, "ipv6_address", 6, spans)
        mac = self.mac(node, spans)
        attach_switches = self.datapath_names(node, "attach_switches", "switch name", spans)
        attach_routers = self.datapath_names(node, "attach_routers", "router name", spans)
        lb_group = self.name(node, "lb_group", spans, "lb_group name") if "lb_group" in node.items else None
        probe_source = self.probe_source(node, spans)
        switch_ports, ports_ok = self.each(node, "switch_ports", path, self.switch_port)
        forwards, forwards_ok = self.each(node, "forwards", path, self.forward)
        load_balancers, lbs_ok = self.each(node, "load_balancers", path, self.load_balancer)
        # The load balancers depend on their pools as on the switch ports: a bad one leaves the network out.
        pools, pools_ok = self.each(node, "load_balancer_pools", path, self.pool)
        fields = (name, row_prefix, router, switch, ipv4, ipv6, mac)
        if (
            path in self.poisoned
            or not ports_ok
            or not pools_ok
            or attach_switches is None
            or attach_routers is None
            or ("lb_group" in node.items and lb_group is None)
            or probe_source is None
            or any(v is False for v in fields)
            or None
            in (
                name,
                row_prefix,
                router,
                switch,
            )
        ):
            return None
        assert name is not None and row_prefix is not None and router is not None and switch is not None
        if ipv4 is None and ipv6 is None:
            self.fail(node.span, "E317", f'network "{name}" needs ipv4_address or ipv6_address')
            return None
        return Network(
            name=name,
            row_prefix=row_prefix,
            router=router,
            switch=switch,
            ipv4=ipv4 or None,
            ipv6=ipv6 or None,
            router_mac=mac or None,
            switch_ports=tuple(switch_ports),
            attach_switches=attach_switches,
            attach_routers=attach_routers,
            lb_group=lb_group,
            probe_source=probe_source,
            forwards=tuple(forwards),
            load_balancers=tuple(load_balancers),
            pools=tuple(pools),
            span=node.span,
            spans=spans,
        )

    def subnet(self, node: MappingNode, key: str, version: int, spans: dict[str, Span]) -> IPNetwork | None | bool:
        """The gateway address with its prefix; None when absent, False when bad."""
        present, child = self.field(node, key, spans)
        if not present:
            return None
        text = self.string(child) if child is not None else None
        if child is None or text is None:
            return False
        network = parse_gateway(text, version, key)
        if isinstance(network, str):
            self.fail(child.span, "E201", network)
            return False
        return network

    def probe_source(self, node: MappingNode, spans: dict[str, Span]) -> ProbeSource | None:
        """The probe_source mapping (the defaults when absent); None when a value is bad."""
        child = node.items.get("probe_source")
        if not isinstance(child, MappingNode):
            return ProbeSource()  # absent, or rejected by the shape check (which disqualified the network)
        choices: dict[str, ProbeChoice] = {}
        ok = True
        for version in (4, 6):
            key = f"ipv{version}"
            found = child.items.get(key)
            scalar = self.usable(found) if found is not None else None
            text = self.string(scalar) if scalar is not None else None
            if scalar is None or text is None:
                ok = ok and found is None
                continue
            spans[f"probe_source.{key}"] = scalar.span
            choice = parse_probe_source(text, version)
            if choice is None:
                self.fail(scalar.span, "E211", probe_source_problem(text, version, f"probe_source.{key}"))
                ok = False
            else:
                choices[key] = choice
        return ProbeSource(**choices) if ok else None

    def mac(self, node: MappingNode, spans: dict[str, Span]) -> EUI | None | bool:
        present, child = self.field(node, "router_mac", spans)
        if not present:
            return None
        text = self.string(child) if child is not None else None
        if child is None or text is None:
            return False
        mac = parse_mac(text)
        if mac is None:
            self.fail(child.span, "E202", f'router_mac: "{text}" is not a MAC address like 02:75:b9:2e:ad:f4')
            return False
        return mac

    def switch_port(self, node: MappingNode, path: Path) -> SwitchPort | None:
        spans = self.new_spans()
        name = self.name(node, "name", spans, "switch port name")
        addresses = self.each_scalar(
            node, "addresses", spans, lambda item: self.parse_address(item, "switch port address")
        )
        instance = self.name(node, "instance", spans, "instance name") if "instance" in node.items else None
        if addresses is None or name is None or ("instance" in node.items and instance is None):
            return None
        return SwitchPort(name, addresses, instance, span=node.span, spans=spans)

    def load_balancer(self, node: MappingNode, path: Path) -> LoadBalancer | None:
        spans = self.new_spans()
        listen = self.address(node, "listen_address", spans)
        description = self.text(node, "description", spans)
        config = self.config(node, spans)
        health_check_ok, health_check = self.health_check(node, config, spans) if config is not None else (False, None)
        options = self.options(node, config, spans) if config is not None else None
        backends, backends_ok = self.each(node, "backends", path, self.backend)
        ports, ports_ok = self.each(node, "ports", path, self.load_balancer_port)
        if (
            path in self.poisoned
            or listen is None
            or description is None
            or config is None
            or options is None
            or not health_check_ok
            or not (backends_ok and ports_ok)
        ):
            return None
        return LoadBalancer(
            listen_address=listen,
            backends=tuple(backends),
            ports=tuple(ports),
            description=description,
            health_check=health_check,
            options=options,
            user_config=_user_keys(config),
            span=node.span,
            spans=spans,
        )

    def health_check_flag(
        self,
        values: dict[str, str],
        spans: dict[str, Span],
        parse: Callable[[str], bool | None],
        *,
        default: bool,
    ) -> bool | None:
        """The ``healthcheck`` key read with ``parse`` (``default`` when absent);
        None, reported as E206, when it is no boolean."""
        if "healthcheck" not in values:
            return default
        enabled = parse(values["healthcheck"])
        if enabled is None:
            self.fail(
                spans["config.healthcheck"],
                "E206",
                f'healthcheck: "{values["healthcheck"]}" is not a boolean (use "true" or "false")',
            )
        return enabled

    def health_check(
        self, node: MappingNode, config: tuple[tuple[str, str], ...], spans: dict[str, Span]
    ) -> tuple[bool, HealthCheck | None]:
        """(False, None) for a bad value, else (True, the check or None when off)."""
        values = dict(config)
        enabled = self.health_check_flag(values, spans, parse_bool, default=False)
        ok = enabled is not None  # and still check the values below
        numbers: dict[str, int] = {}
        for key in HEALTH_CHECK_KEYS:
            text = values.get(f"healthcheck.{key}")
            if text is None:
                continue
            span = spans[f"config.healthcheck.{key}"]
            # At most 12 digits after leading zeros: int() of thousands raises,
            # and anything longer is out of range anyway.
            digits = _COUNT.fullmatch(text.strip())
            number = int(digits.group(1)) if digits is not None else None
            if number is None or number > MAX_HEALTH_CHECK_VALUE:
                self.fail(span, "E205", health_check_value_problem(f"healthcheck.{key}", text, number))
                ok = False
                continue
            if number == 0:
                # Incus stores any uint32 and writes its default for 0.
                self.diagnostics.append(note(span, "N001", zero_default_message(f"healthcheck.{key}", key)))
            else:
                numbers[key] = number
            if enabled is False:
                self.diagnostics.append(
                    warning(
                        span,
                        "W002",
                        f'healthcheck.{key} has no effect: healthcheck is not "true"',
                    )
                )
        if not ok:
            return False, None
        return True, (HealthCheck(**numbers) if enabled else None)

    def options(
        self, node: MappingNode, config: tuple[tuple[str, str], ...], spans: dict[str, Span]
    ) -> LoadBalancerOptions | None:
        """The Load_Balancer options among the config keys; None when any is bad."""
        values: dict[str, object] = {}
        ok = True
        config_node = node.items.get("config")
        for key, text in config:
            if key not in OPTION_KEYS:
                continue
            parsed = parse_option(key, text)
            value_node = config_node.items.get(key) if isinstance(config_node, MappingNode) else None
            for offset, message in parsed.problems:
                at = value_node.span_of_offset(offset) if isinstance(value_node, ScalarNode) else spans[f"config.{key}"]
                self.fail(at, parsed.code, message)
            if parsed.problems:
                ok = False
            else:
                values[key] = parsed.value
        return build_options(values) if ok else None

    def backend(self, node: MappingNode, path: Path) -> Backend | None:
        spans = self.new_spans()
        name = self.name(node, "name", spans, "backend name")
        target = self.address(node, "target_address", spans)
        ports = self.ports(node, "target_port", spans)
        description = self.text(node, "description", spans)
        if None in (name, target, ports, description):
            return None
        assert name is not None and target is not None and ports is not None and description is not None
        return Backend(name, target, ports, description, span=node.span, spans=spans)

    def load_balancer_port(self, node: MappingNode, path: Path) -> LoadBalancerPort | None:
        spans = self.new_spans()
        protocol = self.text(node, "protocol", spans)
        listen_ports = self.ports(node, "listen_port", spans)
        description = self.text(node, "description", spans)
        targets = self.each_scalar(node, "target_backend", spans, self.string)
        pool_ok, pool = self.port_target_pool(node, spans)
        if targets is None or not pool_ok or None in (protocol, listen_ports, description):
            return None
        assert protocol is not None and listen_ports is not None and description is not None
        return LoadBalancerPort(protocol, listen_ports, targets, description, pool, span=node.span, spans=spans)

    def forward(self, node: MappingNode, path: Path) -> Forward | None:
        spans = self.new_spans()
        listen = self.address(node, "listen_address", spans)
        description = self.text(node, "description", spans)
        config = self.config(node, spans)
        default_target: IPAddress | None = None
        ok = config is not None
        config_node = node.items.get("config")
        if isinstance(config_node, MappingNode):
            found = config_node.items.get("target_address")
            target_node = self.usable(found) if found is not None else None
            if target_node is not None and str(target_node.value or "").strip():
                default_target = self.parse_address(target_node, "config target_address")
                ok = ok and default_target is not None
                spans["default_target"] = target_node.span
        options = self.options(node, config, spans) if config is not None else None
        ports, ports_ok = self.each(node, "ports", path, self.forward_port)
        if path in self.poisoned or listen is None or description is None or options is None or not (ok and ports_ok):
            return None
        assert config is not None
        return Forward(
            listen_address=listen,
            ports=tuple(ports),
            default_target=default_target,
            description=description,
            options=options,
            user_config=_user_keys(config),
            span=node.span,
            spans=spans,
        )

    def forward_port(self, node: MappingNode, path: Path) -> ForwardPort | None:
        spans = self.new_spans()
        protocol = self.text(node, "protocol", spans)
        listen_ports = self.ports(node, "listen_port", spans)
        target = self.address(node, "target_address", spans)
        target_ports = self.ports(node, "target_port", spans)
        description = self.text(node, "description", spans)
        snat_ok = self.forward_snat(node, spans)
        if not snat_ok or None in (protocol, listen_ports, target, target_ports, description):
            return None
        assert protocol is not None and listen_ports is not None and target is not None
        assert target_ports is not None and description is not None
        return ForwardPort(protocol, listen_ports, target, target_ports, description, span=node.span, spans=spans)

    def forward_snat(self, node: MappingNode, spans: dict[str, Span]) -> bool:
        """``snat``, which current Incus prints on every forward port: false is
        what OVN does anyway; true Incus refuses on OVN networks (driver_common.go
        forwardValidate: "SNAT can only be used with bridge networks"), and so does ovn-lbc."""
        present, child = self.field(node, "snat", spans)
        if not present or child is None:
            return not present
        text = self.string(child)
        value = parse_bool(text) if text is not None else None
        if value is None:
            if text is not None:
                self.fail(child.span, "E206", f'snat: "{text}" is not a boolean (use "true" or "false")')
            return False
        if value:
            self.fail(
                child.span,
                "E327",
                "snat: true is not possible on OVN: Incus refuses it too (SNAT can only be used with bridge networks)",
                "it makes new connections from the target appear to come from the forward's address, which "
                "OVN's NAT cannot express per port (Incus's network_forward_snat); drop the key or set it to false",
            )
            return False
        return True

    # -- LXD's load-balancer pools ------------------------------------------

    def port_target_pool(self, node: MappingNode, spans: dict[str, Span]) -> tuple[bool, str | None]:
        """A port entry's ``target_pool``: (False, None) when wrong, else (True,
        the name or None). LXD takes exactly one of target_backend and target_pool
        (lxd/network/driver_common.go loadBalancerValidate, 1341-1531)."""
        present, child = self.field(node, "target_pool", spans)
        text = self.string(child) if child is not None else None
        name = text.strip() if text is not None else None  # LXD's Normalise trims it
        if present and name is None:
            return False, None
        backends = "target_backend" in node.items
        if name and backends:
            self.fail(
                spans["target_pool"],
                "E341",
                "a port entry has target_backend or target_pool, not both",
                "LXD refuses it too (Cannot specify both target_backend and target_pool)",
            )
            return False, None
        if not name and not backends:
            self.fail(node.span, "E103", 'a port entry needs the key "target_backend" or "target_pool"')
            return False, None
        return True, name or None

    def pool(self, node: MappingNode, path: Path) -> LoadBalancerPool | None:
        """A pool as ``lxc network load-balancer pool show`` prints it; ``used_by`` is LXD's to keep."""
        spans = self.new_spans()
        name = self.name(node, "name", spans, "pool name")
        description = self.text(node, "description", spans)
        config = self.config(node, spans)
        values = dict(config or ())
        protocol = self.pool_protocol(values, spans) if config is not None else None
        target_port = self.pool_port(node, values, spans) if config is not None else None
        health_ok, health_check = self.pool_health_check(values, spans) if config is not None else (False, None)
        instances, instances_ok = self.each(node, "instances", path, self.pool_instance)
        if config is None or not (health_ok and instances_ok) or None in (name, description, protocol, target_port):
            return None
        assert name is not None and description is not None and protocol is not None and target_port is not None
        return LoadBalancerPool(
            name=name,
            target_port=target_port,
            protocol=protocol,
            description=description,
            health_check=health_check,
            instances=tuple(instances),
            user_config=_user_keys(config),
            span=node.span,
            spans=spans,
        )

    def pool_protocol(self, values: dict[str, str], spans: dict[str, Span]) -> str | None:
        text = values.get("protocol", "").strip()
        if not text:
            return "tcp"  # LXD writes tcp into the config when none is given (driver_ovn.go 6825-6827)
        if text not in POOL_PROTOCOLS:
            self.fail(spans["config.protocol"], "E204", f'unknown pool protocol "{text}": expected tcp or udp')
            return None
        return text

    def pool_port(self, node: MappingNode, values: dict[str, str], spans: dict[str, Span]) -> int | None:
        if "target_port" not in values:
            config = node.items.get("config")
            if isinstance(config, MappingNode) or "config" not in node.items:
                self.fail(
                    node.key_span("config") if config is not None else node.span,
                    "E103",
                    'a pool needs the config key "target_port"',
                    "LXD requires it: the port the instances serve on",
                )
            return None
        return self.single_port(node.items["config"], "target_port", values["target_port"], spans["config.target_port"])

    def single_port(self, parent: Node, key: str, text: str, span: Span) -> int | None:
        port, problems = parse_single_port(text, key)
        value = parent.items.get(key) if isinstance(parent, MappingNode) else None
        for offset, message in problems:
            at = value.span_of_offset(offset) if isinstance(value, ScalarNode) else span
            self.fail(at, "E203", f"invalid {key}: {message}")
        return port

    def pool_health_check(self, values: dict[str, str], spans: dict[str, Span]) -> tuple[bool, HealthCheck | None]:
        """(False, None) for a bad value, else (True, the check or None when off).
        LXD's defaults; a value of 0 is written as it is, as LXD does."""
        enabled = self.health_check_flag(values, spans, parse_pool_health_check_enabled, default=True)
        ok = enabled is not None
        numbers: dict[str, int] = {}
        for key in HEALTH_CHECK_KEYS:
            text = values.get(f"healthcheck.{key}")
            if text is None:
                continue
            span = spans[f"config.healthcheck.{key}"]
            number = pool_health_check_value(f"healthcheck.{key}", text)
            if isinstance(number, str):
                self.fail(span, "E205", number)
                ok = False
                continue
            numbers[key] = number
            if enabled is False:
                self.diagnostics.append(
                    warning(span, "W002", f'healthcheck.{key} has no effect: the pool\'s healthcheck is "false"')
                )
        if not ok:
            return False, None
        return True, (replace(LXD_POOL_HEALTH_CHECK, **numbers) if enabled else None)

    def pool_instance(self, node: MappingNode, path: Path) -> PoolInstance | None:
        spans = self.new_spans()
        name = self.name(node, "name", spans, "instance name")
        present, child = self.field(node, "target_port", spans)
        text = self.string(child) if child is not None else None
        port: int | None = None
        if present and (child is None or text is None):
            return None
        if text is not None and text.strip():  # LXD prints none for an unset one; "" is unset too
            port = self.single_port(node, "target_port", text, spans["target_port"])
            if port is None:
                return None
        if name is None:
            return None
        return PoolInstance(name, port, span=node.span, spans=spans)
