"""The reviewable shell script: every change in one ovn-nbctl transaction.

Rows are upserted, never deleted and re-created: ``--may-exist lb-add``
creates the row when missing, ``set`` then overwrites every column the
compiler owns, and ``--may-exist ls-lb-add``/``lr-lb-add`` attach it. Running
the script twice gives the same rows with the same UUIDs. (Deleting and
re-creating in one transaction leaves dangling weak references in
Logical_Router.load_balancer on ovsdb-server 3.1.)

A forward's default target, a router's dnat NAT row, is the exception: a NAT
row has no name to find it by in a later ``set``, and ``--may-exist
lr-nat-add`` fails when the target changed and cannot write external_ids.
So, as Incus does on every change of a forward, the row of that address is
deleted (``--if-exists lr-nat-del ROUTER dnat ADDRESS``) and made again
(``create NAT`` with every column, then ``add Logical_Router ROUTER nat``):
a second run gives the same row under a new UUID. Nothing refers to a NAT
row but its router, so no reference is left dangling.

Arguments are gathered with ``set -- "$@" ...`` so that a comment can stand
before each load balancer and still everything goes to one invocation.

What the script guards against, and how:

- Two runs at once. ``--may-exist lb-add`` looks for the row in ovn-nbctl's
  copy of the database and inserts it when missing; Load_Balancer has no
  index on ``name``, so two runs could both insert it. Each transaction
  therefore starts with a ``get`` of the column every row it may create is
  added to (its first datapath's ``load_balancer``, or its group's, or for a
  NAT row its router's ``nat``): ovn-nbctl verifies at commit that what
  ``get`` read is unchanged and otherwise retries on a fresh copy, where the
  row exists. A group is created only in the
  first transaction and only when a lookup just before found none; OVN's
  unique index on group names makes a second creator fail, writing nothing.
- Names. Every name follows its command's name, where ovn-nbctl takes any
  text as an operand, a leading "-" included; "--" and UUID-shaped names are
  refused by the checks (E324).
- Size. Linux limits one argument to 128 KiB (MAX_ARG_STRLEN): a longer value
  is a located error (E326) naming ``ovn-lbc apply``, which has no such
  limit. The whole command line is kept under ARGUMENT_BUDGET; beyond it the
  script splits into transactions at row boundaries, only where the exact
  byte count requires it, and says that it is then not atomic (in its header,
  and as warning W004). Every transaction upserts, so after a failure,
  running the script again reaches the state one clean run gives.
- Groups' ownership: a group the script creates gets ovn-lbc's UUID for its
  name and a mark in NB_Global external_ids in the same transaction
  (compiler/plan.py); a group that exists is used as it is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import jinja2

from ..diagnostics import Diagnostic, Span, error, warning
from ..lower import GroupRow, LoadBalancerRow, NatRow, NorthboundChanges, datapath_span, nat_value_span, value_span
from ..resources import resource_dir
from ..version import __version__

# Linux allows 2 MiB of arguments plus environment (ARG_MAX); stay well below
# it so the script also runs where the limit is lower or the environment big.
ARGUMENT_BUDGET = 1024 * 1024
# Linux's limit for one argument, its NUL included (MAX_ARG_STRLEN, 32 pages).
MAX_ARGUMENT = 128 * 1024
# Each argument also costs a pointer in the kernel's argv copy.
_POINTER = 8
# Text this short (in characters, at most 4 UTF-8 bytes each) fits in one argument.
_SHORT = (MAX_ARGUMENT - 64) // 4


def shell_quote(text: str) -> str:
    """One shell word holding ``text`` byte-exact; nothing inside expands."""
    return "'" + text.replace("'", "'\\''") + "'"


def ovsdb_string(text: str) -> str:
    """An OVSDB string atom as ovn-nbctl parses it: a JSON string literal."""
    return json.dumps(text, ensure_ascii=False)


def comment_text(text: str) -> str:
    """Text safe inside a ``#`` comment: no newline or control character survives."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _argument_size(word: str) -> int:
    """What one shell word costs in the kernel's argv copy: the argument it
    stands for (unquoted: ``'\\''`` is one byte), its NUL, its pointer."""
    size = len(word.encode()) + 1 + _POINTER
    if word.startswith("'"):  # shell_quote's: two quotes around, each ' inside written '\''
        size -= 2 + 3 * word.count("'\\''")
    return size


