"""Remember that a file met a database and planned nothing, to say so again without compiling.

A cron job that re-applies an unchanged file to an unchanged database spent
most of a full apply (compiling 10,000 load balancers, reading them all back)
to send nothing. What it needs to know is whether anything changed since the
last run that found nothing to do, and both halves of that have exact,
cheap identities:

- the run: a digest of ovn-lbc's own code and version, the command and the
  options that change a plan, and each file's name and bytes;
- the database: the (table, _uuid, _version) of every row of the tables a
  plan reads (compiler.ovsdb.state.read_fingerprint), which OVSDB changes
  on every write to a row, and the schema's version.

Only a run that compiled the files, printed no diagnostic at all, read the
database and planned nothing is remembered, under the run's digest, with
the database's fingerprint. A later run with the same digest reads only the
fingerprint; when it is the same, the plan would be the same empty plan, and
the run ends there. Anything else (a changed byte of a file or of ovn-lbc, a
row written by anyone, another schema) misses and takes the whole path. So
the memo is invisible except in speed: it can only say "no changes" where
the whole path would have said exactly that.

The memo is a small JSON file in the user's cache directory
(``$OVN_LBC_CACHE``, else ``$XDG_CACHE_HOME/ovn-lbc``, else
``~/.cache/ovn-lbc``; ``OVN_LBC_CACHE=off`` turns it off). It holds digests
only. Any trouble reading or writing it is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import SourceRegistry
from .resources import resource_dir
from .version import __version__

CACHE_VARIABLE = "OVN_LBC_CACHE"
MEMO_FILE = "unchanged.json"
# Runs remembered: one entry per (files, options) that has been applied; the oldest go first.
MAX_ENTRIES = 64
_PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """Where the memo lives; None when it is turned off or there is no home."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "ovn-lbc"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "ovn-lbc" if home else None


def _code_digest() -> str:
    """ovn-lbc's own code and shipped files: a changed ovn-lbc, even of the same version, misses."""
    digest = hashlib.sha256(f"ovn-lbc {__version__}\n".encode())
    roots = [_PACKAGE]
    for name in ("grammar", "templates"):
        try:
            roots.append(resource_dir(name))
        except FileNotFoundError:
            continue
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                digest.update(f"{path.relative_to(root)}\n".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def run_digest(command: str, options: Mapping[str, object], files: Sequence[tuple[str, bytes]]) -> str:
    """The identity of a run: code, command, the options that change its plan, and every file."""
    digest = hashlib.sha256(_code_digest().encode())
    digest.update(json.dumps([command, sorted((key, repr(value)) for key, value in options.items())]).encode())
    for name, data in files:
        digest.update(f"\nfile {len(name)} {name} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Run:
    """A run as the memo knows it: its digest, and each file's name and sha256
    (not its bytes: 10 MB more to hold through a run of 10,000 load balancers)."""

    digest: str
    files: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, command: str, options: Mapping[str, object], paths: Sequence[str], limit: int) -> Run | None:
        """None when there is no memo to use (turned off, or a file that is stdin, unreadable or too big)."""
        if cache_dir() is None:
            return None
        files = read_files(paths, limit)
        if files is None:
            return None
        digests = tuple((name, hashlib.sha256(data).digest()) for name, data in files)
        return cls(run_digest(command, options, files), digests)

    def compiled_these(self, sources: SourceRegistry) -> bool:
        """Whether the texts compiled are the bytes digested (a file may change between the two reads)."""
        for name, digest in self.files:
            source = sources.get(name)
            if source is None or hashlib.sha256(source.text.encode("utf-8")).digest() != digest:
                return False
        return True


def read_files(paths: Sequence[str], limit: int) -> list[tuple[str, bytes]] | None:
    """Each file's name and bytes; None when one is standard input, unreadable or over ``limit``
    bytes (then there is no memo: the whole path reports what is wrong)."""
    files = []
    for path in paths:
        if path == "-":
            return None
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError:
            return None
        if len(data) > limit:
            return None
        files.append((path, data))
    return files


def _load(directory: Path) -> dict[str, str]:
    try:
        entries = json.loads((directory / MEMO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {key: value for key, value in entries.items() if isinstance(key, str) and isinstance(value, str)}


def recall(run: str) -> str | None:
    """The database's fingerprint when ``run`` last planned nothing, if remembered."""
    directory = cache_dir()
    return None if directory is None else _load(directory).get(run)


def remember(run: str, fingerprint: str) -> None:
    """That ``run`` planned nothing against the database of ``fingerprint`` (best effort)."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        entries = _load(directory)
        entries.pop(run, None)
        entries[run] = fingerprint  # last in: the newest
        kept = dict(list(entries.items())[-MAX_ENTRIES:])
        # Written whole and renamed: a reader never sees half a file, two writers never mix.
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".unchanged-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(kept, stream, indent=0, sort_keys=False)
            os.replace(temporary, directory / MEMO_FILE)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return
