"""A doctor's finding, as data: what is wrong, where in the file, and the fix.

Like a diagnostic it has a stable code (D..., compiler/codes.py), a
severity and a span; unlike one it is about the databases, so it also says
which load balancer, VIP and backend it concerns. A problem keeps a health
check from working (exit status 4); a note explains what OVN is doing and
needs no change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Severity, Span
from .joined import Target


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity  # ERROR: a problem; NOTE: how OVN behaves, nothing to fix
    span: Span
    message: str
    fix: str
    load_balancer: str = ""
    vip: str = ""
    backend: str = ""  # the backend's name in the file
    target: str = ""  # the backend as the vips value writes it

    @property
    def is_problem(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        return (self.span.file, self.span.line, self.span.column, self.code, self.load_balancer, self.vip)


def problem(span: Span, code: str, message: str, fix: str, target: Target | None = None, **where: str) -> Finding:
    return _finding(Severity.ERROR, span, code, message, fix, target, where)


def note(span: Span, code: str, message: str, fix: str = "", target: Target | None = None, **where: str) -> Finding:
    return _finding(Severity.NOTE, span, code, message, fix, target, where)


def _finding(
    severity: Severity, span: Span, code: str, message: str, fix: str, target: Target | None, where: dict[str, str]
) -> Finding:
    if target is not None:
        where = {
            "load_balancer": target.row.name,
            "vip": target.vip,
            "backend": target.name,
            "target": target.target,
            **where,
        }
    return Finding(code, severity, span, message, fix, **where)


def backend_words(target: Target) -> str:
    """``backend web1 (10.0.0.2:8080) of VIP 10.0.0.10:80``."""
    return f"backend {target.name} ({target.target}) of VIP {target.vip}"
