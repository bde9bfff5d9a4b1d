"""Broken input never raises anything but the project's own CompileError."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import CompileError, compile_files
from compiler.emit.nbctl import emit_nbctl

from .conftest import sample_paths

SAMPLE_TEXTS = [(p.suffix, p.read_text(encoding="utf-8")) for p in sample_paths()]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    suffix, text = draw(st.sampled_from(SAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines(keepends=True)
        kind = draw(
            st.sampled_from(
                ["delete-char", "dup-char", "swap-chars", "delete-line", "dup-line", "swap-lines", "insert"]
            )
        )
        if kind.endswith("line") or kind.endswith("lines"):
            if len(lines) < 2:
                continue
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "delete-line":
                del lines[i]
            elif kind == "dup-line":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        else:
            if not text:
                continue
            i = draw(st.integers(0, len(text) - 1))
            if kind == "delete-char":
                text = text[:i] + text[i + 1 :]
            elif kind == "dup-char":
                text = text[: i + 1] + text[i:]
            elif kind == "swap-chars" and i + 1 < len(text):
                text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            elif kind == "insert":
                junk = draw(
                    st.sampled_from(
                        [
                            "-",
                            ":",
                            "{",
                            "[",
                            '"',
                            "'",
                            "\t",
                            "&a",
                            "*a",
                            "!!int",
                            "0",
                            "::",
                            "\x00",
                            "é",
                            "\\u0000",
                            "99999",
                        ]
                    )
                )
                text = text[:i] + junk + text[i:]
    return suffix, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_samples_compile_or_fail_cleanly(case: tuple[str, str]) -> None:
    suffix, text = case
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"input{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            compilation = compile_files([str(path)])
        except CompileError as exc:
            assert exc.errors, "a CompileError carries at least one error"
            rendered = exc.render()
            assert all(
                line.split(":")[0].endswith(path.name) or not line or line[0] in " o"
                for line in rendered.splitlines()[:1]
            )
            return
        emit_nbctl(compilation.changes, [path.name])
