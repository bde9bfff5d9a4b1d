"""The ``ovn-lbc`` command line. Exit codes: 0 ok, 1 invalid input, 2 usage,
3 nothing applied (the database refused, moved, or could not be used), 4
committed but the --wait failed (for status and doctor: a backend is not
online, a health check does not work), 5 sent with no usable answer (applied whole
or not at all), 130 interrupted. ``plan --detailed-exitcode`` changes two:
2 means changes pending, and a usage error is 1. No input, file, peer or
signal gives a traceback: every failure is one line with one of these codes.

Why this module is long: it is the parser, whose help texts are also the
man page, and one handler per command that turns each failure into its
line and exit code; kept together, every exit code is decided in one file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .compilation import CheckedInput, Compilation, check_files, compile_files
from .diagnostics import CompileError, Diagnostic, Severity, SourceRegistry, escape_controls, sort_diagnostics
from .frontend import INPUT_FORMATS
from .frontend.document import schema
from .gcpause import paused_gc
from .ovn_versions import OvnVersion, parse_ovn_version
from .ovsdb.client import (
    CONNECT_TIMEOUT,
    DEFAULT_REMOTE,
    MAX_REPLY_VARIABLE,
    REQUEST_TIMEOUT,
    BadRemote,
    Limits,
    OvsdbError,
    SslFiles,
    parse_remotes,
    parse_size,
)
from .ovsdb.southbound import DEFAULT_SB_REMOTE, SB_REMOTE_VARIABLE
from .version import __version__

# emit.graph's FORMATS (tests/test_graph.py holds them equal): the drawing code is imported for `graph` only.
GRAPH_FORMATS = ("dot", "mermaid")

if TYPE_CHECKING:
    from .apply import EarlyRead
    from .unchanged import Run

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_CHANGES_PENDING = 2  # plan --detailed-exitcode only, which makes a usage error EXIT_INVALID
EXIT_DATABASE = 3  # nothing applied: the database refused, moved or misbehaved, or OVN is missing (sandbox)
EXIT_WAIT = 4  # committed, but the --wait failed or timed out; import: written, but something left out
EXIT_UNHEALTHY = 4  # status: a backend is not online; doctor: something keeps a health check from working
EXIT_UNKNOWN = 5  # the transaction went out, no usable answer came: applied whole or not at all
EXIT_INTERRUPTED = 130  # SIGINT, as a shell reports it (128 + 2)
EXIT_BROKEN_PIPE = 141  # the reader of standard output went away, as a shell reports SIGPIPE (128 + 13)

DESCRIPTION = """\
ovn-lbc compiles OVN network load balancers. It reads files that describe
networks, load balancers (VIPs, named backends, ports, health checks) and
forwards, in the form `incus network load-balancer show` prints (YAML or
JSON) or in ovn-lbc's own shorter DSL, checks them, and writes the OVN
Northbound changes as a reviewable ovn-nbctl script or an OVSDB transaction,
or applies them to a Northbound database.
"""

EPILOG = """\
commands:
  check FILE...       check the files; print every problem found
  compile FILE...     check, then print the ovn-nbctl script or, with --format json,
                      the OVSDB transaction (nothing on errors)
  plan FILE...        show what apply would change in a database (--db REMOTE or
                      --from-dump FILE); --format json: the transaction itself;
                      --format plan-json: the changes described for tools
  apply FILE...       plan against a Northbound database and apply the plan in one
                      guarded transaction (--plan-file: apply a saved plan)
  destroy FILE...     remove every row the files' networks own, and nothing else
  status FILE...      every backend of every VIP: its health-check monitor, whether the
                      VIP's flows hold it, its line (--db NB, --sb SB; writes nothing)
  doctor FILE...      why a health check does not work: each finding's code (D...),
                      the file's line and the fix (--db NB, --sb SB; writes nothing)
  sandbox FILE...     apply the files to a throwaway OVN and show the result
  fmt FILE...         rewrite DSL files in the canonical layout (--check: only report)
  convert FILE...     print the files' model as DSL or YAML (--to dsl|yaml)
  graph FILE...       draw the load balancers as Mermaid or DOT (--db: with the
                      health-check monitors' status)
  import --from keepalived|ipvsadm FILE --network NETFILE
                      turn keepalived.conf or ipvsadm rules into an ovn-lbc file
  schema [plan-json]  print the JSON Schema of the input format (or of plan-json)

input:
  Files ending in .json are JSON, .lb the DSL, anything else YAML; `-` reads
  standard input. Several files form one document. The formats are described
  in docs/input-format.md and docs/dsl.md of the source tree.

diagnostics:
  FILE:LINE:COL: error[CODE]: message, then the source line and a caret.
  Every error of a run is reported at once.

exit status:
  0    success (warnings may have been printed); plan --detailed-exitcode:
       success and no changes
  1    the input is invalid, or conflicts with the database; nothing was
       written; plan --detailed-exitcode: a usage error as well
  2    usage error: a bad option or remote, a file that cannot be read or
       written, a saved plan ovn-lbc's planner would not have written;
       plan --detailed-exitcode (as terraform's, for cron and CI): success,
       and changes are pending (whatever the --format)
  3    nothing was applied: the database refused the changes, moved since it
       was read, could not be reached, was silent or sent what is not OVSDB;
       or OVN is missing (sandbox); plan, graph: a database could not be read
  4    the changes are committed, but the --wait for ovn-northd or the
       hypervisors failed or timed out; for import: the file is written, but
       something of the input (a virtual server, a real server, a health
       check) is left out, as its warning says; for status: a backend is
       offline, has no monitor (yet) or is not applied; for doctor: there are
       problems to fix
  5    the transaction was sent but no usable answer came back: it was
       applied whole or not at all (`ovn-lbc plan` shows which)
  130  interrupted (SIGINT); the message says what was applied
  141  standard output was closed early (`| head`); nothing more is written

limits:
  Each connect to a remote (with its TLS handshake and first answer) may
  take 10 s, each request 60 s, each --wait 60 s; --timeout SECONDS bounds
  the whole command instead. A cluster member that is down or silent is
  skipped. A message from the server may have 1 GiB (--max-reply).

environment:
  OVN_NB_DB          the default remote (--db) of plan, apply, destroy, status
                     and doctor; read by ovn-nbctl when a generated script runs.
  OVN_SB_DB          the default --sb of status, doctor and graph, else
                     unix:/var/run/ovn/ovnsb_db.sock (as ovn-sbctl).
  OVN_LBC_MAX_REPLY  the default of --max-reply.

examples:
  ovn-lbc check samples/ipv4-healthcheck.yaml
  ovn-lbc compile samples/ipv4-healthcheck.yaml -o lb.sh && sh lb.sh
  ovn-lbc compile samples/ipv4-healthcheck.yaml --format json -o txn.json &&
      ovsdb-client transact "$OVN_NB_DB" "$(cat txn.json)"
  ovn-lbc plan samples/ipv4-healthcheck.yaml --db "$OVN_NB_DB"
  ovn-lbc plan samples/ipv4-healthcheck.yaml --from-dump nb-backup.db --format json -o plan.json &&
      ovn-lbc apply --plan-file plan.json
  ovn-lbc plan lbs.yaml --detailed-exitcode --format plan-json -o plan.json
      (exit 2: the database drifted from lbs.yaml, and plan.json says how)
  ovn-lbc apply samples/ipv4-healthcheck.yaml --wait=sb
  ovn-lbc graph samples/ipv4-healthcheck.yaml --format dot | dot -Tsvg -o lbs.svg
  ovn-lbc status samples/ipv4-healthcheck.yaml --format json    # exit 4 when a backend is down
  ovn-lbc doctor samples/ipv4-healthcheck.yaml
  ovn-lbc fmt --check samples/*.lb
  ovn-lbc convert samples/ipv4-healthcheck.yaml --to dsl > ipv4-healthcheck.lb
  ovn-lbc import --from keepalived /etc/keepalived/keepalived.conf --network net.yaml -o lb.yaml
  ipvsadm -S -n | ovn-lbc import --from ipvsadm - --network net.yaml --to dsl
  ovn-lbc schema > ovn-lbc.schema.json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ovn-lbc",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ovn-lbc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def input_arguments(sub: argparse.ArgumentParser, nargs: str = "+") -> None:
        sub.add_argument("files", nargs=nargs, metavar="FILE", help="input files (YAML, JSON or DSL; - for stdin)")
        sub.add_argument(
            "--input-format",
            choices=INPUT_FORMATS,
            help="read every FILE in this format instead of guessing from its name",
        )
        sub.add_argument(
            "--ovn-version",
            type=_ovn_version,
            metavar="X.Y",
            help="the OVN release the site runs (overrides target_ovn; default 23.03, "
            "or what a live database's schema says): newer features are refused",
        )

    def output_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--pretty", action="store_true", help="with --format json: indent the JSON")
        sub.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")

    check = commands.add_parser(
        "check",
        help="check files and report every problem",
        description="Check FILEs and print every error and warning. Exit 0 when there are no errors.",
    )
    input_arguments(check)

    compile_ = commands.add_parser(
        "compile",
        help="compile files to an ovn-nbctl script",
        description="Check FILEs, then write the OVN Northbound changes. "
        "On any error nothing is written and the exit status is 1.",
    )
    input_arguments(compile_)
    compile_.add_argument(
        "--format",
        choices=("nbctl", "json"),
        default="nbctl",
        help="nbctl: a POSIX shell script of one ovn-nbctl transaction (default); "
        "json: the params of an OVSDB transact request, for `ovsdb-client transact`",
    )
    output_arguments(compile_)

    remote_help = "unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT; a comma list for a clustered database"

    def database_arguments(sub: argparse.ArgumentParser, *, optional_db: bool = False) -> None:
        if optional_db:  # graph: offline unless --db is given
            sub.add_argument(
                "--db",
                metavar="REMOTE",
                help=f"the Northbound database ({remote_help}): compile against it as plan does (its release, "
                "the switch ports it has) and colour each health-checked backend by its Southbound monitor",
            )
            sub.add_argument(
                "--sb",
                metavar="REMOTE",
                help=f"with --db: the Southbound database to read the Service_Monitor statuses from "
                f"(default: ${SB_REMOTE_VARIABLE}, else {DEFAULT_SB_REMOTE})",
            )
        else:
            sub.add_argument(
                "--db",
                metavar="REMOTE",
                default=os.environ.get("OVN_NB_DB") or DEFAULT_REMOTE,
                help=f"{remote_help} (default: $OVN_NB_DB, else {DEFAULT_REMOTE})",
            )
        sub.add_argument("-p", "--private-key", metavar="FILE", help="SSL private key")
        sub.add_argument("-c", "--certificate", metavar="FILE", help="SSL certificate")
        sub.add_argument("-C", "--ca-cert", metavar="FILE", help="SSL CA certificate")
        sub.add_argument(
            "--timeout",
            type=_seconds,
            metavar="SECONDS",
            help="bound the whole command, --wait included (default: each connect "
            f"{CONNECT_TIMEOUT:g} s, each request {REQUEST_TIMEOUT:g} s, --wait 60 s)",
        )
        sub.add_argument(
            "--max-reply",
            type=_size,
            metavar="SIZE",
            default=os.environ.get(MAX_REPLY_VARIABLE) or "1G",
            help=f"the largest message accepted from the server, and the largest --from-dump or --plan-file "
            f"read, in bytes or with K, M or G (default: ${MAX_REPLY_VARIABLE}, else 1G)",
        )

    def wait_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--wait",
            choices=("none", "sb", "hv"),
            default="none",
            help="after committing, wait for ovn-northd (sb) or every hypervisor (hv), like ovn-nbctl --wait; "
            "a wait that fails after the commit exits 4",
        )

    adopt_help = (
        "take over rows of the same name that ovn-lbc does not own (they get its ownership mark), and "
        "a nameless row of a load balancer's protocol and VIPs when no row has its name (renamed in place)"
    )

    plan = commands.add_parser(
        "plan",
        help="show what apply would change in a database",
        description="Check FILEs, read the Northbound database (live with --db, or a copy with "
        "--from-dump) and print what `apply` would add (+), change (~) and remove (-), grouped by "
        'network, ending with a summary; "No changes." when there are none. Only rows owned by the '
        "files' networks are changed or removed. Health-checked backends without a switch port in "
        "the file get the Logical_Switch_Port of the network's switch that has their address.",
    )
    input_arguments(plan)
    plan.add_argument(
        "--from-dump",
        metavar="DUMP",
        help="plan offline from `ovsdb-client dump --format=json` or `ovsdb-client backup` output",
    )
    database_arguments(plan)
    plan.add_argument("--adopt", action="store_true", help=adopt_help)
    plan.add_argument("--destroy", action="store_true", help="plan what `ovn-lbc destroy` would remove")
    plan.add_argument(
        "--format",
        choices=("text", "json", "plan-json"),
        default="text",
        help="text: for people (default); json: exactly the transaction apply would send "
        "(apply it later with `apply --plan-file`); plan-json: the plan described for tools, "
        "each change with its before and after (`ovn-lbc schema plan-json` prints its JSON Schema)",
    )
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there are no changes, 2 when there are (whatever the --format), "
        "1 for invalid input and for a usage error, 3 when the database fails",
    )
    output_arguments(plan)

    apply = commands.add_parser(
        "apply",
        help="apply files to a Northbound database in one guarded transaction",
        description="Check FILEs, plan against the OVN Northbound database and send only the plan "
        "(nothing when nothing changed) as one OVSDB transaction over JSON-RPC. The transaction "
        "checks, with wait operations, every row the plan read and changes: if another client "
        "changed one in between, nothing is applied and the exit status is 3. Every result is "
        "checked: on any failure nothing is applied, the exit status is 3 and the message names "
        "the failed operation, the server's reason and the input line.",
    )
    input_arguments(apply, nargs="*")
    apply.add_argument(
        "--plan-file",
        metavar="PLAN",
        help="send the transaction `plan --format json` wrote instead of planning now; refused before "
        "connecting (exit 2) when it does anything ovn-lbc's planner would not have written, and by "
        "its guards, changing nothing (exit 3), when the database moved since",
    )
    database_arguments(apply)
    apply.add_argument("--adopt", action="store_true", help=adopt_help)
    wait_arguments(apply)

    destroy = commands.add_parser(
        "destroy",
        help="remove every row the files' networks own",
        description="Delete every Load_Balancer row that carries the ownership mark of a network "
        "of FILEs (their health checks go with them), in one guarded transaction, and nothing "
        "else. Preview with `ovn-lbc plan --destroy`.",
    )
    input_arguments(destroy)
    database_arguments(destroy)
    wait_arguments(destroy)

    def health_arguments(sub: argparse.ArgumentParser, json_help: str) -> None:
        input_arguments(sub)
        database_arguments(sub)
        sub.add_argument(
            "--sb",
            metavar="REMOTE",
            default=os.environ.get(SB_REMOTE_VARIABLE) or DEFAULT_SB_REMOTE,
            help="the Southbound database, written as --db is, with the same SSL options "
            f"(default: ${SB_REMOTE_VARIABLE}, else {DEFAULT_SB_REMOTE})",
        )
        sub.add_argument("--format", choices=("text", "json"), default="text", help=json_help)

    status = commands.add_parser(
        "status",
        help="show every backend's health as OVN has it now",
        description="Check FILEs, read the Northbound and Southbound databases and print, for every "
        "load balancer, VIP and backend of the files, the health-check monitor's status (online, "
        "offline, no status yet, no monitor yet), whether the VIP's load-balancing flows hold the "
        "backend now, and the backend's line, then a summary. A row the files describe and the "
        "database lacks is shown as not applied. Exit 0 when every health-checked backend is "
        "online, 4 otherwise. Nothing is written.",
    )
    health_arguments(
        status,
        "text: a table per VIP and a summary (default); json: one object for monitoring scripts, "
        '{"state": "OK"|"CRITICAL"|"UNKNOWN", "exit_status", "summary", "counts", "backends": [...]}',
    )

    doctor = commands.add_parser(
        "doctor",
        help="explain every health check that does not work",
        description="Check FILEs, read the Northbound and Southbound databases and report what keeps "
        "each health check of the files from working: a missing or unbound switch port, a probe "
        "source that is someone else's address or outside the subnet, a health check whose vip is "
        "not exactly a vips key, NB_Global's svc_monitor_mac, a load balancer missing from a switch "
        "the files name, an offline monitor and why. Each finding has a code (D...), the file's "
        "line and the fix; notes explain what OVN does and need no change. Rows ovn-lbc does not "
        "own are examined when the files name them. Exit 0 when there are no problems, 4 when there "
        "are. Nothing is written.",
    )
    health_arguments(
        doctor,
        "text: each finding as a diagnostic with its fix (default); json: "
        '{"exit_status", "problems", "notes", "findings": [{"code", "severity", "file", "line", ...}]}',
    )

    sandbox = commands.add_parser(
        "sandbox",
        help="try files on a throwaway OVN and show what it does with them",
        description="Start a throwaway OVN (NB and SB ovsdb-server and ovn-northd in a temp dir, "
        "no root services), build each network's router, switch and ports (and, for a router whose "
        "forwards have a default target, an uplink with a gateway port, where OVN applies NAT rows), "
        "apply the changes as `ovn-lbc apply` does, and print the Load_Balancer rows, the health checks' "
        "Service_Monitor rows and the load-balancing logical flows (and the NAT rows and the routers' DNAT "
        "flows). Everything started is stopped afterwards.",
    )
    input_arguments(sandbox)
    sandbox.add_argument(
        "--traffic",
        action="store_true",
        help="with the real datapath, open connections from a client to every VIP and port (TCP and UDP) "
        "and report which backend answered how often, beside each backend's monitor status",
    )
    sandbox.add_argument(
        "--connections", type=_positive_count, default=20, metavar="N", help="with --traffic: per VIP (default 20)"
    )
    sandbox.add_argument(
        "--fail",
        nargs="+",
        default=[],
        metavar="BACKEND",
        help="with --traffic: then stop these backends' servers, wait until their monitors go offline, "
        "and send the traffic again",
    )
    sandbox.add_argument(
        "--format", choices=("text", "json"), default="text", help="with --traffic: json prints one object"
    )

    fmt = commands.add_parser(
        "fmt",
        help="rewrite DSL files in the canonical layout",
        description="Rewrite each DSL FILE in place in the canonical layout (four-space indents, one "
        "statement per line, comments kept where they were). `-` formats standard input to standard "
        "output. Formatting twice changes nothing the second time.",
    )
    fmt.add_argument("files", nargs="+", metavar="FILE", help="DSL files (- for stdin)")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 and name each file that would change")

    convert = commands.add_parser(
        "convert",
        help="print the files' model in another input format",
        description="Check FILEs, then print their model as DSL or as Incus-shaped YAML. Compiling "
        "the output gives exactly the changes the input gives. Comments are not carried over.",
    )
    input_arguments(convert)
    convert.add_argument("--to", choices=("dsl", "yaml"), required=True, help="the output format")
    convert.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")

    graph = commands.add_parser(
        "graph",
        help="draw the networks, load balancers, VIPs and backends as DOT or Mermaid",
        description="Check FILEs and print a picture of what they make, for a review: per network, "
        "the router and switches (and group) each load balancer is attached to, each VIP to its "
        "backends, each backend to its switch port, and the probe source of each health check. "
        "DOT is for Graphviz (`dot -Tsvg`), Mermaid renders in Markdown. With --db, the backends "
        "are coloured by their health-check monitor's status in the Southbound database: online, "
        "offline (or error), unknown (no status yet, or no monitor).",
    )
    input_arguments(graph)
    graph.add_argument("--format", choices=GRAPH_FORMATS, default="mermaid", help="mermaid (default) or dot (Graphviz)")
    graph.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")
    database_arguments(graph, optional_db=True)

    import_ = commands.add_parser(
        "import",
        help="turn keepalived.conf, ipvsadm rules or a Northbound database's load balancers into an ovn-lbc file",
        description="Read FILE (--from keepalived: a keepalived.conf with its includes; --from ipvsadm: "
        "`ipvsadm -S -n` output or a script of ipvsadm commands) and write a complete ovn-lbc file: the "
        "networks of NETFILE with a load balancer per VIP, in the network whose subnet holds its real "
        "servers. What OVN does differently (DR forwarding, schedulers, weights, HTTP checks, sorry "
        "servers, ...) is a warning at the keepalived or ipvsadm line (--strict: an error). The output "
        "is checked as `ovn-lbc check` would and read back before it is written. --from db (or --db or "
        "--from-dump without --from) describes the Load_Balancer rows of a Northbound database instead (all, or "
        "those --match names), so that `apply FILE --adopt` changes nothing but ovn-lbc's ownership marks "
        "(and names nameless rows, which get the name ovn-lbc would give them); "
        "rows it cannot describe are listed on stderr, each with a stable code (warning[I001] to "
        "warning[I021]) and the reason. Exit 4 when something of the input was left out.",
    )
    import_.add_argument("file", nargs="?", metavar="FILE", help="the keepalived or ipvsadm file (- for stdin)")
    import_.add_argument(
        "--from",
        dest="source",
        choices=("keepalived", "ipvsadm", "db"),
        help="what FILE is; db: no FILE, the rows of --db or --from-dump (the default with either and no FILE)",
    )
    import_.add_argument(
        "--network",
        metavar="NETFILE",
        help="a YAML, JSON or DSL file with the network blocks (router, switch, subnet, switch_ports) the "
        "real servers are on; needed",
    )
    import_.add_argument(
        "--db",
        metavar="REMOTE",
        help="--from db: the Northbound database to import; keepalived, ipvsadm: also find each real server's "
        "Logical_Switch_Port on its network's switch in it (needed for health checks when NETFILE names no "
        "switch_ports)",
    )
    import_.add_argument(
        "--from-dump",
        metavar="DUMP",
        help="--from db: import from `ovsdb-client dump --format=json` or `ovsdb-client backup` output instead",
    )
    import_.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="GLOB",
        help="--from db: only the Load_Balancer rows whose name matches GLOB (fnmatch; repeatable)",
    )
    import_.add_argument("-p", "--private-key", metavar="FILE", help="with --db: SSL private key")
    import_.add_argument("-c", "--certificate", metavar="FILE", help="with --db: SSL certificate")
    import_.add_argument("-C", "--ca-cert", metavar="FILE", help="with --db: SSL CA certificate")
    import_.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="with --db: bound reading the database")
    import_.add_argument(
        "--max-reply",
        type=_size,
        metavar="SIZE",
        default=os.environ.get(MAX_REPLY_VARIABLE) or "1G",
        help="with --db or --from-dump: the largest message or dump read (default 1G)",
    )
    import_.add_argument("--to", choices=("yaml", "dsl"), default="yaml", help="the output format (default yaml)")
    import_.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")
    import_.add_argument(
        "--strict", action="store_true", help="refuse what OVN would do differently: the import's warnings are errors"
    )

    schema_ = commands.add_parser(
        "schema",
        help="print the JSON Schema of the input format (or of plan-json)",
        description="Print a JSON Schema, for editors and validators: of input format version 1 "
        "(default), or of what `plan --format plan-json` prints.",
    )
    schema_.add_argument(
        "which", nargs="?", choices=("input", "plan-json"), default="input", help="input (default) or plan-json"
    )
    return parser


def _print_diagnostics(error: CompileError) -> None:
    print(error.render(), file=sys.stderr)
    errors = len(error.errors)
    warnings = sum(1 for d in error.diagnostics if d.severity is Severity.WARNING)
    summary = f"{errors} error{'s' if errors != 1 else ''}"
    if warnings:
        summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
    print(f"ovn-lbc: {summary}; nothing was written", file=sys.stderr)


class _NotRegularFile(OSError):
    """An output that is a device, a FIFO, a socket or a directory."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _write_output(text: str | Iterable[str], output: str | None, *, executable: bool) -> None:
    """Write ``text`` (or its pieces, as they are made) to standard output
    (``-`` or None) or replace the file ``output``, atomically.

    A symlink is followed: the file it names is written and the link stays.
    Only a regular file is replaced: writing beside a device or a FIFO and
    renaming would put a regular file in its place (``-o /dev/null`` as root
    replaced /dev/null). An existing file keeps its mode (and, when allowed,
    its owner); a new one gets 0666 (0777 for a script) less the umask."""
    pieces = (text,) if isinstance(text, str) else text
    if output is None or output == "-":
        for piece in pieces:
            sys.stdout.write(piece)
        return
    target = os.path.realpath(output)
    try:
        found: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):
        raise _NotRegularFile(
            f"it is {_kind(found.st_mode)}, not a regular file (ovn-lbc writes regular files, or - for standard output)"
        )
    if found is not None:
        mode = stat.S_IMODE(found.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = (0o777 if executable else 0o666) & ~umask
    # Write beside the real target and rename, so a reader never sees half a file.
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".ovn-lbc-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for piece in pieces:
                handle.write(piece)
        if found is not None and (found.st_uid, found.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.chown(temporary, found.st_uid, found.st_gid)
            except PermissionError:
                pass  # not ours to give away: the file becomes the writer's, with its mode kept
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _ssl(args: argparse.Namespace) -> SslFiles:
    return SslFiles(args.private_key, args.certificate, args.ca_cert)


class _Unreadable(Exception):
    """A file argument (a dump, a saved plan) that cannot be read."""


def _read_file(path: str, limit: int) -> str:
    """A whole file as UTF-8 text, at most ``limit`` bytes (--max-reply): a FIFO or
    a device may be given, and /dev/zero never ends."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _Unreadable(exc.strerror or str(exc)) from None
    if len(data) > limit:
        raise _Unreadable(f"larger than {limit:,} bytes (--max-reply or {MAX_REPLY_VARIABLE} raises the limit)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"not UTF-8 (byte {exc.start})") from None


def _usage(args: argparse.Namespace) -> int:
    """The exit status of a usage error: 1 under plan --detailed-exitcode, whose 2 means changes pending."""
    return EXIT_INVALID if getattr(args, "detailed_exitcode", False) else EXIT_USAGE


def _check_remote(args: argparse.Namespace, option: str = "--db", remote: str | None = None) -> int | None:
    """A usage error for a malformed --db (or $OVN_NB_DB) before anything connects."""
    try:
        parse_remotes(args.db if remote is None else remote)
    except BadRemote as exc:
        print(f"ovn-lbc: {args.command}: {option}: {exc}", file=sys.stderr)
        return _usage(args)
    return None


def _database_failure(command: str, exc: OvsdbError) -> int:
    from .apply import OutcomeUnknown, WaitFailed

    print(f"ovn-lbc: {command}: {exc}", file=sys.stderr)
    if isinstance(exc, WaitFailed):
        return EXIT_WAIT
    return EXIT_UNKNOWN if isinstance(exc, OutcomeUnknown) else EXIT_DATABASE


def _plan(checked: CheckedInput, args: argparse.Namespace, early: EarlyRead | None = None) -> int:
    from .apply import plan_against, plan_live
    from .emit.ovsdb import plan_json_pieces
    from .emit.plan_json import render_plan_json
    from .emit.plan_text import render_plan
    from .ovsdb.dumps import DumpError, state_from_dump

    inputs = _input_names(args.files)
    try:
        if args.from_dump is not None:
            state = state_from_dump(_read_file(args.from_dump, args.max_reply))
            plan = plan_against(checked, state, adopt=args.adopt, destroy=args.destroy)
            against = args.from_dump
        else:
            plan, against = plan_live(
                checked,
                args.db,
                ssl_files=_ssl(args),
                adopt=args.adopt,
                destroy=args.destroy,
                limits=_limits(args),
                early=early,
            )
    except (_Unreadable, DumpError) as exc:
        print(f"ovn-lbc: plan: cannot read {args.from_dump}: {exc}", file=sys.stderr)
        return _usage(args)
    except OvsdbError as exc:
        return _database_failure("plan", exc)
    if args.format == "json":
        text: str | Iterable[str] = plan_json_pieces(plan, inputs, pretty=args.pretty)
    elif args.format == "plan-json":
        text = render_plan_json(plan, inputs, against, pretty=args.pretty)
    else:
        text = render_plan(plan, inputs, against)
    if _write_or_fail(text, args.output) != EXIT_OK:
        return _usage(args)
    return EXIT_CHANGES_PENDING if args.detailed_exitcode and plan else EXIT_OK


def _read_saved_plan(args: argparse.Namespace) -> list[Any] | int:
    """The saved plan's params, checked before connecting; or the exit status of a refusal."""
    from .saved_plan import saved_plan_problem

    try:
        text = _read_file(args.plan_file, args.max_reply)
        params = json.loads(text)
    except _Unreadable as exc:
        print(f"ovn-lbc: apply: cannot read {args.plan_file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON, or an int of too many digits
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        print(f"ovn-lbc: apply: cannot read {args.plan_file}: not JSON: {reason}", file=sys.stderr)
        return EXIT_USAGE
    if (problem := saved_plan_problem(params)) is not None:
        print(f"ovn-lbc: apply: {args.plan_file} is not a saved plan: {problem}", file=sys.stderr)
        return EXIT_USAGE
    assert isinstance(params, list)
    return params


def _apply(
    checked: CheckedInput | None,
    args: argparse.Namespace,
    *,
    destroy: bool = False,
    early: EarlyRead | None = None,
    memo: Run | None = None,
) -> int:
    from .apply import apply_compilation, apply_saved_plan

    try:
        if checked is None:
            params = _read_saved_plan(args)
            if isinstance(params, int):
                return params
            report = apply_saved_plan(params, args.db, ssl_files=_ssl(args), wait=args.wait, limits=_limits(args))
        else:
            report = apply_compilation(
                checked,
                _input_names(args.files),
                args.db,
                ssl_files=_ssl(args),
                adopt=getattr(args, "adopt", False),
                destroy=destroy,
                wait=args.wait,
                limits=_limits(args),
                progress=sys.stderr.isatty(),
                early=early,
            )
    except OvsdbError as exc:
        return _database_failure(args.command, exc)
    if report.operations == 0:
        if (
            memo is not None
            and checked is not None
            and not checked.warnings
            and report.unchanged_fingerprint is not None
            and memo.compiled_these(checked.sources)
        ):
            from .unchanged import remember

            remember(memo.digest, report.unchanged_fingerprint)
        print(f"ovn-lbc: {args.command}: no changes; nothing sent to {report.remote}", file=sys.stderr)
    else:
        print(
            f"ovn-lbc: {args.command}: {report.summary} Applied in one transaction of {report.operations} "
            f"operations to {report.remote} ({report.seconds:.2f} s)",
            file=sys.stderr,
        )
    return EXIT_OK


def _write_or_fail(text: str | Iterable[str], output: str | None, *, executable: bool = False) -> int:
    try:
        _write_output(text, output, executable=executable)
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except OSError as exc:
        where = "standard output" if output in (None, "-") else output
        print(f"ovn-lbc: cannot write {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _fmt(files: Sequence[str], *, check: bool) -> int:
    from .frontend import read_source
    from .frontend.dsl_format import format_dsl

    failures: list[Diagnostic] = []
    sources = SourceRegistry()
    would_change: list[str] = []
    unwritable = False
    for path in files:
        source = read_source(path)
        if isinstance(source, Diagnostic):
            failures.append(source)
            continue
        sources.add(source)
        try:
            formatted = format_dsl(source)
        except CompileError as exc:
            failures.extend(exc.diagnostics)
            continue
        if path == "-":
            sys.stdout.write(formatted)
        elif formatted != source.text:
            if not check:
                try:
                    _write_output(formatted, path, executable=False)
                except OSError as exc:
                    print(f"ovn-lbc: fmt: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
                    unwritable = True
                    continue
            would_change.append(path)
    if failures:
        _print_diagnostics(CompileError(failures, sources))
    verb = "would reformat" if check else "reformatted"
    for path in would_change:
        print(f"ovn-lbc: {verb} {path}", file=sys.stderr)
    if unwritable:
        return EXIT_USAGE  # like any output that cannot be written
    return EXIT_INVALID if failures or (check and would_change) else EXIT_OK


def _input_names(files: Sequence[str]) -> list[str]:
    return [os.path.normpath(f) if f != "-" else "<stdin>" for f in files]


def _seconds(text: str) -> float:
    """A --timeout: a positive, finite number of seconds (nan, inf and 0 would never or always expire)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: the timeout must be a positive, finite number of seconds")
    return value


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(total=args.timeout, max_reply=args.max_reply)


def _ovn_version(text: str) -> OvnVersion:
    version = parse_ovn_version(text)
    if isinstance(version, str):
        raise argparse.ArgumentTypeError(version)
    return version


def _asks_detailed_exitcode(parser: argparse.ArgumentParser, words: Sequence[str]) -> bool:
    """Whether ``words`` are a plan command with --detailed-exitcode, read before
    parsing, so that a usage error argparse finds in them exits 1 as the flag
    promises. An abbreviation counts as argparse reads it (a unique prefix)."""
    positionals = [word for word in words if not word.startswith("-")]
    if not positionals or positionals[0] != "plan":
        return False
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = [name for name in commands.choices["plan"]._option_string_actions if name.startswith("--")]
    flag = "--detailed-exitcode"
    for word in words[list(words).index("plan") + 1 :]:
        if word == "--":
            break
        name = word.partition("=")[0]
        if name.startswith("--") and [option for option in options if option.startswith(name)] == [flag]:
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:
        if exc.code == EXIT_USAGE and _asks_detailed_exitcode(parser, words):
            raise SystemExit(EXIT_INVALID) from None
        raise
    try:
        return _main(parser, args)
    except KeyboardInterrupt as exc:
        # One line, not a traceback; what the interrupt left (apply.Interrupted says) or, before
        # anything was sent, that nothing was written.
        print(f"ovn-lbc: {args.command}: {str(exc) or 'interrupted; nothing was written'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`ovn-lbc compile ... | head`): what is left has
        # nowhere to go. Point stdout at /dev/null so the interpreter's final
        # flush does not fail again, and exit as a shell reports SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "schema":
        from .emit.plan_json import plan_json_schema

        chosen = plan_json_schema() if args.which == "plan-json" else schema()
        sys.stdout.write(json.dumps(chosen, indent=2) + "\n")
        return EXIT_OK
    if args.command == "graph":
        return _graph(args)
    if args.command == "fmt":
        return _fmt(args.files, check=args.check)
    if args.command == "import":
        return _import(args)
    if args.command in ("status", "doctor"):
        return _health(args)
    if args.command == "apply" and bool(args.files) == bool(args.plan_file):
        parser.error("apply needs FILE... or --plan-file PLAN (not both)")
    live = args.command in ("apply", "destroy") or (args.command == "plan" and args.from_dump is None)
    if live and (usage := _check_remote(args)) is not None:
        return usage
    if args.command == "apply" and args.plan_file:
        return _apply(None, args)
    early = None
    memo = _memo_of(args)
    if live:
        from .apply import EarlyRead
        from .unchanged import recall

        # The database is read in a thread while the files compile (two cores); a
        # bad file is still exit 1 before anything the read found is looked at.
        expected = recall(memo.digest) if memo is not None else None
        early = EarlyRead(args.db, ssl_files=_ssl(args), limits=_limits(args), expected=expected)
        if early.unchanged():
            # The same files and ovn-lbc met this very database and planned nothing (compiler.unchanged).
            print(f"ovn-lbc: {args.command}: no changes; nothing sent to {early.remote}", file=sys.stderr)
            return EXIT_OK
    try:
        # The bulk commands make millions of objects and no cycles: the collector
        # waits until the end (compiler.gcpause).
        with paused_gc():
            return _compile_and_run(args, early, memo)
    finally:
        if early is not None:
            early.abandon()


def _memo_of(args: argparse.Namespace) -> Run | None:
    """For ``apply FILE...``: the run's identity, so an unchanged re-apply can end early."""
    if args.command != "apply" or not args.files:
        return None
    from .frontend import MAX_INPUT_BYTES
    from .unchanged import Run

    options = {"adopt": args.adopt, "input_format": args.input_format, "ovn_version": str(args.ovn_version)}
    return Run.of(args.command, options, args.files, MAX_INPUT_BYTES)


def _compile_and_run(args: argparse.Namespace, early: EarlyRead | None, memo: Run | None = None) -> int:
    planning = args.command in ("plan", "apply", "destroy")
    try:
        # Planning checks the file before the database's answer is looked at; the
        # checks that need the database's facts run once they are read (compiler.compilation).
        compiled: CheckedInput | Compilation
        fast = _prints_no_location(args)
        if planning:
            compiled = check_files(
                args.files,
                input_format=args.input_format,
                against_database=True,
                ovn_version=args.ovn_version,
                fast=fast,
            )
        else:
            compiled = compile_files(
                args.files, input_format=args.input_format, ovn_version=args.ovn_version, fast=fast
            )
        if compiled.warnings:
            print(compiled.sources.render_all(sort_diagnostics(compiled.warnings)), file=sys.stderr)
        if isinstance(compiled, CheckedInput):
            if args.command == "plan":
                return _plan(compiled, args, early)
            return _apply(compiled, args, destroy=args.command == "destroy", early=early, memo=memo)
        return _run(compiled, args)
    except CompileError as exc:  # the input, or (when planning) the input against the database
        _print_diagnostics(exc)
        return EXIT_INVALID


def _prints_no_location(args: argparse.Namespace) -> bool:
    """Whether the command prints no source location when the files have no
    diagnostic: then it may take the fast path (compiler.compilation), which
    goes back to the located one by itself for any diagnostic. The nbctl
    script's comments and a plan for people or tools name source lines."""
    if args.command in ("check", "apply", "destroy"):
        return True
    return args.command in ("compile", "plan") and args.format == "json"


def _import(args: argparse.Namespace) -> int:
    from .apply import read_database
    from .importers.run import ImportBug, import_file

    if args.source is None and args.file is None and (args.db is not None or args.from_dump is not None):
        args.source = "db"
    if args.source == "db":
        return _import_database(args)
    if args.source is None:
        print(
            "ovn-lbc: import: say what FILE is: --from keepalived or --from ipvsadm "
            "(or import a database's rows: --db REMOTE or --from-dump DUMP)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.from_dump is not None or args.match:
        print("ovn-lbc: import: --from-dump and --match are for --from db", file=sys.stderr)
        return EXIT_USAGE
    if args.file is None or args.network is None:
        print(f"ovn-lbc: import: --from {args.source} needs FILE and --network NETFILE", file=sys.stderr)
        return EXIT_USAGE
    database = None
    if args.db is not None:
        if (usage := _check_remote(args)) is not None:
            return usage
        try:
            database = read_database(args.db, ssl_files=_ssl(args), limits=Limits(total=args.timeout))
        except OvsdbError as exc:
            return _database_failure("import", exc)
    try:
        imported = import_file(
            args.source,
            args.file,
            network_path=args.network,
            database=database,
            output_format=args.to,
            strict=args.strict,
        )
    except CompileError as exc:
        _print_diagnostics(exc)
        return EXIT_INVALID
    except ImportBug as exc:
        print(f"ovn-lbc: import: internal error, please report it: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if imported.warnings:
        print(imported.sources.render_all(imported.warnings), file=sys.stderr)
    status = _write_or_fail(imported.text, args.output)
    if status != EXIT_OK:
        return status
    count = imported.load_balancers
    summary = f"{count} load balancer{'s' if count != 1 else ''} imported"
    if imported.left_out:
        print(f"ovn-lbc: import: {summary}; some of the input is left out (see the warnings)", file=sys.stderr)
        return EXIT_WAIT
    print(f"ovn-lbc: import: {summary}", file=sys.stderr)
    return EXIT_OK


def _import_database(args: argparse.Namespace) -> int:
    """import --from db: the rows of a live database or a dump as a file; 4 when some are left out."""
    from .apply import read_database
    from .importers.run import ImportBug, import_rows
    from .ovsdb.dumps import DumpError, state_from_dump

    if args.file is not None or args.network is not None or args.strict:
        print("ovn-lbc: import: --from db takes no FILE, --network or --strict", file=sys.stderr)
        return EXIT_USAGE
    if (args.db is None) == (args.from_dump is None):
        print("ovn-lbc: import: --from db needs --db REMOTE or --from-dump DUMP (one of them)", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.from_dump is not None:
            state = state_from_dump(_read_file(args.from_dump, args.max_reply))
        else:
            if (usage := _check_remote(args)) is not None:
                return usage
            state, _ = read_database(
                args.db, ssl_files=_ssl(args), limits=Limits(total=args.timeout, max_reply=args.max_reply)
            )
    except (_Unreadable, DumpError) as exc:
        print(f"ovn-lbc: import: cannot read {args.from_dump}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OvsdbError as exc:
        return _database_failure("import", exc)
    try:
        imported = import_rows(state, args.match, output_format=args.to)
    except ImportBug as exc:
        print(f"ovn-lbc: import: internal error, please report it: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for left in imported.left_out:
        print(f"ovn-lbc: import: {left.line()}", file=sys.stderr)
    for uuid, name in imported.named:
        print(f"ovn-lbc: import: nameless row (_uuid {uuid}): named {name}; apply --adopt renames it", file=sys.stderr)
    status = _write_or_fail(imported.text, args.output)
    if status != EXIT_OK:
        return status
    summary = f"{imported.rows} Load_Balancer row{'s' if imported.rows != 1 else ''}"
    if imported.nats:
        summary += f" and {imported.nats} NAT row{'s' if imported.nats != 1 else ''}"
    if imported.left_out:
        count = len(imported.left_out)
        print(f"ovn-lbc: import: {summary} imported; {count} row{'s' if count != 1 else ''} left out", file=sys.stderr)
        return EXIT_WAIT
    print(f"ovn-lbc: import: {summary} imported", file=sys.stderr)
    return EXIT_OK


def _health(args: argparse.Namespace) -> int:
    """status and doctor: check the files, read both databases, report; nothing is written."""
    from .health.doctor import diagnose
    from .health.examine import examine
    from .health.render import doctor_json, doctor_text, status_json, status_text, unknown_json
    from .health.status import backend_statuses, exit_status

    for option, remote in (("--db", args.db), ("--sb", args.sb)):
        try:
            parse_remotes(remote)
        except BadRemote as exc:
            print(f"ovn-lbc: {args.command}: {option}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        checked = check_files(
            args.files, input_format=args.input_format, against_database=True, ovn_version=args.ovn_version
        )
    except CompileError as exc:
        _print_diagnostics(exc)
        return EXIT_INVALID
    if checked.warnings:
        print(checked.sources.render_all(sort_diagnostics(checked.warnings)), file=sys.stderr)
    try:
        joined, compilation = examine(checked, args.db, args.sb, ssl_files=_ssl(args), limits=_limits(args))
    except OvsdbError as exc:
        print(f"ovn-lbc: {args.command}: {exc}", file=sys.stderr)
        if args.format == "json" and args.command == "status":
            _write_or_fail(unknown_json(str(exc)), None)
        return EXIT_DATABASE
    nb, sb = joined.observed.nb_remote, joined.observed.sb_remote
    if args.command == "status":
        statuses = backend_statuses(joined)
        code = exit_status(statuses)
        text = (
            status_json(statuses, nb, sb)
            if args.format == "json"
            else status_text(statuses, _input_names(args.files), nb, sb)
        )
    else:
        findings = diagnose(joined)
        code = EXIT_UNHEALTHY if any(finding.is_problem for finding in findings) else EXIT_OK
        text = (
            doctor_json(findings, nb, sb)
            if args.format == "json"
            else doctor_text(findings, compilation.sources, nb, sb)
        )
    written = _write_or_fail(text, None)
    return written if written != EXIT_OK else code


def _sandbox(compilation: Compilation, args: argparse.Namespace) -> int:
    from .datapath import DatapathError, datapath_problem
    from .sandbox import SandboxError, search_path, show_in_sandbox
    from .traffic import run_traffic

    if (args.fail or args.format != "text" or args.connections != 20) and not args.traffic:
        print("ovn-lbc: sandbox: --fail, --connections and --format go with --traffic", file=sys.stderr)
        return EXIT_USAGE
    inputs = _input_names(args.files)
    problem = datapath_problem(search_path())
    try:
        if problem is None:
            output = run_traffic(
                compilation,
                inputs,
                traffic=args.traffic,
                connections=args.connections,
                fail=args.fail,
                output_format=args.format,
            )
        elif args.traffic:
            print(f"ovn-lbc: sandbox: no traffic without a datapath: {problem}", file=sys.stderr)
            return EXIT_DATABASE
        else:
            print(f"ovn-lbc: sandbox: without a datapath ({problem}), no probe is sent", file=sys.stderr)
            output = show_in_sandbox(compilation, inputs)
    except (SandboxError, DatapathError) as exc:
        print(f"ovn-lbc: sandbox: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    sys.stdout.write(output)
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    """Offline: the files' rows. With --db: compiled against the Northbound, the
    backends coloured by the Southbound's monitors; nothing is written to either."""
    from .emit.graph import build_graph, render_graph
    from .live_graph import read_live

    southbound = args.sb or os.environ.get(SB_REMOTE_VARIABLE) or DEFAULT_SB_REMOTE
    if args.db is None and args.sb is not None:
        print("ovn-lbc: graph: --sb goes with --db", file=sys.stderr)
        return EXIT_USAGE
    if args.db is not None:
        for option, remote in (("--db", args.db), ("--sb", southbound)):
            if (usage := _check_remote(args, option, remote)) is not None:
                return usage
    statuses = None
    try:
        if args.db is None:
            compilation = compile_files(args.files, input_format=args.input_format, ovn_version=args.ovn_version)
        else:
            checked = check_files(
                args.files, input_format=args.input_format, against_database=True, ovn_version=args.ovn_version
            )
            live = read_live(checked, args.db, southbound, ssl_files=_ssl(args), limits=_limits(args))
            compilation, statuses, southbound = live.compilation, live.statuses, live.southbound
    except CompileError as exc:
        _print_diagnostics(exc)
        return EXIT_INVALID
    except OvsdbError as exc:
        return _database_failure("graph", exc)
    if compilation.warnings:
        print(compilation.sources.render_all(sort_diagnostics(compilation.warnings)), file=sys.stderr)
    graph = build_graph(
        compilation.document,
        compilation.changes,
        _input_names(args.files),
        statuses=statuses,
        statuses_from=southbound,
    )
    return _write_or_fail(render_graph(graph, args.format), args.output)


def _positive_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError(f"expected a count from 1 to 10000, not {text!r}")
    return int(text)


def _run(compilation: Compilation, args: argparse.Namespace) -> int:
    if args.command == "check":
        rows, nats = len(compilation.changes.rows), len(compilation.changes.nats)
        files = escape_controls(", ".join(args.files))  # a name cannot drive the terminal
        counted = f"{rows} Load_Balancer row{'s' if rows != 1 else ''}"
        if nats:
            counted += f", {nats} NAT row{'s' if nats != 1 else ''}"
        print(f"ovn-lbc: {files}: ok ({counted})", file=sys.stderr)
        return EXIT_OK
    if args.command == "convert":
        from .emit.dsl import document_to_dsl
        from .emit.yaml import document_to_yaml

        converted = (document_to_dsl if args.to == "dsl" else document_to_yaml)(compilation.document)
        return _write_or_fail(converted, args.output)
    if args.command == "sandbox":
        return _sandbox(compilation, args)
    inputs = _input_names(args.files)
    # Imported here, not at the top: `check` and `apply` start faster without jinja2 and the emitters.
    from .emit.nbctl import emit_nbctl
    from .emit.ovsdb import emit_json_pieces

    output: str | Iterable[str]
    if args.format == "json":
        output = emit_json_pieces(compilation.changes, inputs, pretty=args.pretty)
    else:
        # A value too long for one argument (E326) fails the script: write
        # nothing; a split script (W004) is not atomic: say so, then write it.
        found: list[Diagnostic] = []
        output = emit_nbctl(compilation.changes, inputs, diagnostics=found)
        if any(d.is_error for d in found):
            raise CompileError(found, compilation.sources)
        if found:
            print(compilation.sources.render_all(found), file=sys.stderr)
    return _write_or_fail(output, args.output, executable=args.format == "nbctl")
