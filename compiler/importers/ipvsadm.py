"""ipvsadm rules -> virtual services (services.py).

Two forms, as ipvsadm(8) describes them, in one file:

- ``ipvsadm -S -n`` (``--save --numeric``) output: lines of options without
  the command name, ``-A -t 10.0.0.10:80 -s rr`` and
  ``-a -t 10.0.0.10:80 -r 192.168.1.11:80 -g -w 1`` (what ``ipvsadm -R``
  reads back);
- shell scripts that run ``ipvsadm -A ...`` and ``ipvsadm -a ...`` (also as
  ``/sbin/ipvsadm`` or after ``sudo``), with ``\\`` line continuations,
  ``;``, ``&&`` and ``||`` between commands, quotes and ``#`` comments.

Lines that are not ipvsadm commands (``#!/bin/sh``, ``set -e``, ``echo``,
``modprobe``) are skipped without a word; a line that is not one but holds
ipvsadm's options (``$IPVSADM -A -t ...``) is skipped with K016, as are
shell variables, which the importer does not expand. The commands are
replayed in order as ipvsadm would run them: ``-A``/``-E``/``-D`` add, edit
and delete a service, ``-a``/``-e``/``-d`` a real server, ``-C`` clears, so
the result is the table the script leaves. ipvsadm's defaults: scheduler
wlc, forwarding ``-g`` (direct routing), weight 1, ``-p`` 300 seconds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from netaddr import AddrFormatError, IPAddress

from ..diagnostics import Diagnostic, SourceText, Span, error, warning
from .services import RealServer, Setting, VirtualService

# Lines end as SourceText counts them ("\n", "\r\n", a lone "\r"), so carets line up.
_TOKEN = re.compile(
    r"""(?P<blank>[ \t\f\v]++)"""
    r"""|(?P<continuation>\\(?:\r\n?|\n))"""
    r"""|(?P<separator>;|&&?|\|\|?)"""
    r"""|(?P<comment>\#[^\r\n]*+)"""
    r"""|(?P<newline>\r\n?|\n)"""
    r"""|(?P<word>(?:[^\s;&|#"'\\]++|\\[^\r\n]|"(?:[^"\\\r\n]|\\[^\r\n])*+"?|'[^'\r\n]*+'?|\#)++)"""
)
_QUOTE = re.compile(r""""((?:[^"\\\r\n]|\\[^\r\n])*+)"?|'([^'\r\n]*+)'?|\\(.)""")

# Option -> (canonical short form, what follows it: 0 nothing, 1 a value, "?" an optional number).
_OPTIONS: dict[str, tuple[str, int | str]] = {}
for _short, _long, _takes in (
    ("-A", "--add-service", 0),
    ("-E", "--edit-service", 0),
    ("-D", "--delete-service", 0),
    ("-C", "--clear", 0),
    ("-R", "--restore", 0),
    ("-S", "--save", 0),
    ("-a", "--add-server", 0),
    ("-e", "--edit-server", 0),
    ("-d", "--delete-server", 0),
    ("-L", "--list", 0),
    ("-l", None, 0),
    ("-Z", "--zero", 0),
    ("-h", "--help", 0),
    ("-t", "--tcp-service", 1),
    ("-u", "--udp-service", 1),
    ("--sctp-service", None, 1),
    ("-f", "--fwmark-service", 1),
    ("-s", "--scheduler", 1),
    ("-p", "--persistent", "?"),
    ("-M", "--netmask", 1),
    ("-b", "--sched-flags", 1),
    ("-r", "--real-server", 1),
    ("-g", "--gatewaying", 0),
    ("-i", "--ipip", 0),
    ("-m", "--masquerading", 0),
    ("-w", "--weight", 1),
    ("-x", "--u-threshold", 1),
    ("-y", "--l-threshold", 1),
    ("-6", "--ipv6", 0),
    ("-o", "--ops", 0),
    ("-n", "--numeric", 0),
    ("-c", "--connection", 0),
    ("--pe", None, 1),
    ("--tun-type", None, 1),
    ("--tun-port", None, 1),
    ("--tun-nocsum", None, 0),
    ("--tun-csum", None, 0),
    ("--tun-remcsum", None, 0),
    ("--set", None, 3),
    ("--start-daemon", None, 1),
    ("--stop-daemon", None, 1),
    ("--mcast-interface", None, 1),
    ("--syncid", None, 1),
    ("--sync-maxlen", None, 1),
    ("--mcast-group", None, 1),
    ("--mcast-port", None, 1),
    ("--mcast-ttl", None, 1),
    ("--timeout", None, 0),
    ("--daemon", None, 0),
    ("--stats", None, 0),
    ("--rate", None, 0),
    ("--thresholds", None, 0),
    ("--persistent-conn", None, 0),
    ("--nosort", None, 0),
    ("--sort", None, 0),
    ("--exact", None, 0),
):
    _OPTIONS[_short] = (_short, _takes)
    if _long is not None:
        _OPTIONS[_long] = (_short, _takes)

