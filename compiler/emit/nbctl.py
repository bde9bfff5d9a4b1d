"""The reviewable shell script: every change in one ovn-nbctl transaction.

Rows are upserted, never deleted and re-created: ``--may-exist lb-add``
creates the row when missing, ``set`` then overwrites every column the
compiler owns, and ``--may-exist ls-lb-add``/``lr-lb-add`` attach it. Running
the script twice gives the same rows with the same UUIDs. (Deleting and
re-creating in one transaction leaves dangling weak references in
Logical_Router.load_balancer on ovsdb-server 3.1.)

Arguments are gathered with ``set -- "$@" ...`` so that a comment can stand
before each load balancer and still everything goes to one invocation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jinja2

from ..lower import GroupRow, LoadBalancerRow, NorthboundChanges
from ..resources import resource_dir
from ..version import __version__

# Linux allows 2 MiB of arguments plus environment (ARG_MAX); stay well below
# it so the script also runs where the limit is lower or the environment big.
ARGUMENT_BUDGET = 1024 * 1024
# Each argument also costs a pointer in the kernel's argv copy.
_POINTER = 8


def shell_quote(text: str) -> str:
    """One shell word holding ``text`` byte-exact; nothing inside expands."""
    return "'" + text.replace("'", "'\\''") + "'"


def ovsdb_string(text: str) -> str:
    """An OVSDB string atom as ovn-nbctl parses it: a JSON string literal."""
    return json.dumps(text, ensure_ascii=False)


def comment_text(text: str) -> str:
    """Text safe inside a ``#`` comment: no newline or control character survives."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


@dataclass(frozen=True, slots=True)
class Block:
    """The comment and the continuation lines of one row's commands."""

    comments: tuple[str, ...]
    lines: tuple[str, ...]
    size: int


Command = tuple[list[str], list[str]]  # (the command's head, one word per map entry)


def _row_commands(
    row: LoadBalancerRow, index: int, group_datapaths: Mapping[str, tuple[tuple[str, str], ...]]
) -> list[Command]:
    """ovn-nbctl commands for one row, in order, as shell words."""
    q = shell_quote
    name = q(row.name)
    # lb-add creates the row when it is missing; the set below overwrites every
    # column either way. lb-add refuses a protocol for a port-less VIP, so give
    # it a VIP with a port when there is one (the set fixes the protocol).
    port_vips = [(k, v) for k, v in row.vips if k != row.listen_address]
    vip, targets = (port_vips or list(row.vips))[0]
    protocol = [row.protocol] if port_vips else []
    commands: list[Command] = [(["--may-exist", "lb-add", name, q(vip), q(targets), *protocol], [])]
    hc_names = []
    for number, check in enumerate(row.health_checks, start=1):
        hc_name = f"@hc{index}_{number}"
        hc_names.append(hc_name)
        commands.append(
            (
                [f"--id={hc_name}", "create", "Load_Balancer_Health_Check"],
                [
                    q("vip=" + ovsdb_string(check.vip)),
                    *_map_words("options", check.options, reset=False),
                    *_map_words("external_ids", check.external_ids, reset=False),
                ],
            )
        )
    commands.append(
        (
            ["set", "Load_Balancer", name],
            [
                q("protocol=" + ovsdb_string(row.protocol)),
                *_map_words("vips", row.vips),
                q("health_check=[" + ",".join(hc_names) + "]"),
                *_map_words("ip_port_mappings", row.ip_port_mappings),
                *_map_words("external_ids", row.external_ids),
                *_map_words("options", row.options),
                q("selection_fields=[" + ",".join(row.selection_fields) + "]"),
            ],
        )
    )
    for table, datapath in row.datapaths:
        commands.append((["--may-exist", _ATTACH[table], q(datapath), name], []))
    if row.group is not None:
        # The group is how the row reaches its datapaths: a direct attachment
        # (from before the network had lb_group) would only duplicate it.
        for table, datapath in group_datapaths[row.group]:
            commands.append((["--if-exists", _DETACH[table], q(datapath), name], []))
        commands.append(([f"--id=@lb{index}", "get", "Load_Balancer", name], []))
        commands.append((["add", "Load_Balancer_Group", q(row.group), "load_balancer", f"@lb{index}"], []))
    return commands