@dataclass(frozen=True, slots=True)
class Block:
    """The comment and the continuation lines of one row's commands."""

    comments: tuple[str, ...]
    lines: tuple[str, ...]
    size: int  # bytes of the kernel's argv copy, exact
    source: Span
    # (table, name, column) the block's row joins when it is new: the
    # transaction verifies that column (see the module's docstring).
    verify: tuple[str, str, str] | None = None


@dataclass(frozen=True, slots=True)
class Transaction:
    verify: tuple[str, ...]  # `get` commands, one line each
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Script:
    """The script's text, its transaction count, and what compiling it found:
    E326 errors (then the text must not be written) and the W004 warning."""

    text: str
    transactions: int
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


Command = tuple[list[str], list[str]]  # (the command's head, one word per map entry)


class _Quoter:
    """Quotes values into shell words and notes each one over the kernel's
    limit for one argument, located at the value's line."""

    def __init__(self) -> None:
        self.too_long: list[Diagnostic] = []
        self._reported: set[Span] = set()  # one value may make two arguments (lb-add and set)

    def row(self, row: LoadBalancerRow, text: str, column: str, key: str = "") -> str:
        if len(text) >= _SHORT:  # else short enough whatever its characters: no need to look closer
            self._check(text, lambda: value_span(row, column, key), lambda: f"the {_what(column, key)} of {row.name}")
        return shell_quote(text)

    def nat(self, nat: NatRow, text: str, column: str, key: str = "") -> str:
        if len(text) >= _SHORT:
            self._check(
                text, lambda: nat_value_span(nat, column, key), lambda: f"the {_what(column, key)} of {nat.name[:80]}"
            )
        return shell_quote(text)

    def group(self, group: GroupRow, text: str, datapath: tuple[str, str] | None = None) -> str:
        def where() -> Span:
            if datapath is not None:
                for network in group.owners:
                    if (span := datapath_span(network, *datapath)) is not None:
                        return span
            return group.source

        def what() -> str:
            return f"{datapath[0]} name" if datapath is not None else f"name of Load_Balancer_Group {group.name[:40]}"

        self._check(text, where, what)
        return shell_quote(text)

    def _check(self, text: str, where: Callable[[], Span], what: Callable[[], str]) -> None:
        size = len(text.encode()) + 1
        if size > MAX_ARGUMENT and (span := where()) not in self._reported:
            self._reported.add(span)
            self.too_long.append(
                error(
                    span,
                    "E326",
                    f"this value makes one argument of the ovn-nbctl script {size:,} bytes long ({what()}), "
                    f"over Linux's limit of {MAX_ARGUMENT:,} bytes for one argument (MAX_ARG_STRLEN): "
                    'the script would fail with "Argument list too long"',
                    "`ovn-lbc apply` writes it to the database itself and has no such limit; or shorten the value",
                )
            )


def _what(column: str, key: str) -> str:
    if column == "name":
        return "name"
    if column == "datapath":
        return f"{key.partition(':')[0]} name"
    if column == "group":
        return "group name"
    return f"{column} entry {key[:60]!r}" if key else column


def _verify_target(row: LoadBalancerRow) -> tuple[str, str, str] | None:
    """The column that gains a reference when this row is created: its group's, or its first datapath's."""
    if row.group is not None:
        return "Load_Balancer_Group", row.group, "load_balancer"
    return (*row.datapaths[0], "load_balancer") if row.datapaths else None


