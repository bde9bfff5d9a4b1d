"""DSL statements -> the model, with every bad value reported where it is written.

The second pass of the DSL front end. Every value is checked with the YAML
front end's rules and codes (``values``, ``lb_options``), and a span of the
exact DSL token is kept under the same keys the YAML front end uses, so the
semantic checks point into DSL text. An object with a value error, or a
syntax error directly inside it, is left out of the model.

Why this module is long: about 750 lines, one class, ModelBuilder, with a method per
kind of statement (LXD's pools too) and the value readers they share; splitting the class
would part methods that call each other without giving either half a job
of its own.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from lark import Token
from netaddr import EUI, IPAddress, IPNetwork

from ..diagnostics import Diagnostic, SourceText, Span, error, note
from ..ir import (
    LXD_POOL_HEALTH_CHECK,
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
from .dsl_lexer import KEYWORDS, OPTION_TERMINALS
from .dsl_syntax import PLACEHOLDER, Script, Statement
from .dsl_values import decode_string, parse_count, parse_duration, split_endpoint
from .lb_options import build_options, parse_option
from .values import (
    MAX_HEALTH_CHECK_VALUE,
    name_problem,
    parse_address,
    parse_gateway,
    parse_mac,
    parse_ports,
    parse_probe_source,
    parse_single_port,
    probe_source_problem,
    string_problem,
    zero_default_message,
)

_NETWORK_SINGLES = ("ROW_PREFIX", "ROUTER", "SWITCH", "IPV4", "IPV6", "ROUTER_MAC", "LB_GROUP")
_LOAD_BALANCER_SINGLES = ("DESCRIPTION", "HEALTH_CHECK", *OPTION_TERMINALS)
_FORWARD_SINGLES = ("DESCRIPTION", "DEFAULT", *OPTION_TERMINALS)
_POOL_SINGLES = ("DESCRIPTION", "PROTOCOL_SETTING", "TARGET_PORT", "HEALTH_CHECK", "NO_HEALTH_CHECK")
_SETTING_KEYS = {"INTERVAL": "interval", "TIMEOUT": "timeout", "SUCCESS": "success_count", "FAILURE": "failure_count"}


def _any_none(values: Iterable[object]) -> bool:
    # By identity: netaddr objects compare equal to plain numbers (EUI(0) == False).
    return any(value is None for value in values)


class ModelBuilder:
    """Builds the model from the statements, reporting bad values.

    Every statement is read, so all value errors of a file are reported at
    once; an object with an error (or a syntax error directly inside it) is
    then left out of the model.
    """

    def __init__(self, source: SourceText, script: Script) -> None:
        self.file = source.name
        self.script = script
        self.diagnostics: list[Diagnostic] = []
        self._error_offsets = sorted(script.error_offsets)

    # -- helpers ------------------------------------------------------------

    def fail(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(error(span, code, message, *notes))

    def span(self, token: Token, shift: int = 0) -> Span:
        return Span(self.file, token.line or 0, (token.column or 0) + shift)

    def has_syntax_error(self, block: Statement) -> bool:
        """True when a syntax error lies in ``block`` but in none of its blocks."""
        if not self._error_offsets:
            return False
        start, end = block.keyword.start_pos or 0, block.end_pos
        first = bisect.bisect_left(self._error_offsets, start)
        inner = [(s.keyword.start_pos or 0, s.end_pos) for s in block.body or () if s.body is not None]
        for offset in self._error_offsets[first:]:
            if offset > end:
                return False
            if not any(a <= offset <= b for a, b in inner):
                return True
        return False

    def singles(self, block: Statement, terminals: tuple[str, ...]) -> dict[str, Statement]:
        """The statements a block may hold once; a repeated one is reported (E101)."""
        found: dict[str, Statement] = {}
        for statement in block.body or ():
            terminal = statement.keyword.type
            if terminal not in terminals:
                continue
            if terminal in found:
                first = found[terminal].keyword
                self.fail(
                    self.span(statement.keyword),
                    "E101",
                    f'duplicate "{statement.keyword.value}" (first given on line {first.line})',
                )
            else:
                found[terminal] = statement
        return found

    def each(self, block: Statement, terminal: str) -> Iterator[Statement]:
        return (s for s in block.body or () if s.keyword.type == terminal)

    def text(self, token: Token) -> str | None:
        """A NAME or STRING token's value: unquoted and unescaped, or None (reported)."""
        raw = str(token.value)
        if raw == PLACEHOLDER:
            return None
        if not raw.startswith('"'):
            return raw
        value, problem = decode_string(raw)
        if problem is not None:
            self.fail(self.span(token, problem[0]), "E100", problem[1])
            return None
        assert value is not None
        message = string_problem(value)
        if message is not None:
            self.fail(self.span(token), "E208", message)
            return None
        return value

    def name(self, token: Token, what: str, spans: dict[str, Span], key: str = "name") -> str | None:
        spans[key] = self.span(token)
        value = self.text(token)
        if value is None:
            return None
        if not str(token.value).startswith('"'):
            return value  # a bare word is never empty and holds no whitespace
        message = name_problem(value, what)
        if message is not None:
            self.fail(self.span(token), "E207", message)
            return None
        return value

    def address(self, token: Token, what: str, spans: dict[str, Span], key: str) -> IPAddress | None:
        """An address on its own: bare, or IPv6 in brackets."""
        text = str(token.value)
        if text == PLACEHOLDER:
            return None
        spans[key] = self.span(token)
        bracketed = text.startswith("[") and text.endswith("]")
        address = parse_address(text[1:-1] if bracketed else text)
        if address is None or (bracketed and address.version != 6):
            note = ("brackets are for IPv6 addresses only",) if bracketed and address is not None else ()
            self.fail(self.span(token), "E200", f'{what}: "{text}" is not an IPv4 or IPv6 address', *note)
            return None
        return address

    def ports(self, token: Token, text: str, shift: int, what: str) -> tuple[PortRange, ...] | None:
        if text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535:
            return (PortRange(int(text), int(text)),)  # the common case, without parse_ports' regex
        ranges, problems = parse_ports(text)
        for offset, message in problems:
            self.fail(self.span(token, shift + offset), "E203", f"invalid {what}: {message}")
        return None if problems else ranges

    def endpoint(
        self, token: Token, what: str, spans: dict[str, Span]
    ) -> tuple[IPAddress, tuple[PortRange, ...]] | None:
        """A target: an address and optional ports (``10.0.0.2:80``, ``[fd42::2]:80``)."""
        text = str(token.value)
        address_text, address_at, ports_text, ports_at = split_endpoint(text)
        spans["target_address"] = self.span(token, address_at)
        address = parse_address(address_text)
        bracketed = address_at == 1
        if address is None or (bracketed and address.version != 6):
            note = ("brackets are for IPv6 addresses only",) if bracketed and address is not None else ()
            if address is None and text.count(":") > 1 and not bracketed:
                note = ("an IPv6 address with ports goes in brackets: [fd42::2]:80",)
            self.fail(
                self.span(token, address_at), "E200", f'{what}: "{address_text}" is not an IPv4 or IPv6 address', *note
            )
            address = None
        ports: tuple[PortRange, ...] | None = ()
        if ports_text is not None:
            spans["target_port"] = self.span(token, ports_at)
            ports = self.ports(token, ports_text, ports_at, "target port")
        if address is None or ports is None:
            return None
        return address, ports

    def description(self, statement: Statement | None, spans: dict[str, Span]) -> str | None:
        if statement is None:
            return ""
        token = statement.args[0]
        spans["description"] = self.span(token)
        return self.text(token)

    def trailing_description(self, statement: Statement, spans: dict[str, Span]) -> str | None:
        last = statement.args[-1]
        if last.type != "STRING":
            return ""
        spans["description"] = self.span(last)
        return self.text(last)

    def user_config(self, block: Statement, spans: dict[str, Span]) -> tuple[tuple[str, str], ...] | None:
        pairs: dict[str, str] = {}
        lines: dict[str, int] = {}
        ok = True
        for statement in self.each(block, "USER_KEY"):
            key_token, value_token = statement.keyword, statement.args[0]
            key = self.user_key(key_token)
            value = self.text(value_token)
            if key is None or value is None:
                ok = False
                continue
            if key in pairs:
                self.fail(self.span(key_token), "E101", f'duplicate key "{key}" (first given on line {lines[key]})')
                continue
            spans[f"config.{key}"] = self.span(value_token)
            pairs[key] = value
            lines[key] = key_token.line or 0
        return tuple(sorted(pairs.items())) if ok else None

    def user_key(self, token: Token) -> str | None:
        raw = str(token.value)
        suffix = raw.removeprefix("user.")
        if not suffix.startswith('"'):
            return raw
        value, problem = decode_string(suffix)
        if problem is not None:
            self.fail(self.span(token, len("user.") + problem[0]), "E100", problem[1])
            return None
        assert value is not None
        message = string_problem(value)
        if message is not None:
            self.fail(self.span(token), "E208", message)
            return None
        return "user." + value

    # -- objects --------------------------------------------------------------

    def document(self) -> Document:
        networks: list[Network] = []
        self.version()
        for statement in self.script.statements:
            if statement.keyword.type == "NETWORK":
                network = self.network(statement)
                if network is not None:
                    networks.append(network)
        return Document(tuple(networks), self.target())

    def target(self) -> Target | None:
        statements = [s for s in self.script.statements if s.keyword.type == "TARGET_OVN"]
        for extra in statements[1:]:
            first = statements[0].keyword.line
            self.fail(self.span(extra.keyword), "E101", f'duplicate "target-ovn" (first given on line {first})')
        if not statements or str(statements[0].args[0].value) == PLACEHOLDER:
            return None
        token = statements[0].args[0]
        version = parse_ovn_version(str(token.value))
        if isinstance(version, str):
            self.fail(self.span(token), "E210", f"target-ovn: {version}")
            return None
        return Target(version, f"target-ovn at {self.span(token)}", self.span(token))

    def attach_names(
        self, block: Statement, terminal: str, what: str, key: str, spans: dict[str, Span]
    ) -> tuple[str, ...] | None:
        names: list[str | None] = []
        for statement in self.each(block, terminal):
            for token in statement.args:
                names.append(self.name(token, what, spans, f"{key}[{len(names)}]"))
        return None if _any_none(names) else tuple(n for n in names if n is not None)

    def options(self, found: dict[str, Statement], spans: dict[str, Span]) -> LoadBalancerOptions | None:
        """The option statements of a load-balancer or forward block; None when any is bad."""
        values: dict[str, object] = {}
        ok = True
        for terminal, key in OPTION_TERMINALS.items():
            statement = found.get(terminal)
            if statement is None:
                continue
            tokens = statement.args
            spans[f"config.{key}"] = self.span(tokens[0] if tokens else statement.keyword)
            if not tokens:  # a flag
                values[key] = True
                continue
            words = [self.text(token) if token.type == "NAME" else str(token.value) for token in tokens]
            if any(word is None or word == PLACEHOLDER for word in words):
                ok = False
                continue
            # Where each word starts in the joined text; found by bisection, as
            # a line of a hundred thousand addresses must not take quadratic time.
            starts = [0, *itertools.accumulate(len(str(w)) + 1 for w in words[:-1])]
            parsed = parse_option(key, " ".join(str(w) for w in words))
            for offset, message in parsed.problems:
                index = bisect.bisect_right(starts, offset) - 1
                message = message.replace(f"{key}:", f"{KEYWORDS[terminal]}:", 1)
                self.fail(self.span(tokens[index], offset - starts[index]), parsed.code, message)
            if parsed.problems:
                ok = False
            else:
                values[key] = parsed.value
        return build_options(values) if ok else None

    def version(self) -> None:
        first: Token | None = None
        for statement in self.script.statements:
            if statement.keyword.type != "VERSION":
                continue
            if first is not None:
                self.fail(
                    self.span(statement.keyword), "E101", f'duplicate "version" (first given on line {first.line})'
                )
                continue
            first = statement.keyword
            number = statement.args[0]
            if number.value != "1":
                self.fail(
                    self.span(number),
                    "E104",
                    f'unsupported format version "{number.value}": this ovn-lbc reads version 1',
                )

    def network(self, block: Statement) -> Network | None:
        spans: dict[str, Span] = {}
        name = self.name(block.args[0], "network name", spans)
        found = self.singles(block, _NETWORK_SINGLES)
        row_prefix = self.required_name(block, name, found, "ROW_PREFIX", "row_prefix", spans)
        router = self.required_name(block, name, found, "ROUTER", "router", spans)
        switch = self.required_name(block, name, found, "SWITCH", "switch", spans)
        ipv4 = self.subnet(found.get("IPV4"), 4, spans)
        ipv6 = self.subnet(found.get("IPV6"), 6, spans)
        mac = self.mac(found.get("ROUTER_MAC"), spans)
        attach_switches = self.attach_names(block, "ATTACH_SWITCH", "switch name", "attach_switches", spans)
        attach_routers = self.attach_names(block, "ATTACH_ROUTER", "router name", "attach_routers", spans)
        group_statement = found.get("LB_GROUP")
        lb_group = self.name(group_statement.args[0], "lb-group name", spans, "lb_group") if group_statement else None
        probe_source = self.probe_source(block, spans)
        switch_ports = [self.switch_port(s) for s in self.each(block, "SWITCH_PORT")]
        forwards = [self.forward(s) for s in self.each(block, "FORWARD")]
        load_balancers = [self.load_balancer(s) for s in self.each(block, "LOAD_BALANCER")]
        # The load balancers depend on their pools as on the switch ports: a bad one leaves the network out.
        pools = [self.pool(s) for s in self.each(block, "POOL")]
        if (
            self.has_syntax_error(block)
            or _any_none(switch_ports)
            or _any_none(pools)
            or attach_switches is None
            or attach_routers is None
            or (group_statement is not None and lb_group is None)
            or probe_source is None
            or any(value is False for value in (ipv4, ipv6, mac))
            or name is None
            or row_prefix is None
            or router is None
            or switch is None
        ):
            return None
        if ipv4 is None and ipv6 is None:
            self.fail(self.span(block.keyword), "E317", f'network "{name}" needs an ipv4 or ipv6 line')
            return None
        assert not isinstance(ipv4, bool) and not isinstance(ipv6, bool) and not isinstance(mac, bool)
        return Network(
            name=name,
            row_prefix=row_prefix,
            router=router,
            switch=switch,
            ipv4=ipv4,
            ipv6=ipv6,
            router_mac=mac,
            switch_ports=tuple(p for p in switch_ports if p is not None),
            attach_switches=attach_switches,
            attach_routers=attach_routers,
            lb_group=lb_group,
            probe_source=probe_source,
            forwards=tuple(f for f in forwards if f is not None),
            load_balancers=tuple(lb for lb in load_balancers if lb is not None),
            pools=tuple(p for p in pools if p is not None),
            span=self.span(block.keyword),
            spans=spans,
        )

    def required_name(
        self,
        block: Statement,
        network: str | None,
        found: dict[str, Statement],
        terminal: str,
        key: str,
        spans: dict[str, Span],
    ) -> str | None:
        statement = found.get(terminal)
        keyword = KEYWORDS[terminal]
        if statement is None and self.has_syntax_error(block):
            return None  # the line may be the one with the syntax error
        if statement is None:
            shown = f' "{network}"' if network is not None else ""
            self.fail(self.span(block.keyword), "E103", f'network{shown} needs a "{keyword}" line')
            return None
        return self.name(statement.args[0], keyword, spans, key)

    def subnet(self, statement: Statement | None, version: int, spans: dict[str, Span]) -> IPNetwork | None | bool:
        """The gateway with its prefix; None when absent, False when bad."""
        if statement is None:
            return None
        token = statement.args[0]
        key = f"ipv{version}_address"
        spans[key] = self.span(token)
        result = parse_gateway(str(token.value), version, f"ipv{version}")
        if isinstance(result, str):
            self.fail(self.span(token), "E201", result)
            return False
        return result

    def probe_source(self, block: Statement, spans: dict[str, Span]) -> ProbeSource | None:
        """The probe-source lines, one per family (the defaults when none); None when a value is bad."""
        choices: dict[str, ProbeChoice] = {}
        lines: dict[str, int] = {}
        ok = True
        for statement in self.each(block, "PROBE_SOURCE"):
            family, value = statement.args
            key = str(family.value)
            if key in lines:
                self.fail(
                    self.span(family), "E101", f'duplicate "probe-source {key}" (first given on line {lines[key]})'
                )
                continue
            lines[key] = family.line or 0
            text = str(value.value)
            if text == PLACEHOLDER:
                ok = False
                continue
            spans[f"probe_source.{key}"] = self.span(value)
            version = 4 if family.type == "IPV4" else 6
            # An IPv6 address may be bracketed, as anywhere in the DSL.
            bracketed = text.startswith("[") and text.endswith("]")
            choice = parse_probe_source(text[1:-1] if bracketed else text, version)
            if choice is None or (bracketed and (version != 6 or not isinstance(choice, IPAddress))):
                note = ("brackets are for IPv6 addresses only",) if bracketed and choice is not None else ()
                self.fail(self.span(value), "E211", probe_source_problem(text, version, f"probe-source {key}"), *note)
                ok = False
            else:
                choices[key] = choice
        return ProbeSource(**choices) if ok else None

    def mac(self, statement: Statement | None, spans: dict[str, Span]) -> EUI | None | bool:
        if statement is None:
            return None
        token = statement.args[0]
        spans["router_mac"] = self.span(token)
        mac = parse_mac(str(token.value))
        if mac is None:
            self.fail(
                self.span(token),
                "E202",
                f'router-mac: "{token.value}" is not a MAC address like 02:75:b9:2e:ad:f4',
            )
            return False
        return mac

    def switch_port(self, statement: Statement) -> SwitchPort | None:
        spans: dict[str, Span] = {}
        name = self.name(statement.args[0], "switch port name", spans)
        words = statement.args[1:]
        instance: str | None = None
        if len(words) >= 2 and words[-2].type == "INSTANCE":
            instance = self.name(words[-1], "instance name", spans, "instance")
            if instance is None:
                return None
            words = words[:-2]
        addresses = [
            self.address(token, "switch port address", spans, f"addresses[{index}]")
            for index, token in enumerate(words)
        ]
        if name is None or _any_none(addresses):
            return None
        return SwitchPort(
            name,
            tuple(a for a in addresses if a is not None),
            instance,
            span=self.span(statement.keyword),
            spans=spans,
        )

    def load_balancer(self, block: Statement) -> LoadBalancer | None:
        spans: dict[str, Span] = {}
        listen = self.address(block.args[0], "listen address", spans, "listen_address")
        found = self.singles(block, _LOAD_BALANCER_SINGLES)
        description = self.description(found.get("DESCRIPTION"), spans)
        health_check_ok, health_check = self.health_check(found.get("HEALTH_CHECK"), spans)
        options = self.options(found, spans)
        user_config = self.user_config(block, spans)
        backends = [self.backend(s) for s in self.each(block, "BACKEND")]
        ports = [self.load_balancer_port(s) for s in self.each(block, "PROTOCOL")]
        if (
            self.has_syntax_error(block)
            or listen is None
            or description is None
            or not health_check_ok
            or options is None
            or user_config is None
            or _any_none(backends)
            or _any_none(ports)
        ):
            return None
        return LoadBalancer(
            listen_address=listen,
            backends=tuple(b for b in backends if b is not None),
            ports=tuple(p for p in ports if p is not None),
            description=description,
            health_check=health_check,
            options=options,
            user_config=user_config,
            span=self.span(block.keyword),
            spans=spans,
        )

    def health_check(self, statement: Statement | None, spans: dict[str, Span]) -> tuple[bool, HealthCheck | None]:
        """(False, None) for a bad value, else (True, the check or None when off)."""
        if statement is None:
            return True, None
        spans["config.healthcheck"] = self.span(statement.keyword)
        numbers = self.health_check_settings(statement, spans, zero_is_default=True)
        return (True, HealthCheck(**numbers)) if numbers is not None else (False, None)

    def health_check_settings(
        self, statement: Statement, spans: dict[str, Span], *, zero_is_default: bool
    ) -> dict[str, int] | None:
        """The settings of a ``health-check`` line by key; None when one is bad.
        ``zero_is_default``: 0 is the default, as in Incus (LXD's pools write 0)."""
        numbers: dict[str, int] = {}
        lines: dict[str, int] = {}
        ok = True
        for setting, value in zip(statement.args[::2], statement.args[1::2], strict=True):
            key = _SETTING_KEYS[setting.type]
            if key in lines:
                self.fail(
                    self.span(setting),
                    "E101",
                    f'duplicate health-check setting "{setting.value}" (first given on line {lines[key]})',
                )
                continue
            lines[key] = setting.line or 0
            spans[f"config.healthcheck.{key}"] = self.span(value)
            number = self.setting(setting, value)
            if number is None:
                ok = False
            elif number == 0 and zero_is_default:
                self.diagnostics.append(note(self.span(value), "N001", zero_default_message(setting.value, key)))
            else:
                numbers[key] = number
        return numbers if ok else None

    def setting(self, setting: Token, value: Token) -> int | None:
        text = str(value.value)
        if setting.type in ("INTERVAL", "TIMEOUT"):
            seconds = parse_duration(text)
            if seconds is None:
                why = (
                    f"is not 0 to {MAX_HEALTH_CHECK_VALUE} seconds"
                    if re.fullmatch(r"[0-9]+[smh]", text)
                    else "is not a duration: expected a duration like 5s, 2m or 1h"
                )
                self.fail(self.span(value), "E205", f'{setting.value}: "{text}" {why}')
            return seconds
        count = parse_count(text)
        if count is None:
            self.fail(
                self.span(value),
                "E205",
                f'{setting.value}: "{text}" is not an integer from 0 to {MAX_HEALTH_CHECK_VALUE}',
            )
        return count

    def backend(self, statement: Statement) -> Backend | None:
        spans: dict[str, Span] = {}
        name = self.name(statement.args[0], "backend name", spans)
        target = self.endpoint(statement.args[1], "backend address", spans)
        description = self.trailing_description(statement, spans)
        if name is None or target is None or description is None:
            return None
        address, ports = target
        return Backend(name, address, ports, description, span=self.span(statement.keyword), spans=spans)

    def listen_ports(self, statement: Statement, spans: dict[str, Span]) -> tuple[PortRange, ...] | None:
        token = statement.args[0]
        spans["protocol"] = self.span(statement.keyword)
        spans["listen_port"] = self.span(token)
        return self.ports(token, str(token.value), 0, "listen port")

    def load_balancer_port(self, statement: Statement) -> LoadBalancerPort | None:
        spans: dict[str, Span] = {}
        listen_ports = self.listen_ports(statement, spans)
        names = [token for token in statement.args[2:] if token.type == "NAME"]
        pool: str | None = None
        if any(token.type == "POOL" for token in statement.args):
            pool = self.name(names[0], "pool name", spans, "target_pool")  # "-> pool NAME"
            if pool is None:
                return None
            names = []
        targets: list[str | None] = []
        for index, token in enumerate(names):
            spans[f"target_backend[{index}]"] = self.span(token)
            targets.append(self.text(token))
        description = self.trailing_description(statement, spans)
        if listen_ports is None or description is None or _any_none(targets):
            return None
        return LoadBalancerPort(
            str(statement.keyword.value),
            listen_ports,
            tuple(t for t in targets if t is not None),
            description,
            pool,
            span=self.span(statement.keyword),
            spans=spans,
        )

    def forward(self, block: Statement) -> Forward | None:
        spans: dict[str, Span] = {}
        listen = self.address(block.args[0], "listen address", spans, "listen_address")
        found = self.singles(block, _FORWARD_SINGLES)
        description = self.description(found.get("DESCRIPTION"), spans)
        default_target: IPAddress | None = None
        default_ok = True
        if "DEFAULT" in found:
            token = found["DEFAULT"].args[0]
            default_target = self.address(token, "default target", spans, "default_target")
            spans["config.target_address"] = self.span(token)
            default_ok = default_target is not None
        options = self.options(found, spans)
        user_config = self.user_config(block, spans)
        ports = [self.forward_port(s) for s in self.each(block, "PROTOCOL")]
        if (
            self.has_syntax_error(block)
            or listen is None
            or description is None
            or options is None
            or not default_ok
            or user_config is None
            or _any_none(ports)
        ):
            return None
        return Forward(
            listen_address=listen,
            ports=tuple(p for p in ports if p is not None),
            default_target=default_target,
            description=description,
            options=options,
            user_config=user_config,
            span=self.span(block.keyword),
            spans=spans,
        )

    def forward_port(self, statement: Statement) -> ForwardPort | None:
        spans: dict[str, Span] = {}
        listen_ports = self.listen_ports(statement, spans)
        target = self.endpoint(statement.args[2], "forward target", spans)
        description = self.trailing_description(statement, spans)
        if listen_ports is None or target is None or description is None:
            return None
        address, ports = target
        return ForwardPort(
            str(statement.keyword.value),
            listen_ports,
            address,
            ports,
            description,
            span=self.span(statement.keyword),
            spans=spans,
        )

    # -- LXD's load-balancer pools ----------------------------------------------

    def pool(self, block: Statement) -> LoadBalancerPool | None:
        spans: dict[str, Span] = {}
        name = self.name(block.args[0], "pool name", spans)
        found = self.singles(block, _POOL_SINGLES)
        description = self.description(found.get("DESCRIPTION"), spans)
        protocol = self.pool_protocol(found.get("PROTOCOL_SETTING"), spans)
        target_port = self.pool_port(block, name, found.get("TARGET_PORT"), spans)
        health_ok, health_check = self.pool_health_check(found, spans)
        user_config = self.user_config(block, spans)
        instances = [self.pool_instance(s) for s in self.each(block, "INSTANCE")]
        if (
            self.has_syntax_error(block)
            or not health_ok
            or _any_none(instances)
            or None in (name, description, protocol, target_port, user_config)
        ):
            return None
        assert name is not None and description is not None and protocol is not None
        assert target_port is not None and user_config is not None
        return LoadBalancerPool(
            name=name,
            target_port=target_port,
            protocol=protocol,
            description=description,
            health_check=health_check,
            instances=tuple(i for i in instances if i is not None),
            user_config=user_config,
            span=self.span(block.keyword),
            spans=spans,
        )

    def pool_protocol(self, statement: Statement | None, spans: dict[str, Span]) -> str | None:
        if statement is None:
            return "tcp"  # LXD's default, which it writes into the config
        token = statement.args[0]
        spans["config.protocol"] = self.span(token)
        if str(token.value) not in POOL_PROTOCOLS:
            self.fail(self.span(token), "E204", f'unknown pool protocol "{token.value}": expected tcp or udp')
            return None
        return str(token.value)

    def pool_port(
        self, block: Statement, name: str | None, statement: Statement | None, spans: dict[str, Span]
    ) -> int | None:
        if statement is None:
            if not self.has_syntax_error(block):
                shown = f' "{name}"' if name is not None else ""
                self.fail(self.span(block.keyword), "E103", f'pool{shown} needs a "target-port" line')
            return None
        token = statement.args[0]
        spans["config.target_port"] = self.span(token)
        return self.single_port(token, "target-port")

    def single_port(self, token: Token, what: str) -> int | None:
        port, problems = parse_single_port(str(token.value), what)
        for offset, message in problems:
            self.fail(self.span(token, offset), "E203", f"invalid {what}: {message}")
        return port

    def pool_health_check(self, found: dict[str, Statement], spans: dict[str, Span]) -> tuple[bool, HealthCheck | None]:
        """On unless ``no-health-check``, with LXD's defaults; 0 is written as it
        is, as LXD does. (False, None) for a bad value."""
        off, on = found.get("NO_HEALTH_CHECK"), found.get("HEALTH_CHECK")
        if off is not None:
            spans["config.healthcheck"] = self.span(off.keyword)
        if on is None:
            return True, (None if off is not None else LXD_POOL_HEALTH_CHECK)
        spans["config.healthcheck"] = self.span(on.keyword)
        found_numbers = self.health_check_settings(on, spans, zero_is_default=False)
        ok = found_numbers is not None
        numbers = found_numbers or {}
        if off is not None:
            first, second = sorted((off, on), key=lambda s: s.keyword.start_pos or 0)
            self.fail(
                self.span(second.keyword),
                "E320",
                f'"{second.keyword.value}" and "{first.keyword.value}" (line {first.keyword.line}) exclude each other',
            )
            ok = False
        return (True, replace(LXD_POOL_HEALTH_CHECK, **numbers)) if ok else (False, None)

    def pool_instance(self, statement: Statement) -> PoolInstance | None:
        spans: dict[str, Span] = {}
        name = self.name(statement.args[0], "instance name", spans)
        port: int | None = None
        if len(statement.args) > 1:
            token = statement.args[1]
            spans["target_port"] = self.span(token)
            port = self.single_port(token, "instance target port")
            if port is None:
                return None
        if name is None:
            return None
        return PoolInstance(name, port, span=self.span(statement.keyword), spans=spans)