_ATTACH = {"Logical_Router": "lr-lb-add", "Logical_Switch": "ls-lb-add"}
_DETACH = {"Logical_Router": "lr-lb-del", "Logical_Switch": "ls-lb-del"}


def _group_commands(group: GroupRow, index: int) -> list[Command]:
    """Attach a group to its datapaths; ``add`` to a set is a no-op when present."""
    commands: list[Command] = [([f"--id=@group{index}", "get", "Load_Balancer_Group", shell_quote(group.name)], [])]
    for table, datapath in group.datapaths:
        commands.append((["add", table, shell_quote(datapath), "load_balancer_group", f"@group{index}"], []))
    return commands


def _map_words(column: str, pairs: Sequence[tuple[str, str]], *, reset: bool = True) -> list[str]:
    """``column={}`` (unless the row is new) then one ``column:"key"="value"`` word per entry.

    One word per entry keeps every argument small (the kernel limits a single
    argument to 128 KiB) and puts one VIP on each line for the reviewer.
    """
    words = [shell_quote(f"{column}={{}}")] if reset else []
    words.extend(shell_quote(f"{column}:{ovsdb_string(k)}={ovsdb_string(v)}") for k, v in pairs)
    return words


def _block(comments: list[str], commands: list[Command]) -> Block:
    lines: list[str] = []
    size = 0
    for head, items in commands:
        size += sum(len(word.encode()) + 1 + _POINTER for word in (*head, *items)) + 3
        if sum(len(word) + 1 for word in (*head, *items)) <= 100:
            lines.append("-- " + " ".join((*head, *items)))
        else:
            lines.append("-- " + " ".join(head))
            lines.extend("     " + word for word in items)
    return Block(tuple(comments), tuple(lines), size)


def _row_block(row: LoadBalancerRow, index: int, group_datapaths: Mapping[str, tuple[tuple[str, str], ...]]) -> Block:
    source = f"{row.source.file}:{row.source.line}"
    headline = f"{row.kind} {row.listen_address} {row.protocol} of network {row.network}, from {source}"
    comments = [comment_text(headline)]
    if row.description:
        comments.append(comment_text(f"description: {row.description}"))
    return _block(comments, _row_commands(row, index, group_datapaths))


def _group_block(group: GroupRow, index: int) -> Block:
    source = f"{group.source.file}:{group.source.line}"
    headline = f"Load_Balancer_Group {group.name} of network {', '.join(group.networks)}, from {source}"
    return _block([comment_text(headline)], _group_commands(group, index))


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


def emit_nbctl(changes: NorthboundChanges, inputs: Sequence[str], *, budget: int = ARGUMENT_BUDGET) -> str:
    """The shell script for ``changes``; ``inputs`` name the source files.

    ``budget`` caps the argument bytes of one ovn-nbctl call; 0 gives one
    call per row, the per-load-balancer baseline that bench/run.py measures.
    """
    transactions: list[list[Block]] = []
    used = 0
    group_datapaths = {group.name: group.datapaths for group in changes.groups}
    blocks = [_row_block(row, index, group_datapaths) for index, row in enumerate(changes.rows, start=1)]
    blocks.extend(_group_block(group, index) for index, group in enumerate(changes.groups, start=1))
    for block in blocks:
        # A new transaction when this row would pass the budget (a row too big
        # on its own still gets a transaction of its own).
        if not transactions or (transactions[-1] and used + block.size > budget):
            transactions.append([])
            used = 0
        transactions[-1].append(block)
        used += block.size
    count = len(transactions)
    return _template().render(
        version=__version__,
        inputs=comment_text(", ".join(inputs)),
        row_count=len(changes.rows),
        groups=[shell_quote("name=" + ovsdb_string(group.name)) for group in changes.groups],
        transaction_words="one transaction" if count <= 1 else f"{count} transactions (see the split comments)",
        transactions=transactions,
    )
