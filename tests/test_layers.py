"""The house rules, read from the source: imports only point down the pipeline,
and no module grows past about 600 lines without saying why.

    frontend -> ir <- checks <- lower <- compilation <- plan <- emit <- saved_plan <- apply <- live_graph <- cli
                         facts (the database's facts) -> compilation; ovsdb/ below facts
                                                                   emit <- importers <- cli; apply <- health <- cli

docs/architecture.md draws the same picture; a change to one is a change to both.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compiler"

# Each stage and the stages it builds on directly; what it may import is the
# closure of these. Modules are matched by the longest dotted prefix.
STAGES: dict[str, tuple[str, ...]] = {
    "compiler.diagnostics": (),
    "compiler.codes": (),
    "compiler.resources": (),
    "compiler.gcpause": (),
    "compiler.version": (),
    # Remembers runs that planned nothing, by digest (used by the command line only).
    "compiler.unchanged": ("compiler.version", "compiler.resources", "compiler.diagnostics"),
    "compiler.addresses": (),
    "compiler.ovn_versions": (),
    "compiler.ir": ("compiler.addresses", "compiler.diagnostics", "compiler.ovn_versions"),
    "compiler.frontend": ("compiler.ir", "compiler.resources"),
    "compiler.option_checks": ("compiler.ir",),
    "compiler.pool_checks": ("compiler.ir",),
    "compiler.checks": ("compiler.option_checks", "compiler.pool_checks"),
    "compiler.lower": ("compiler.checks",),
    "compiler.ovsdb": ("compiler.gcpause",),
    "compiler.facts": ("compiler.ir", "compiler.ovsdb"),
    "compiler.compilation": ("compiler.frontend", "compiler.lower", "compiler.facts", "compiler.gcpause"),
    "compiler.plan": ("compiler.compilation",),
    "compiler.emit": ("compiler.plan", "compiler.version"),
    # The top: workflows and commands, over every stage.
    "compiler.saved_plan": ("compiler.emit",),
    "compiler.apply": ("compiler.emit", "compiler.saved_plan"),
    # status and doctor: both databases read, joined to the file's rows (writes nothing).
    "compiler.health": ("compiler.apply",),
    # The sandbox's datapath: Open vSwitch, ovn-controller, namespaces; the
    # agent runs inside the namespaces by file path and imports nothing.
    "compiler.datapath": (),
    "compiler.netns_agent": (),
    "compiler.sandbox": ("compiler.apply", "compiler.datapath"),
    "compiler.traffic": ("compiler.sandbox",),
    # `graph --db`: the Northbound's facts and the Southbound's monitors, read only.
    "compiler.live_graph": ("compiler.apply",),
    # keepalived / ipvsadm -> the model, judged by the checks, printed by emit's printers.
    "compiler.importers": ("compiler.emit",),
    "compiler.cli": (
        "compiler.traffic",
        "compiler.live_graph",
        "compiler.importers",
        "compiler.health",
        "compiler.unchanged",
    ),
    "compiler.manpage": ("compiler.cli",),
    "compiler.__main__": ("compiler.cli",),
}
# The package's own __init__ is the facade for library users; nothing inside imports it.
FACADE = "compiler"
LONG_MODULE_LINES = 600
LONG_MODULE_REASON = "Why this module is long:"


def _closure(stage: str) -> set[str]:
    seen: set[str] = set()
    todo = [stage]
    while todo:
        for below in STAGES[todo.pop()]:
            if below not in seen:
                seen.add(below)
                todo.append(below)
    return seen


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in STAGES:
            return prefix
    return None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(module: str, text: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """Every project module that ``module``'s source imports (in functions too),
    absolute, with its line. ``from . import x`` of a submodule counts as that
    submodule; of anything else, as the package it names."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                is_submodule = _stage_of(submodule) not in (None, _stage_of(target))
                found.append((node.lineno, submodule if is_submodule else target))
    return [(line, name) for line, name in found if name == FACADE or name.startswith(FACADE + ".")]


def layer_violations(module: str, text: str, *, is_package: bool = False) -> list[str]:
    """Why each of ``module``'s imports points up (or sideways), if any does."""
    if module == FACADE:
        return []
    stage = _stage_of(module)
    if stage is None:
        return [f"{module} belongs to no stage: add it to STAGES in tests/test_layers.py and docs/architecture.md"]
    allowed = _closure(stage) | {stage}
    problems = []
    for line, imported in sorted(set(imports_of(module, text, is_package=is_package))):
        if imported == FACADE:
            problems.append(f"{module}:{line}: imports the package facade {FACADE!r}")
        elif (target := _stage_of(imported)) not in allowed:
            problems.append(f"{module}:{line}: {stage} imports {imported} ({target}), which is not below it")
    return problems


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_point_down(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert layer_violations(_module_name(path), text, is_package=path.name == "__init__.py") == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_long_modules_say_why(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if text.count("\n") <= LONG_MODULE_LINES:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert LONG_MODULE_REASON in docstring, (
        f"{path.name} has {text.count(chr(10))} lines: split it, or say at its top why not "
        f"({LONG_MODULE_REASON!r} in the module docstring)"
    )


def test_the_rule_catches_upward_imports() -> None:
    """The checker itself: a higher stage, a sideways one, or the facade is reported."""
    source = (PACKAGE / "checks.py").read_text(encoding="utf-8")
    source += "\nfrom .lower import lower\nfrom . import compile_files\nfrom .frontend import load_files\n"
    problems = layer_violations("compiler.checks", source)
    assert [problem.split(": ", 1)[1] for problem in problems] == [
        "compiler.checks imports compiler.lower (compiler.lower), which is not below it",
        "imports the package facade 'compiler'",
        "compiler.checks imports compiler.frontend (compiler.frontend), which is not below it",
    ]
    assert layer_violations("compiler.plan", "from . import apply\n") == [
        "compiler.plan:1: compiler.plan imports compiler.apply (compiler.apply), which is not below it"
    ]
    assert layer_violations("compiler.cli", "from .frontend import dsl\nfrom . import plan\n") == []
