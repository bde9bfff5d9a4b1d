"""The ovn-lbc(1) man page, built from the parser that ``--help`` prints.

Everything in the page comes from ``compiler.cli.build_parser()``: the name
line and DESCRIPTION from the parser's description, a SYNOPSIS and a COMMANDS
entry per subcommand (its description, each option with its help), and one
section per section of the epilog (``exit status:`` becomes EXIT STATUS).
So the page and ``--help`` cannot drift apart. ``python -m compiler.manpage``
prints it; ``scripts/manpage`` writes ``docs/ovn-lbc.1``, and
``tests/test_manpage.py`` fails when that file differs from a fresh build.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable

from .cli import build_parser

# Epilog sections the page says better from the parser itself: the commands'
# one-line summaries are the COMMANDS section, with every option.
_REPLACED_SECTIONS = frozenset({"commands"})

_SEE_ALSO = r"""\fBovn\-nbctl\fR(8), \fBovsdb\-client\fR(1), \fBovn\-northd\fR(8), \fBovn\-nb\fR(5).
The formats, the plan and apply semantics and every diagnostic code are
described in the \fIdocs/\fR directory of the ovn\-lbc source tree."""

_CODE = re.compile(r"`([^`]+)`")
_TERM = re.compile(r"(\S(?:.*?\S)?) {2,}(\S.*)")


def build_manpage(parser: argparse.ArgumentParser | None = None) -> str:
    """The roff source of ovn-lbc(1) for ``parser`` (default: the CLI's)."""
    parser = parser or build_parser()
    prog = parser.prog
    commands = _subcommands(parser)
    description = parser.description or ""
    out: list[str] = []

    out.append(f'.TH {_quote(prog.upper())} 1 "" {_quote(_version(parser))} "User Commands"')
    out.append(".nh")  # no hyphenation: option names and file names stay whole
    out.append(".SH NAME")
    out.append(f"{_escape(prog)} \\- {_escape(_summary(prog, description))}")

    out.append(".SH SYNOPSIS")
    out.extend(_synopsis(prog, _options(parser), extra="COMMAND"))
    for name, sub, _help in commands:
        out.extend(_synopsis(f"{prog} {name}", _visible_actions(sub)))

    out.append(".SH DESCRIPTION")
    out.extend(_paragraphs(description))
    out.append(".SH OPTIONS")
    out.extend(_option_list(parser, _options(parser)))

    out.append(".SH COMMANDS")
    for name, sub, help_ in commands:
        out.append(f".SS {_quote(name)}")
        out.extend(_paragraphs(sub.description or help_))
        out.extend(_option_list(sub, _visible_actions(sub)))

    for title, lines in _epilog_sections(parser.epilog or ""):
        if title in _REPLACED_SECTIONS:
            continue
        out.append(f".SH {_quote(title.upper())}")
        out.extend(_section_body(lines))

    out.append(".SH SEE ALSO")
    out.extend(_SEE_ALSO.splitlines())
    return "\n".join(out) + "\n"


def _version(parser: argparse.ArgumentParser) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._VersionAction) and action.version:
            return action.version
    return parser.prog


def _summary(prog: str, description: str) -> str:
    """The NAME line: the description's first sentence, without the program's name."""
    sentence = " ".join(description.split()).split(". ")[0].rstrip(".")
    if sentence.startswith(prog + " "):
        sentence = sentence[len(prog) + 1 :]
    return sentence


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return [(name, sub, helps.get(name, "")) for name, sub in action.choices.items()]
    return []


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in parser._actions if action.option_strings and action.help != argparse.SUPPRESS]


def _visible_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """A subcommand's options and arguments, without its -h (the page itself is the help)."""
    return [
        action
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and action.help != argparse.SUPPRESS
    ]


# -- roff ---------------------------------------------------------------------