def _row_commands(
    row: LoadBalancerRow,
    index: int,
    group_datapaths: Mapping[str, tuple[tuple[str, str], ...]],
    quote: _Quoter,
) -> list[Command]:
    """ovn-nbctl commands for one row, in order, as shell words."""

    def q(text: str, column: str, key: str = "") -> str:
        return quote.row(row, text, column, key)

    name = q(row.name, "name")
    # lb-add creates the row when it is missing (every VIP has a port: E302
    # forbids port-less load balancers, and a forward's default target is a NAT
    # row); the set below overwrites every column either way.
    vip, targets = row.vips[0]
    commands: list[Command] = [
        (["--may-exist", "lb-add", name, q(vip, "vips", vip), q(targets, "vips", vip), row.protocol], [])
    ]
    hc_names = []
    for number, check in enumerate(row.health_checks, start=1):
        hc_name = f"@hc{index}_{number}"
        hc_names.append(hc_name)
        commands.append(
            (
                [f"--id={hc_name}", "create", "Load_Balancer_Health_Check"],
                [
                    q("vip=" + ovsdb_string(check.vip), "vips", check.vip),
                    *_map_words(row, quote, "options", check.options, reset=False, column="health_check"),
                    *_map_words(row, quote, "external_ids", check.external_ids, reset=False, column="health_check"),
                ],
            )
        )
    commands.append(
        (
            ["set", "Load_Balancer", name],
            [
                shell_quote("protocol=" + ovsdb_string(row.protocol)),
                *_map_words(row, quote, "vips", row.vips),
                shell_quote("health_check=[" + ",".join(hc_names) + "]"),
                *_map_words(row, quote, "ip_port_mappings", row.ip_port_mappings),
                *_map_words(row, quote, "external_ids", row.external_ids),
                *_map_words(row, quote, "options", row.options),
                shell_quote("selection_fields=[" + ",".join(row.selection_fields) + "]"),
            ],
        )
    )
    for table, datapath in row.datapaths:
        commands.append((["--may-exist", _ATTACH[table], q(datapath, "datapath", f"{table}:{datapath}"), name], []))
    if row.group is not None:
        # The group is how the row reaches its datapaths: a direct attachment
        # (from before the network had lb_group) would only duplicate it.
        for table, datapath in group_datapaths[row.group]:
            commands.append((["--if-exists", _DETACH[table], q(datapath, "datapath", f"{table}:{datapath}"), name], []))
        commands.append(([f"--id=@lb{index}", "get", "Load_Balancer", name], []))
        commands.append((["add", "Load_Balancer_Group", q(row.group, "group"), "load_balancer", f"@lb{index}"], []))
    return commands


_ATTACH = {"Logical_Router": "lr-lb-add", "Logical_Switch": "ls-lb-add"}
_DETACH = {"Logical_Router": "lr-lb-del", "Logical_Switch": "ls-lb-del"}


def _nat_commands(nat: NatRow, index: int, quote: _Quoter) -> list[Command]:
    """Delete the router's row of this type and address, if any, and make it again (see the docstring)."""
    router = quote.nat(nat, nat.router, "router")
    address = quote.nat(nat, nat.external_ip, "external_ip")
    columns = [
        quote.nat(nat, f"type={ovsdb_string(nat.type)}", "type"),
        quote.nat(nat, f"external_ip={ovsdb_string(nat.external_ip)}", "external_ip"),
        quote.nat(nat, f"logical_ip={ovsdb_string(nat.logical_ip)}", "logical_ip"),
        *(quote.nat(nat, f"options:{ovsdb_string(k)}={ovsdb_string(v)}", "options", k) for k, v in nat.options),
        *(
            quote.nat(nat, f"external_ids:{ovsdb_string(k)}={ovsdb_string(v)}", "external_ids", k)
            for k, v in nat.external_ids
        ),
    ]
    return [
        (["--if-exists", "lr-nat-del", router, nat.type, address], []),
        ([f"--id=@nat{index}", "create", "NAT"], columns),
        (["add", "Logical_Router", router, "nat", f"@nat{index}"], []),
    ]


def _nat_block(nat: NatRow, index: int, quote: _Quoter) -> Block:
    source = f"{nat.source.file}:{nat.source.line}"
    headline = f"default target of forward {nat.external_ip} of network {nat.network}, from {source}"
    comments = [comment_text(headline), comment_text(f"a {nat.type} NAT row on router {nat.router}")]
    if nat.description:
        comments.append(comment_text(f"description: {nat.description}"))
    verify = ("Logical_Router", nat.router, "nat")
    return _block(comments, _nat_commands(nat, index, quote), nat.source, verify)


