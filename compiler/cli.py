"""The ``ovn-lbc`` command line. Exit codes: 0 ok, 1 invalid input, 2 usage."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence

from .compilation import CheckedInput, Compilation, check_files, compile_files
from .diagnostics import CompileError, Diagnostic, SourceRegistry, sort_diagnostics
from .emit.nbctl import emit_nbctl
from .emit.ovsdb import emit_json
from .frontend import INPUT_FORMATS
from .frontend.document import schema
from .ovn_versions import OvnVersion, parse_ovn_version
from .ovsdb.client import DEFAULT_REMOTE, OvsdbError, SslFiles
from .version import __version__

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3  # the database refused the changes, or OVN is missing (sandbox)

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
                      --from-dump FILE); --format json: the transaction itself
  apply FILE...       plan against a Northbound database and apply the plan in one
                      guarded transaction (--plan-file: apply a saved plan)
  destroy FILE...     remove every row the files' networks own, and nothing else
  sandbox FILE...     apply the files to a throwaway OVN and show the result
  fmt FILE...         rewrite DSL files in the canonical layout (--check: only report)
  convert FILE...     print the files' model as DSL or YAML (--to dsl|yaml)
  schema              print the JSON Schema of the input format

input:
  Files ending in .json are JSON, .lb the DSL, anything else YAML; `-` reads
  standard input. Several files form one document. The formats are described
  in docs/input-format.md and docs/dsl.md of the source tree.

diagnostics:
  FILE:LINE:COL: error[CODE]: message, then the source line and a caret.
  Every error of a run is reported at once.

exit status:
  0  success (warnings may have been printed)
  1  the input is invalid, or conflicts with the database; nothing was written
  2  usage error (bad option, missing file argument)
  3  the database refused the changes or moved since it was read (nothing
     was applied), or OVN is missing (sandbox)

environment:
  OVN_NB_DB  the default remote of `apply`; read by ovn-nbctl when a
             generated script runs.

examples:
  ovn-lbc check samples/ipv4-healthcheck.yaml
  ovn-lbc compile samples/ipv4-healthcheck.yaml -o lb.sh && sh lb.sh
  ovn-lbc compile samples/ipv4-healthcheck.yaml --format json -o txn.json &&
      ovsdb-client transact "$OVN_NB_DB" "$(cat txn.json)"
  ovn-lbc plan samples/ipv4-healthcheck.yaml --db "$OVN_NB_DB"
  ovn-lbc plan samples/ipv4-healthcheck.yaml --from-dump nb-backup.db --format json -o plan.json &&
      ovn-lbc apply --plan-file plan.json
  ovn-lbc apply samples/ipv4-healthcheck.yaml --wait=sb
  ovn-lbc fmt --check samples/*.lb
  ovn-lbc convert samples/ipv4-healthcheck.yaml --to dsl > ipv4-healthcheck.lb
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

    def database_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--db",
            metavar="REMOTE",
            default=os.environ.get("OVN_NB_DB") or DEFAULT_REMOTE,
            help="unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT; a comma list for a clustered database "
            f"(default: $OVN_NB_DB, else {DEFAULT_REMOTE})",
        )
        sub.add_argument("-p", "--private-key", metavar="FILE", help="SSL private key")
        sub.add_argument("-c", "--certificate", metavar="FILE", help="SSL certificate")
        sub.add_argument("-C", "--ca-cert", metavar="FILE", help="SSL CA certificate")

    def wait_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--wait",
            choices=("none", "sb", "hv"),
            default="none",
            help="after committing, wait for ovn-northd (sb) or every hypervisor (hv), like ovn-nbctl --wait",
        )
        sub.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="for --wait (default 60)")

    adopt_help = "take over rows of the same name that ovn-lbc does not own (they get its ownership mark)"

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
        choices=("text", "json"),
        default="text",
        help="text: for people (default); json: exactly the transaction apply would send "
        "(apply it later with `apply --plan-file`)",
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
        help="send the transaction `plan --format json` wrote instead of planning now; refused, "
        "changing nothing, when the database moved since",
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

    sandbox = commands.add_parser(
        "sandbox",
        help="try files on a throwaway OVN and show what it does with them",
        description="Start a throwaway OVN (NB and SB ovsdb-server and ovn-northd in a temp dir, "
        "no root services), build each network's router, switch and ports, apply the changes "
        "as `ovn-lbc apply` does, and print the Load_Balancer rows, the health checks' Service_Monitor rows and "
        "the load-balancing logical flows. Everything started is stopped afterwards.",
    )
    input_arguments(sandbox)

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

    commands.add_parser(
        "schema",
        help="print the input format's JSON Schema",
        description="Print the JSON Schema of input format version 1, for editors and validators.",
    )
    return parser


def _print_diagnostics(error: CompileError) -> None:
    print(error.render(), file=sys.stderr)
    errors = len(error.errors)
    warnings = len(error.diagnostics) - errors
    summary = f"{errors} error{'s' if errors != 1 else ''}"
    if warnings:
        summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
    print(f"ovn-lbc: {summary}; nothing was written", file=sys.stderr)


def _write_output(text: str, output: str | None, *, executable: bool) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    # Write beside the target and rename, so a reader never sees half a script.
    directory = os.path.dirname(os.path.abspath(output))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".ovn-lbc-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temporary, 0o755 if executable else 0o644)
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise


def _ssl(args: argparse.Namespace) -> SslFiles:
    return SslFiles(args.private_key, args.certificate, args.ca_cert)


def _plan(checked: CheckedInput, args: argparse.Namespace) -> int:
    from .apply import plan_against, plan_live
    from .emit.ovsdb import build_plan_transaction, transaction_json
    from .emit.plan_text import render_plan
    from .ovsdb.state import DumpError, state_from_dump

    inputs = _input_names(args.files)
    try:
        if args.from_dump is not None:
            with open(args.from_dump, encoding="utf-8") as handle:
                state = state_from_dump(handle.read())
            plan = plan_against(checked, state, adopt=args.adopt, destroy=args.destroy)
            against = args.from_dump
        else:
            plan, against = plan_live(checked, args.db, ssl_files=_ssl(args), adopt=args.adopt, destroy=args.destroy)
    except (OSError, UnicodeDecodeError, DumpError) as exc:
        print(f"ovn-lbc: plan: cannot read {args.from_dump}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return EXIT_USAGE
    except OvsdbError as exc:
        print(f"ovn-lbc: plan: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    if args.format == "json":
        text = transaction_json(build_plan_transaction(plan, inputs).params, pretty=args.pretty)
    else:
        text = render_plan(plan, inputs, against)
    return _write_or_fail(text, args.output)


def _apply(checked: CheckedInput | None, args: argparse.Namespace, *, destroy: bool = False) -> int:
    from .apply import apply_compilation, apply_saved_plan, saved_plan_problem

    remote = args.db
    try:
        if checked is None:
            try:
                with open(args.plan_file, encoding="utf-8") as handle:
                    params = json.load(handle)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                print(f"ovn-lbc: apply: cannot read {args.plan_file}: {exc}", file=sys.stderr)
                return EXIT_USAGE
            if (problem := saved_plan_problem(params)) is not None:
                print(f"ovn-lbc: apply: {args.plan_file} is not a saved plan: {problem}", file=sys.stderr)
                return EXIT_USAGE
            report = apply_saved_plan(params, remote, ssl_files=_ssl(args), wait=args.wait, timeout=args.timeout)
        else:
            report = apply_compilation(
                checked,
                _input_names(args.files),
                remote,
                ssl_files=_ssl(args),
                adopt=getattr(args, "adopt", False),
                destroy=destroy,
                wait=args.wait,
                timeout=args.timeout,
                progress=sys.stderr.isatty(),
            )
    except OvsdbError as exc:
        print(f"ovn-lbc: {args.command}: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    if report.operations == 0:
        print(f"ovn-lbc: {args.command}: no changes; nothing sent to {report.remote}", file=sys.stderr)
    else:
        print(
            f"ovn-lbc: {args.command}: {report.summary} Applied in one transaction of {report.operations} "
            f"operations to {report.remote} ({report.seconds:.2f} s)",
            file=sys.stderr,
        )
    return EXIT_OK


def _write_or_fail(text: str, output: str | None, *, executable: bool = False) -> int:
    try:
        _write_output(text, output, executable=executable)
    except OSError as exc:
        print(f"ovn-lbc: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _fmt(files: Sequence[str], *, check: bool) -> int:
    from .frontend import read_source
    from .frontend.dsl_format import format_dsl

    failures: list[Diagnostic] = []
    sources = SourceRegistry()
    would_change: list[str] = []
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
            would_change.append(path)
            if not check:
                _write_output(formatted, path, executable=False)
    if failures:
        _print_diagnostics(CompileError(failures, sources))
        return EXIT_INVALID
    verb = "would reformat" if check else "reformatted"
    for path in would_change:
        print(f"ovn-lbc: {verb} {path}", file=sys.stderr)
    return EXIT_INVALID if check and would_change else EXIT_OK


def _input_names(files: Sequence[str]) -> list[str]:
    return [os.path.normpath(f) if f != "-" else "<stdin>" for f in files]


def _ovn_version(text: str) -> OvnVersion:
    version = parse_ovn_version(text)
    if isinstance(version, str):
        raise argparse.ArgumentTypeError(version)
    return version


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "schema":
        sys.stdout.write(json.dumps(schema(), indent=2) + "\n")
        return EXIT_OK
    if args.command == "fmt":
        return _fmt(args.files, check=args.check)
    if args.command == "apply" and bool(args.files) == bool(args.plan_file):
        parser.error("apply needs FILE... or --plan-file PLAN (not both)")
    if args.command == "apply" and args.plan_file:
        return _apply(None, args)
    planning = args.command in ("plan", "apply", "destroy")
    try:
        # Planning checks the file before connecting; the checks that need the
        # database's facts run once they are read (compiler.compilation).
        compiled: CheckedInput | Compilation
        if planning:
            compiled = check_files(
                args.files, input_format=args.input_format, against_database=True, ovn_version=args.ovn_version
            )
        else:
            compiled = compile_files(args.files, input_format=args.input_format, ovn_version=args.ovn_version)
        if compiled.warnings:
            print(compiled.sources.render_all(sort_diagnostics(compiled.warnings)), file=sys.stderr)
        if isinstance(compiled, CheckedInput):
            if args.command == "plan":
                return _plan(compiled, args)
            return _apply(compiled, args, destroy=args.command == "destroy")
        return _run(compiled, args)
    except CompileError as exc:  # the input, or (when planning) the input against the database
        _print_diagnostics(exc)
        return EXIT_INVALID


def _run(compilation: Compilation, args: argparse.Namespace) -> int:
    if args.command == "check":
        rows = len(compilation.changes.rows)
        print(
            f"ovn-lbc: {', '.join(args.files)}: ok ({rows} Load_Balancer row{'s' if rows != 1 else ''})",
            file=sys.stderr,
        )
        return EXIT_OK
    if args.command == "convert":
        from .emit.dsl import document_to_dsl
        from .emit.yaml import document_to_yaml

        converted = (document_to_dsl if args.to == "dsl" else document_to_yaml)(compilation.document)
        return _write_or_fail(converted, args.output)
    if args.command == "sandbox":
        from .sandbox import SandboxError, show_in_sandbox

        try:
            sys.stdout.write(show_in_sandbox(compilation, _input_names(args.files)))
        except SandboxError as exc:
            print(f"ovn-lbc: sandbox: {exc}", file=sys.stderr)
            return EXIT_DATABASE
        return EXIT_OK
    inputs = _input_names(args.files)
    if args.format == "json":
        output = emit_json(compilation.changes, inputs, pretty=args.pretty)
    else:
        output = emit_nbctl(compilation.changes, inputs)
    return _write_or_fail(output, args.output, executable=args.format == "nbctl")