def _escape(text: str) -> str:
    """Plain text as roff: backslashes, hyphens (so options copy as ASCII) and quotes."""
    return (
        text.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq").replace("`", "\\(ga").replace('"', "\\(dq")
    )


def _inline(text: str) -> str:
    """Text with `code` spans in bold."""
    parts = _CODE.split(text)
    return "".join(_escape(part) if i % 2 == 0 else f"\\fB{_escape(part)}\\fR" for i, part in enumerate(parts))


def _quote(argument: str) -> str:
    """A macro argument (already roff text)."""
    return f'"{_escape(argument)}"' if " " in argument or not argument else _escape(argument)


def _guard(line: str) -> str:
    """A text line that roff will not read as a request."""
    return "\\&" + line if line.startswith((".", "'")) else line


def _paragraphs(text: str) -> list[str]:
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if paragraph.strip():
            out.append(".PP")
            out.extend(_guard(_inline(line.strip())) for line in paragraph.splitlines())
    return out


def _metavar(action: argparse.Action) -> str:
    """The argument of an option or a positional, as roff: choices in bold, names in italics."""
    if action.metavar is not None:
        name = action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
        word = f"\\fI{_escape(name)}\\fR"
    elif action.choices is not None:
        word = "|".join(f"\\fB{_escape(str(choice))}\\fR" for choice in action.choices)
    else:
        name = action.dest.upper() if action.option_strings else action.dest
        word = f"\\fI{_escape(name)}\\fR"
    if action.nargs in (None, 1):
        return word
    if action.nargs == "?":
        return f"[{word}]"
    if action.nargs == "+":
        return f"{word}..."
    if action.nargs == "*":
        return f"[{word}...]"
    if isinstance(action.nargs, int):
        return " ".join([word] * action.nargs)
    return word


def _takes_argument(action: argparse.Action) -> bool:
    return action.nargs != 0


def _synopsis(command: str, actions: Iterable[argparse.Action], extra: str = "") -> list[str]:
    words = command.split(" ")
    out = [f".SY {_escape(words[0])}"]
    out.extend(f"\\fB{_escape(word)}\\fR" for word in words[1:])
    actions = list(actions)
    # As argparse's usage line: the options, then the positional arguments.
    for action in [action for action in actions if action.option_strings] + [
        action for action in actions if not action.option_strings
    ]:
        if action.option_strings:
            longs = [option for option in action.option_strings if option.startswith("--")]
            option = f"\\fB{_escape((longs or action.option_strings)[0])}\\fR"
            if _takes_argument(action):
                option += "\\ " + _metavar(action)  # unbreakable: an option stays with its argument
            out.append(option if action.required else f"[{option}]")
        else:
            out.append(_metavar(action))
    if extra:
        out.append(f"\\fI{_escape(extra)}\\fR ...")
    out.append(".YS")
    return out


def _option_list(parser: argparse.ArgumentParser, actions: Iterable[argparse.Action]) -> list[str]:
    out: list[str] = []
    for action in actions:
        names = action.option_strings
        if names:
            tag = ", ".join(f"\\fB{_escape(name)}\\fR" for name in names)
            if _takes_argument(action):
                tag += " " + _metavar(action)
        else:
            tag = _metavar(action)
        out.append(".TP")
        out.append(tag)
        out.append(_guard(_inline(_expand_help(parser, action))))
    return out


def _expand_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """An option's help as --help prints it (``%(default)s`` and friends filled in)."""
    text = action.help or ""
    if "%" not in text:
        return text
    params = {key: value for key, value in vars(action).items() if value is not argparse.SUPPRESS}
    params["prog"] = parser.prog
    if params.get("choices") is not None:
        params["choices"] = ", ".join(str(choice) for choice in params["choices"])
    return text % params


def _epilog_sections(epilog: str) -> list[tuple[str, list[str]]]:
    """``title:`` lines at the left margin, each with the lines under it."""
    sections: list[tuple[str, list[str]]] = []
    for line in epilog.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            sections.append((line[:-1], []))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            sections.append(("notes", [line]))
    return sections


def _section_body(lines: list[str]) -> list[str]:
    """A term list (``TERM  text`` lines, continuations indented more), verbatim
    text (indented lines among the others: examples), or a paragraph."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        return []
    margin = min(len(line) - len(line.lstrip()) for line in lines if line)
    lines = [line[margin:] for line in lines]
    top = [line for line in lines if line and not line[0].isspace()]

    if all(_TERM.fullmatch(line) for line in top):
        items: list[tuple[str, list[str]]] = []
        for line in lines:
            match = _TERM.fullmatch(line)
            if match and not line[0].isspace():
                items.append((match.group(1), [match.group(2)]))
            elif line.strip():
                items[-1][1].append(line.strip())
        out: list[str] = []
        for term, body in items:
            out.extend([".TP", f"\\fB{_inline(term)}\\fR"])
            out.extend(_guard(_inline(text)) for text in body)
        return out

    if len(top) != len([line for line in lines if line]):
        out = [".PP", ".RS 4", ".nf"]
        out.extend(_guard(_escape(line)) for line in lines)
        out.extend([".fi", ".RE"])
        return out

    return _paragraphs("\n".join(lines))


def main() -> int:
    sys.stdout.write(build_manpage())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