def _group_commands(group: GroupRow, index: int, quote: _Quoter) -> list[Command]:
    """Attach a group to its datapaths; ``add`` to a set is a no-op when present."""
    commands: list[Command] = [
        ([f"--id=@group{index}", "get", "Load_Balancer_Group", quote.group(group, group.name)], [])
    ]
    for table, datapath in group.datapaths:
        word = quote.group(group, datapath, (table, datapath))
        commands.append((["add", table, word, "load_balancer_group", f"@group{index}"], []))
    return commands


def _map_words(
    row: LoadBalancerRow,
    quote: _Quoter,
    name: str,
    pairs: Sequence[tuple[str, str]],
    *,
    reset: bool = True,
    column: str = "",
) -> list[str]:
    """``name={}`` (unless the row is new) then one ``name:"key"="value"`` word per entry.

    One word per entry keeps every argument small (the kernel limits a single
    argument to 128 KiB) and puts one VIP on each line for the reviewer.
    ``column`` says where the values come from, when not from column ``name``.
    """
    words = [shell_quote(f"{name}={{}}")] if reset else []
    words.extend(quote.row(row, f"{name}:{ovsdb_string(k)}={ovsdb_string(v)}", column or name, k) for k, v in pairs)
    return words


def _size(commands: Sequence[Command]) -> int:
    # Each command also costs its "--" separator.
    return sum(sum(_argument_size(word) for word in (*head, *items)) + 3 + _POINTER for head, items in commands)


def _lines(commands: Sequence[Command]) -> list[str]:
    lines: list[str] = []
    for head, items in commands:
        if sum(len(word) + 1 for word in (*head, *items)) <= 100:
            lines.append("-- " + " ".join((*head, *items)))
        else:
            lines.append("-- " + " ".join(head))
            lines.extend("     " + word for word in items)
    return lines


def _block(comments: list[str], commands: list[Command], source: Span, verify: tuple[str, str, str] | None) -> Block:
    return Block(tuple(comments), tuple(_lines(commands)), _size(commands), source, verify)


def _row_block(
    row: LoadBalancerRow, index: int, group_datapaths: Mapping[str, tuple[tuple[str, str], ...]], quote: _Quoter
) -> Block:
    source = f"{row.source.file}:{row.source.line}"
    headline = f"{row.kind} {row.listen_address} {row.protocol} of network {row.network}, from {source}"
    comments = [comment_text(headline)]
    if row.description:
        comments.append(comment_text(f"description: {row.description}"))
    return _block(comments, _row_commands(row, index, group_datapaths, quote), row.source, _verify_target(row))


def _group_headline(group: GroupRow) -> str:
    source = f"{group.source.file}:{group.source.line}"
    return comment_text(f"Load_Balancer_Group {group.name} of network {', '.join(group.networks)}, from {source}")


def _group_block(group: GroupRow, index: int, quote: _Quoter) -> Block:
    return _block([_group_headline(group)], _group_commands(group, index, quote), group.source, None)


@dataclass(frozen=True, slots=True)
class _GroupPrelude:
    """Find a group before the first transaction, then (in it) use or create it."""

    variable: str
    condition: str
    comment: str
    exists: str  # the command when found: a `get` that verifies its members
    create: tuple[str, str]  # when missing: create it with ovn-lbc's UUID, and mark it
    size: int  # the larger branch, in argv bytes


def _group_prelude(group: GroupRow, index: int, quote: _Quoter) -> _GroupPrelude:
    name = quote.group(group, group.name)
    exists: Command = (["get", "Load_Balancer_Group", name, "load_balancer"], [])
    create: list[Command] = [
        (
            [
                f"--id={group.uuid}",
                "create",
                "Load_Balancer_Group",
                quote.group(group, "name=" + ovsdb_string(group.name)),
            ],
            [],
        ),
        (
            [
                "set",
                "NB_Global",
                ".",
                shell_quote(f"external_ids:{ovsdb_string(group.mark_key)}={ovsdb_string(group.uuid)}"),
            ],
            [],
        ),
    ]
    return _GroupPrelude(
        variable=f"group{index}",
        condition=shell_quote("name=" + ovsdb_string(group.name)),
        comment=_group_headline(group),
        exists=" ".join(exists[0]),
        create=(" ".join(create[0][0]), " ".join(create[1][0])),
        size=max(_size([exists]), _size(create)),
    )


