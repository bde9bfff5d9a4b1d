"""DSL text out: the canonical layout of a file, and a model as DSL.

``format_dsl`` reprints a parsed file: four spaces per block level, one
space between words, names and strings quoted only where they must be, a
blank line around every block and at most one anywhere else, and every
comment kept where it was (a comment after a statement stays on its line;
a comment on a line of its own stays above the statement that follows it).
``document_to_dsl`` prints a model in the same layout, so formatting its
output changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lark import Token

from ..diagnostics import CompileError, SourceRegistry, SourceText
from ..ir import (
    Backend,
    Document,
    Forward,
    ForwardPort,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPort,
    Network,
    format_ports,
)
from .dsl import (
    Statement,
    decode_string,
    duration_text,
    endpoint_text,
    mac_text,
    name_text,
    parse_script,
    quote,
    user_key_text,
)

INDENT = "    "
_LIST_BLANKS = re.compile(r"[ \t]*,[ \t]*")


def format_dsl(source: SourceText) -> str:
    """The file in canonical layout; raises CompileError on a syntax error."""
    script = parse_script(source)
    if script.diagnostics:
        sources = SourceRegistry()
        sources.add(source)
        raise CompileError(script.diagnostics, sources)
    printer = _Printer()
    printer.body(0, _lines_of(script.leading, leading=True), script.statements)
    return printer.text()


# ---------------------------------------------------------------- comments and blank lines


def split_newline(token: Token | None) -> tuple[str | None, list[str]]:
    """A statement's end: (its trailing comment, the lines after it).

    Each line after it is "" (blank) or a comment, without indentation.
    """
    if token is None:
        return None, []
    segments = str(token.value).split("\n")
    trailing = segments[0].strip() or None
    return trailing, [segment.strip(" \t\f\r") for segment in segments[1:-1]]


def _lines_of(token: Token | None, leading: bool = False) -> list[str]:
    """The comment and blank lines in ``token``; the file's first one starts on line 1."""
    if token is None:
        return []
    trailing, lines = split_newline(token)
    if leading:
        return ([trailing] if trailing else [""]) + lines
    return lines


def _gap(lines: list[str], *, first: bool, last: bool, blank: bool) -> list[str]:
    """The lines between two statements: blank lines collapsed, trimmed at block edges."""
    result: list[str] = []
    for line in lines:
        if line or not result or result[-1]:
            result.append(line)
    if first:
        while result and not result[0]:
            result.pop(0)
    if last:
        while result and not result[-1]:
            result.pop()
    if blank and "" not in result:
        result.insert(0, "")
    return result


# ---------------------------------------------------------------- statements


def _token_text(token: Token) -> str:
    raw = str(token.value)
    if token.type in ("NAME", "STRING") and raw.startswith('"'):
        value, problem = decode_string(raw)
        if problem is not None or value is None:
            return raw  # reported by load_dsl; kept as written
        return name_text(value) if token.type == "NAME" else quote(value)
    if token.type == "NAME":
        return name_text(raw)
    if token.type == "USER_KEY" and raw.startswith('user."'):
        value, problem = decode_string(raw.removeprefix("user."))
        return raw if value is None else user_key_text("user." + value)
    if token.type in ("PORTS", "ENDPOINT"):
        return _LIST_BLANKS.sub(",", raw)
    return raw


def statement_text(statement: Statement) -> str:
    """One statement's words (a block's first line without its '{')."""
    words = [_token_text(statement.keyword)]
    for token in statement.args:
        if token.type == "COMMA":
            words[-1] += ","
        else:
            words.append(_token_text(token))
    return " ".join(words)


class _Printer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def line(self, depth: int, text: str, comment: str | None = None) -> None:
        if not text:
            self.lines.append("")
            return
        self.lines.append(INDENT * depth + text + (f"  {comment}" if comment else ""))

    def body(self, depth: int, opening: list[str], statements: list[Statement]) -> None:
        previous: Statement | None = None
        gap = opening
        for statement in statements:
            is_block = statement.body is not None or (previous is not None and previous.body is not None)
            for line in _gap(gap, first=previous is None, last=False, blank=previous is not None and is_block):
                self.line(depth, line)
            self.statement(depth, statement)
            gap = split_newline(statement.newline)[1]
            previous = statement
        for line in _gap(gap, first=previous is None, last=True, blank=False):
            self.line(depth, line)

    def statement(self, depth: int, statement: Statement) -> None:
        trailing = split_newline(statement.newline)[0]
        if statement.body is None:
            self.line(depth, statement_text(statement), trailing)
            return
        opening_comment, opening = split_newline(statement.opening)
        self.line(depth, statement_text(statement) + " {", opening_comment)
        self.body(depth + 1, opening, statement.body)
        self.line(depth, "}", trailing)


