"""Status and findings printed: text for people, JSON for scripts.

Text quotes the file (names, lines) with control characters escaped, as
diagnostics do; JSON is built as plain dicts and serialised once, keys in a
fixed order. A doctor's findings print as diagnostics print, with the
source line, a caret and the fix.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..diagnostics import MAX_RENDERED_DIAGNOSTICS, SourceRegistry, bounded_message, escape_controls, excerpt
from .findings import Finding
from .status import JSON_NAMES, NOT_APPLIED, BackendStatus, counts, exit_status, summary

PLAN_HINT = "not applied: `ovn-lbc plan` with the same files shows what `ovn-lbc apply` would change"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        (indent + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))).rstrip()
        for line in (header, *rows)
    ]


def status_text(statuses: tuple[BackendStatus, ...], inputs: Sequence[str], nb: str, sb: str) -> str:
    lines = [escape_controls(f"# ovn-lbc status: {', '.join(inputs)} against {nb} and {sb}"), ""]
    by_row: dict[str, dict[tuple[str, str], list[BackendStatus]]] = {}
    for status in statuses:
        by_row.setdefault(status.load_balancer, {}).setdefault((status.vip, status.protocol), []).append(status)
    for row, vips in by_row.items():
        lines.append(escape_controls(f"load balancer {row}"))
        for (vip, protocol), members in vips.items():
            lines.append(f"  VIP {vip} {protocol}")
            cells = [
                [escape_controls(s.backend), s.target, s.state, "yes" if s.in_flows else "no", s.where] for s in members
            ]
            lines.extend(_table(["backend", "target", "monitor", "in flows", "line"], cells, "    "))
        lines.append("")
    lines.append(escape_controls(summary(statuses)))
    if any(status.state == NOT_APPLIED for status in statuses):
        lines.append(PLAN_HINT)
    return "\n".join(lines) + "\n"


def status_json(statuses: tuple[BackendStatus, ...], nb: str, sb: str) -> str:
    code = exit_status(statuses)
    found = counts(statuses)
    document: dict[str, Any] = {
        "state": "OK" if code == 0 else "CRITICAL",
        "exit_status": code,
        "summary": summary(statuses),
        "northbound": nb,
        "southbound": sb,
        "counts": {"backends": len(statuses), **{JSON_NAMES[state]: count for state, count in found.items()}},
        "backends": [
            {
                "load_balancer": s.load_balancer,
                "vip": s.vip,
                "protocol": s.protocol,
                "backend": s.backend,
                "target": s.target,
                "file": s.span.file,
                "line": s.span.line,
                "monitor": JSON_NAMES[s.state],
                "in_flows": s.in_flows,
            }
            for s in statuses
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def unknown_json(reason: str) -> str:
    """What ``--format json`` prints when the databases could not be read (exit status 3)."""
    return json.dumps({"state": "UNKNOWN", "exit_status": 3, "summary": reason}, indent=2) + "\n"


def _finding_text(finding: Finding, sources: SourceRegistry) -> str:
    severity = "error" if finding.is_problem else "note"
    lines = [escape_controls(f"{finding.span}: {severity}[{finding.code}]: {bounded_message(finding.message)}")]
    source = sources.get(finding.span.file)
    shown = excerpt(source, finding.span.line, finding.span.column) if source else None
    if shown is not None:
        text, prefix = shown
        gutter = str(finding.span.line)
        lines.append(f" {gutter} | {text}")
        lines.append(f" {' ' * len(gutter)} | {prefix}^")
    if finding.fix:
        lines.append(escape_controls(f"  = fix: {bounded_message(finding.fix)}"))
    return "\n".join(lines)


def _tally(findings: Sequence[Finding]) -> tuple[int, int]:
    problems = sum(finding.is_problem for finding in findings)
    return problems, len(findings) - problems


def doctor_text(findings: tuple[Finding, ...], sources: SourceRegistry, nb: str, sb: str) -> str:
    parts = [_finding_text(finding, sources) for finding in findings[:MAX_RENDERED_DIAGNOSTICS]]
    rest = findings[MAX_RENDERED_DIAGNOSTICS:]
    if rest:
        by_code = sorted(Counter(f.code for f in rest).items(), key=lambda item: (-item[1], item[0]))
        parts.append(f"and {len(rest)} more: " + ", ".join(f"{code} x {count}" for code, count in by_code))
    problems, notes = _tally(findings)
    said = "no problems found" if not problems else f"{problems} problem{'s' if problems != 1 else ''}"
    if notes:
        said += f", {notes} note{'s' if notes != 1 else ''}"
    parts.append(escape_controls(f"ovn-lbc doctor: {said} (Northbound {nb}, Southbound {sb})"))
    return "\n".join(parts) + "\n"


def doctor_json(findings: tuple[Finding, ...], nb: str, sb: str) -> str:
    problems, notes = _tally(findings)
    document = {
        "exit_status": 4 if problems else 0,
        "problems": problems,
        "notes": notes,
        "northbound": nb,
        "southbound": sb,
        "findings": [
            {
                "code": f.code,
                "severity": "problem" if f.is_problem else "note",
                "file": f.span.file,
                "line": f.span.line,
                "column": f.span.column,
                "load_balancer": f.load_balancer,
                "vip": f.vip,
                "backend": f.backend,
                "target": f.target,
                "message": f.message,
                "fix": f.fix,
            }
            for f in findings
        ],
    }
    return json.dumps(document, indent=2) + "\n"