def _verify_command(target: tuple[str, str, str]) -> Command:
    return (["get", target[0], shell_quote(target[1]), target[2]], [])


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("templates")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return environment.get_template("nbctl.sh.j2")


def _partition(
    blocks: Sequence[Block], budget: int, first_used: int, first_verified: set[tuple[str, str, str]]
) -> list[Transaction]:
    """Blocks in order, into as few transactions as the budget allows (one
    whenever everything fits): a new one only when the next block, with the
    verification it needs, would pass the budget. A block too big on its own
    still gets a transaction of its own."""
    groups: list[tuple[list[Block], list[tuple[str, str, str]]]] = []
    used = 0
    verified: set[tuple[str, str, str]] = set()
    for block in blocks:
        if not groups:
            groups.append(([], []))
            used, verified = first_used, set(first_verified)
        target = block.verify if block.verify is not None and block.verify not in verified else None
        cost = block.size + (_size([_verify_command(target)]) if target is not None else 0)
        if groups[-1][0] and used + cost > budget:
            groups.append(([], []))
            used, verified = 0, set()
            target = block.verify
            cost = block.size + (_size([_verify_command(target)]) if target is not None else 0)
        groups[-1][0].append(block)
        if target is not None:
            groups[-1][1].append(target)
            verified.add(target)
        used += cost
    return [
        Transaction(tuple(" ".join(_verify_command(target)[0]) for target in targets), tuple(members))
        for members, targets in groups
    ]


def nbctl_script(changes: NorthboundChanges, inputs: Sequence[str], *, budget: int = ARGUMENT_BUDGET) -> Script:
    """The shell script for ``changes`` (``inputs`` name the source files),
    with its diagnostics: E326 for a value no command line can carry, W004
    when the script has to split into transactions.

    ``budget`` caps the argument bytes of one ovn-nbctl call; 0 gives one
    call per row, the per-load-balancer baseline that bench/run.py measures.
    """
    quote = _Quoter()
    group_datapaths = {group.name: group.datapaths for group in changes.groups}
    blocks = [_row_block(row, index, group_datapaths, quote) for index, row in enumerate(changes.rows, start=1)]
    blocks.extend(_group_block(group, index, quote) for index, group in enumerate(changes.groups, start=1))
    blocks.extend(_nat_block(nat, index, quote) for index, nat in enumerate(changes.nats, start=1))
    preludes = [_group_prelude(group, index, quote) for index, group in enumerate(changes.groups, start=1)]
    # The first transaction finds or creates the groups, which verifies them there.
    first_verified = {("Load_Balancer_Group", group.name, "load_balancer") for group in changes.groups}
    transactions = _partition(blocks, budget, sum(p.size for p in preludes), first_verified)
    count = len(transactions)
    diagnostics: list[Diagnostic] = list(quote.too_long)
    if count > 1:
        diagnostics.append(
            warning(
                transactions[1].blocks[0].source,
                "W004",
                f"the ovn-nbctl script splits into {count} transactions (the first split is before this row): "
                "one command line cannot carry all the changes, so the script is not atomic; "
                "if a later transaction fails, the earlier ones stay committed",
                "`ovn-lbc apply` makes every change in one transaction, whatever the size; "
                "after a failure, fix the cause and run the script again to complete it",
            )
        )
    text = _template().render(
        version=__version__,
        inputs=comment_text(", ".join(inputs)),
        row_count=len(changes.rows),
        nat_count=len(changes.nats),
        groups=preludes,
        transaction_words="one transaction" if count <= 1 else f"{count} transactions (see the split comments)",
        split=count > 1,
        count=count,
        transactions=transactions,
    )
    return Script(text, count, tuple(diagnostics))


def emit_nbctl(
    changes: NorthboundChanges,
    inputs: Sequence[str],
    *,
    budget: int = ARGUMENT_BUDGET,
    diagnostics: list[Diagnostic] | None = None,
) -> str:
    """The script's text; its diagnostics (``nbctl_script``) are added to
    ``diagnostics`` when given. With an E326 among them the text must not
    be written: the script would fail."""
    script = nbctl_script(changes, inputs, budget=budget)
    if diagnostics is not None:
        diagnostics.extend(script.diagnostics)
    return script.text