_COMMANDS = (
    "-A",
    "-E",
    "-D",
    "-C",
    "-R",
    "-S",
    "-a",
    "-e",
    "-d",
    "-L",
    "-l",
    "-Z",
    "-h",
    "--set",
    "--start-daemon",
    "--stop-daemon",
)
_SERVICE_OPTIONS = {"-t": "tcp", "-u": "udp", "--sctp-service": "sctp"}
_METHODS = {"-g": "DR", "-i": "TUN", "-m": "NAT"}
_PERSISTENCE_DEFAULT = 300  # ipvsadm(8): -p without a timeout
_FULL_MASKS = ("255.255.255.255", "32", "128")


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    span: Span


def _words(source: SourceText, diagnostics: list[Diagnostic]) -> Iterator[list[_Word]]:
    """Each shell command of the file as its words, quotes removed."""
    text = source.text
    line, line_start, position = 1, 0, 0
    command: list[_Word] = []
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None
        kind = match.lastgroup
        span = Span(source.name, line, position - line_start + 1)
        value = match.group()
        position = match.end()
        if kind in ("newline", "continuation"):
            line, line_start = line + 1, position
        if kind in ("newline", "separator"):
            if command:
                yield command
            command = []
        elif kind == "word":
            command.append(_Word(_unquote(value, span, diagnostics), span))
    if command:
        yield command


def _unquote(value: str, span: Span, diagnostics: list[Diagnostic]) -> str:
    """A shell word with its quotes and backslashes removed, as the shell reads it."""

    def one(match: re.Match[str]) -> str:
        whole = match.group()
        if whole[0] in "\"'" and (len(whole) == 1 or whole[-1] != whole[0]):
            diagnostics.append(
                error(span.shifted(match.start()), "E100", "a quoted string that is not closed on its line")
            )
        return next(group for group in match.groups() if group is not None)

    return _QUOTE.sub(one, value) if any(char in value for char in "\"'\\") else value


@dataclass(slots=True)
class _Service:
    service: VirtualService
    servers: dict[tuple[IPAddress, int | None], RealServer] = field(default_factory=dict)


