"""One import: keepalived or ipvsadm file + OVN context -> a complete ovn-lbc file.

read the source into services -> translate into the context's networks ->
run the ordinary checks on the model (its spans point into the keepalived
or ipvsadm file, so their findings do too) -> print it with the ``convert``
printers -> read the printed text back with the ordinary front end and
check that it gives the same model. The last step proves the output
compiles; a difference there is a bug of ovn-lbc (ImportBug), never a
mistake of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..checks import CHECKS, run_checks
from ..diagnostics import CompileError, Diagnostic, Severity, SourceRegistry, SourceText, sort_diagnostics
from ..emit.dsl import document_to_dsl
from ..emit.yaml import document_to_yaml
from ..frontend import read_source
from ..frontend.document import load_document
from ..frontend.dsl import load_dsl
from ..gcpause import paused_gc
from ..ovsdb.state import NorthboundState
from .context import read_context, with_database
from .database import LeftOut, import_database
from .ipvsadm import ipvsadm_services
from .keepalived import parse_keepalived
from .keepalived_services import keepalived_services
from .services import VirtualService
from .translate import translate

OUTPUT_FORMATS = ("yaml", "dsl")


class ImportBug(Exception):
    """The printed file does not read back to the model it was printed from."""


@dataclass(frozen=True, slots=True)
class Imported:
    text: str  # the complete ovn-lbc file
    warnings: tuple[Diagnostic, ...]
    sources: SourceRegistry
    left_out: bool  # something of the input is not in the output
    load_balancers: int


def _read_services(source: str, path: str, registry: SourceRegistry) -> tuple[list[VirtualService], list[Diagnostic]]:
    if source == "keepalived":
        statements, diagnostics = parse_keepalived(path, registry)
        services, found = keepalived_services(statements)
        return services, diagnostics + found
    text = read_source(path)
    if isinstance(text, Diagnostic):
        return [], [text]
    registry.add(text)
    return ipvsadm_services(text)


def import_file(
    source: str,
    path: str,
    *,
    network_path: str,
    database: tuple[NorthboundState, str] | None = None,
    output_format: str = "yaml",
    strict: bool = False,
) -> Imported:
    """Import ``path`` (``source``: keepalived | ipvsadm); CompileError with every problem at once."""
    registry = SourceRegistry()
    with paused_gc():
        context, diagnostics = read_context(network_path, registry)
        services, found = _read_services(source, path, registry)
        diagnostics.extend(found)
        if any(d.is_error for d in diagnostics):
            raise CompileError(diagnostics, registry)
        if database is not None:
            context = with_database(context, *database)
        translation = translate(services, context)
        diagnostics.extend(translation.diagnostics)
        if strict:
            # The importer's own findings: what OVN does differently is refused.
            diagnostics = [
                Diagnostic(d.span, d.code, d.message, Severity.ERROR, d.notes)
                if d.code.startswith("K") and d.severity is Severity.WARNING
                else d
                for d in diagnostics
            ]
        diagnostics.extend(run_checks(translation.document, CHECKS))
        if any(d.is_error for d in diagnostics):
            raise CompileError(diagnostics, registry)
        document = translation.document
        text = (document_to_dsl if output_format == "dsl" else document_to_yaml)(document)
        _read_back(text, output_format, document)
    balancers = sum(len(network.load_balancers) for network in document.networks) - sum(
        len(network.load_balancers) for network in context.document.networks
    )
    return Imported(text, tuple(sort_diagnostics(diagnostics)), registry, translation.left_out, balancers)


def _read_back(text: str, output_format: str, document: object) -> None:
    printed = SourceText("<imported>", text)
    reread, diagnostics = load_dsl(printed) if output_format == "dsl" else load_document(printed, "yaml")
    diagnostics.extend(run_checks(reread, CHECKS))
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        registry = SourceRegistry()
        registry.add(printed)
        raise ImportBug("the printed file does not compile:\n" + registry.render_all(errors))
    if reread != document:
        raise ImportBug("the printed file reads back to another model")


@dataclass(frozen=True, slots=True)
class ImportedDatabase:
    text: str  # the complete ovn-lbc file
    left_out: tuple[LeftOut, ...]
    rows: int  # Load_Balancer rows the file describes
    nats: int  # NAT rows (forwards' default targets) it describes
    named: tuple[tuple[str, str], ...] = ()  # (_uuid, name) of the nameless rows it names


def import_rows(
    state: NorthboundState, patterns: Sequence[str] = (), *, output_format: str = "yaml"
) -> ImportedDatabase:
    """A database's rows (``patterns``: fnmatch globs on the row names) as a
    file; it reads back to the model it was printed from (ImportBug if not)."""
    with paused_gc():
        found = import_database(state, patterns)
        text = (document_to_dsl if output_format == "dsl" else document_to_yaml)(found.document)
        _read_back(text, output_format, found.document)
    return ImportedDatabase(text, found.left_out, found.rows, found.nats, found.named)