# ---------------------------------------------------------------- model -> DSL


def document_to_dsl(document: Document) -> str:
    """The model as DSL text in canonical layout; reading it back gives an equal model."""
    lines = ["version 1"]
    if document.declared_target is not None:
        lines.append(f"target-ovn {document.declared_target.version}")
    for network in document.networks:
        lines.append("")
        lines.extend(_network(network))
    return "\n".join(lines) + "\n"


def _network(network: Network) -> Iterator[str]:
    yield f"network {name_text(network.name)} {{"
    yield f"{INDENT}row-prefix {name_text(network.row_prefix)}"
    yield f"{INDENT}router {name_text(network.router)}"
    yield f"{INDENT}switch {name_text(network.switch)}"
    if network.ipv4 is not None:
        yield f"{INDENT}ipv4 {network.ipv4}"
    if network.ipv6 is not None:
        yield f"{INDENT}ipv6 {network.ipv6}"
    if network.router_mac is not None:
        yield f"{INDENT}router-mac {mac_text(network.router_mac)}"
    if network.attach_routers:
        yield " ".join([f"{INDENT}attach-router", *(name_text(name) for name in network.attach_routers)])
    if network.attach_switches:
        yield " ".join([f"{INDENT}attach-switch", *(name_text(name) for name in network.attach_switches)])
    if network.lb_group is not None:
        yield f"{INDENT}lb-group {name_text(network.lb_group)}"
    if network.switch_ports:
        yield ""
    for port in network.switch_ports:
        yield " ".join([f"{INDENT}switch-port", name_text(port.name), *(str(a) for a in port.addresses)])
    for block in [*(_forward(f) for f in network.forwards), *(_load_balancer(lb) for lb in network.load_balancers)]:
        yield ""
        yield from (f"{INDENT}{line}" for line in block)
    yield "}"


def _user_config(user_config: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"{user_key_text(key)} {quote(value)}" for key, value in user_config]


def _options(options: LoadBalancerOptions) -> list[str]:
    lines = []
    for key, text in options.config_values():
        keyword = key.replace("_", "-")
        if key == "affinity_timeout" and options.affinity_timeout is not None:
            text = duration_text(options.affinity_timeout)
        lines.append(keyword if text is None else f"{keyword} {text}")
    return lines


def _with_description(text: str, description: str) -> str:
    return f"{text} {quote(description)}" if description else text


def _load_balancer(lb: LoadBalancer) -> list[str]:
    body = [f"description {quote(lb.description)}"] if lb.description else []
    if lb.health_check is not None:
        check = lb.health_check
        body.append(
            f"health-check interval {duration_text(check.interval)} timeout {duration_text(check.timeout)} "
            f"success {check.success_count} failure {check.failure_count}"
        )
    body += _options(lb.options)
    body += _user_config(lb.user_config)
    body += [_backend(backend) for backend in lb.backends]
    body += [_load_balancer_port(port) for port in lb.ports]
    return [f"load-balancer {lb.listen_address} {{", *(INDENT + line for line in body), "}"]


def _backend(backend: Backend) -> str:
    target = endpoint_text(backend.target_address, format_ports(backend.target_ports))
    return _with_description(f"backend {name_text(backend.name)} {target}", backend.description)


def _load_balancer_port(port: LoadBalancerPort) -> str:
    names = ", ".join(name_text(name) for name in port.target_backends)
    return _with_description(f"{port.protocol} {format_ports(port.listen_ports)} -> {names}", port.description)


def _forward(fwd: Forward) -> list[str]:
    body = [f"description {quote(fwd.description)}"] if fwd.description else []
    if fwd.default_target is not None:
        body.append(f"default {fwd.default_target}")
    body += _options(fwd.options)
    body += _user_config(fwd.user_config)
    body += [_forward_port(port) for port in fwd.ports]
    return [f"forward {fwd.listen_address} {{", *(INDENT + line for line in body), "}"]


def _forward_port(port: ForwardPort) -> str:
    target = endpoint_text(port.target_address, format_ports(port.target_ports))
    return _with_description(f"{port.protocol} {format_ports(port.listen_ports)} -> {target}", port.description)