@dataclass(slots=True)
class _Table:
    """The virtual server table the commands build, as the kernel would hold it."""

    diagnostics: list[Diagnostic]
    services: dict[tuple[str, IPAddress, int | None], _Service] = field(default_factory=dict)
    fwmarks: set[str] = field(default_factory=set)

    def warn(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(warning(span, code, message, *notes))

    def fail(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(error(span, code, message, *notes))


def ipvsadm_services(source: SourceText) -> tuple[list[VirtualService], list[Diagnostic]]:
    """The virtual services an ipvsadm save file or script leaves, and what was not imported."""
    diagnostics: list[Diagnostic] = []
    table = _Table(diagnostics)
    for words in _words(source, diagnostics):
        arguments = _arguments(table, words)
        if arguments is not None:
            _command(table, arguments)
    services = []
    for entry in table.services.values():
        services.append(replace(entry.service, real_servers=tuple(entry.servers.values())))
    return services, diagnostics


def _arguments(table: _Table, words: list[_Word]) -> list[_Word] | None:
    """The ipvsadm arguments of a command, or None for another program's line."""
    index = 0
    while index < len(words) and (
        words[index].text == "sudo" or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[index].text)
    ):
        index += 1
    if index == len(words):
        return None
    first = words[index]
    if os.path.basename(first.text) == "ipvsadm":
        return words[index + 1 :]
    if first.text.startswith("-"):
        return words[index:]
    options = {_OPTIONS.get(word.text.split("=", 1)[0], ("", 0))[0] for word in words[index + 1 :]}
    if "ipvsadm" in first.text.lower() or (options & set(_COMMANDS) and options & {"-t", "-u", "-f", "--sctp-service"}):
        table.warn(
            first.span,
            "K016",
            f'"{first.text}" is not ipvsadm: this line is skipped',
            "the importer runs no shell: write ipvsadm, or give `ipvsadm -S -n` output",
        )
    return None


@dataclass(slots=True)
class _Options:
    command: _Word | None = None
    name: str = ""  # the command's short form
    values: dict[str, tuple[_Word, list[_Word]]] = field(default_factory=dict)


def _options(table: _Table, arguments: list[_Word]) -> _Options | None:
    found = _Options()
    index = 0
    while index < len(arguments):
        word = arguments[index]
        index += 1
        name, _, attached = word.text.partition("=") if word.text.startswith("--") else (word.text, "", "")
        if name not in _OPTIONS and not name.startswith("--") and len(name) > 2 and name[:2] in _OPTIONS:
            name, attached = name[:2], name[2:]  # -w1, -srr
        if name not in _OPTIONS:
            if word.text.startswith("$"):
                table.fail(word.span, "K016", f"shell variable {word.text} is not expanded by the importer")
            else:
                table.fail(word.span, "E100", f'"{word.text}" is not an ipvsadm option')
            return None
        canonical, takes = _OPTIONS[name]
        values: list[_Word] = []
        if attached:
            values.append(_Word(attached, word.span.shifted(len(word.text) - len(attached))))
        elif takes == "?":
            if index < len(arguments) and arguments[index].text.isdigit():
                values.append(arguments[index])
                index += 1
        elif isinstance(takes, int):
            values.extend(arguments[index : index + takes])
            index += takes
            if len(values) < takes:
                table.fail(word.span, "E100", f"{word.text} needs {'a value' if takes == 1 else f'{takes} values'}")
                return None
        if canonical in _COMMANDS:
            if found.command is not None:
                table.fail(word.span, "E100", f"two ipvsadm commands in one: {found.command.text} and {word.text}")
                return None
            found.command, found.name = word, canonical
        found.values[canonical] = (word, values)
    if found.command is None:
        table.fail(
            arguments[0].span if arguments else Span("", 0, 0),
            "E100",
            "an ipvsadm line without a command (-A, -a, ...)",
        )
        return None
    return found


def _host_port(table: _Table, word: _Word) -> tuple[IPAddress, int | None] | None:
    """``10.0.0.1:80``, ``[fd00::1]:80``, or an address alone (port 0)."""
    text = word.text
    if "$" in text:
        table.fail(word.span, "K016", f"shell variable in {text} is not expanded by the importer")
        return None
    match = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", text)
    if match:
        host, port_text = match.group(1), match.group(2)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, None
    try:
        if ":" not in host and host.count(".") != 3:
            raise AddrFormatError(host)
        address = IPAddress(host)
    except (AddrFormatError, ValueError):
        table.fail(word.span, "E200", f'invalid IP address "{host}"', "save the rules with numbers: ipvsadm -S -n")
        return None
    if port_text is None or port_text == "0":
        return address, None
    if not (port_text.isdigit() and port_text.isascii() and 1 <= int(port_text) <= 65535):
        table.fail(
            word.span.shifted(len(text) - len(port_text)),
            "E203",
            f'invalid port "{port_text}": expected a number from 1 to 65535',
            "save the rules with numbers: ipvsadm -S -n",
        )
        return None
    return address, int(port_text)


def _number(table: _Table, option: tuple[_Word, list[_Word]], high: int) -> int | None:
    word = option[1][0]
    if word.text.isdigit() and word.text.isascii() and int(word.text) <= high:
        return int(word.text)
    table.fail(word.span, "E100", f'{option[0].text}: expected a number from 0 to {high}, found "{word.text}"')
    return None


def _command(table: _Table, arguments: list[_Word]) -> None:
    options = _options(table, arguments)
    if options is None or options.command is None:
        return
    command, word = options.name, options.command
    values = options.values
    if command == "-C":
        table.services.clear()
        return
    if command in ("-L", "-l", "-Z", "-S", "-h"):
        return  # they show or zero the table, changing nothing in it
    if command == "-R":
        table.warn(word.span, "K016", "ipvsadm -R reads the rules from standard input: give that file instead")
        return
    if command in ("--start-daemon", "--stop-daemon"):
        table.warn(
            word.span,
            "K011",
            "the connection sync daemon is not imported: OVN's load balancer is distributed, "
            "every chassis answers for the VIP, so there is no director to fail over",
        )
        return
    if command == "--set":
        table.warn(word.span, "K001", "--set (IPVS connection timeouts) is not imported: OVN's conntrack keeps its own")
        return
    if "-f" in values:
        mark = values["-f"][1][0].text
        if command == "-A":
            table.warn(
                values["-f"][0].span,
                "K009",
                f"fwmark service {mark} is left out: OVN matches a VIP's "
                "address, port and protocol, not firewall marks; write the VIPs out",
            )
            table.fwmarks.add(mark)
        elif mark not in table.fwmarks and command in ("-a", "-e"):
            table.warn(values["-f"][0].span, "K013", f"fwmark service {mark} was never added: left out")
        return
    service_options = [name for name in _SERVICE_OPTIONS if name in values]
    if len(service_options) != 1:
        table.fail(word.span, "E100", f"{word.text} needs one virtual service: -t, -u or --sctp-service ADDRESS:PORT")
        return
    protocol = _SERVICE_OPTIONS[service_options[0]]
    service_word = values[service_options[0]][1][0]
    endpoint = _host_port(table, service_word)
    if endpoint is None:
        return
    key = (protocol, endpoint[0], endpoint[1])
    existing = table.services.get(key)
    if command in ("-A", "-E"):
        _service(table, command, word, values, key, service_word, existing)
    elif command == "-D":
        if table.services.pop(key, None) is None:
            table.warn(word.span, "K012", f"no virtual service {service_word.text} to delete (ipvsadm refuses)")
    elif existing is None:
        table.warn(word.span, "K013", f"no virtual service {service_word.text} (ipvsadm refuses this line): left out")
    else:
        _server(table, command, word, values, existing)


def _service(
    table: _Table,
    command: str,
    word: _Word,
    values: dict[str, tuple[_Word, list[_Word]]],
    key: tuple[str, IPAddress, int | None],
    service_word: _Word,
    existing: _Service | None,
) -> None:
    if command == "-A" and existing is not None:
        table.warn(
            word.span,
            "K012",
            f"virtual service {service_word.text} is added twice (ipvsadm refuses the "
            f"second, at {word.span}): the first is kept",
        )
        return
    if command == "-E" and existing is None:
        table.warn(word.span, "K012", f"no virtual service {service_word.text} to edit (ipvsadm refuses)")
        return
    base = (
        existing.service
        if existing is not None
        else VirtualService(protocol=key[0], address=key[1], port=key[2], span=service_word.span, header=word.span)
    )
    changes: dict[str, object] = {}
    if "-s" in values:
        changes["scheduler"], changes["scheduler_span"] = values["-s"][1][0].text.lower(), values["-s"][1][0].span
    if "-p" in values:
        option = values["-p"]
        timeout = _number(table, option, 2**31) if option[1] else _PERSISTENCE_DEFAULT
        if timeout is not None:
            changes["persistence"] = Setting(timeout, (option[1] or [option[0]])[0].span)
    if "-b" in values:
        changes["scheduler_flags"] = tuple(values["-b"][1][0].text.split(","))
    if "-M" in values and values["-M"][1][0].text not in _FULL_MASKS:
        table.warn(
            values["-M"][0].span,
            "K007",
            "-M (persistence netmask) is not imported: OVN's affinity keeps "
            "each client address, exactly, on its backend",
        )
    if "--pe" in values:
        table.warn(
            values["--pe"][0].span,
            "K007",
            "--pe (persistence engine) is not imported: OVN's affinity keeps each client address on its backend",
        )
    if "-o" in values:
        table.warn(
            values["-o"][0].span, "K001", "-o (one-packet scheduling) is not imported: OVN balances each UDP flow"
        )
    service = replace(base, **changes)  # type: ignore[arg-type]
    table.services[key] = _Service(service, existing.servers if existing is not None else {})


def _server(
    table: _Table, command: str, word: _Word, values: dict[str, tuple[_Word, list[_Word]]], entry: _Service
) -> None:
    if "-r" not in values:
        table.fail(word.span, "E100", f"{word.text} needs a real server: -r ADDRESS[:PORT]")
        return
    server_word = values["-r"][1][0]
    endpoint = _host_port(table, server_word)
    if endpoint is None:
        return
    key = endpoint
    existing = entry.servers.get(key)
    if command == "-d":
        if entry.servers.pop(key, None) is None:
            table.warn(word.span, "K013", f"no real server {server_word.text} to delete (ipvsadm refuses)")
        return
    if command == "-a" and existing is not None:
        table.warn(
            word.span,
            "K013",
            f"real server {server_word.text} is added twice (ipvsadm refuses the second): the first is kept",
        )
        return
    if command == "-e" and existing is None:
        table.warn(word.span, "K013", f"no real server {server_word.text} to edit (ipvsadm refuses)")
        return
    server = existing or RealServer(
        endpoint[0], endpoint[1], server_word.span, method="DR", method_span=server_word.span
    )
    changes: dict[str, object] = {}
    for flag, method in _METHODS.items():
        if flag in values:
            changes["method"], changes["method_span"] = method, values[flag][0].span
    if "-w" in values:
        weight = _number(table, values["-w"], 65535)
        if weight is not None:
            changes["weight"], changes["weight_span"] = weight, values["-w"][1][0].span
    for threshold in ("-x", "-y"):
        if threshold in values and values[threshold][1][0].text != "0":
            table.warn(
                values[threshold][0].span,
                "K010",
                f"{values[threshold][0].text} (connection threshold) is not "
                "imported: OVN limits no backend's connections",
            )
    entry.servers[key] = replace(server, **changes)  # type: ignore[arg-type]
