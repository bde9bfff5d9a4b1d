"""Where ovn-lbc writes: only regular files (or standard output), through
symlinks, keeping a file's mode, atomically; and one line when it cannot.

Devices and FIFOs are made in tmp_path (never /dev/null itself: today's code
would replace it). A directory that refuses writes even to root is made with
``chattr +i`` and undone at the end, also on failure.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compiler.cli import main

from .conftest import SAMPLES

SAMPLE = str(SAMPLES / "ipv4-healthcheck.yaml")


def compile_to(output: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["compile", SAMPLE, "-o", str(output)])
    return code, capsys.readouterr().err


def expected_script(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["compile", SAMPLE]) == 0
    return capsys.readouterr().out


def no_leftovers(*directories: Path) -> None:
    for directory in directories:
        assert not [p.name for p in directory.iterdir() if p.name.startswith(".ovn-lbc-")]


@pytest.fixture
def lock() -> Iterator[Callable[[Path], None]]:
    """Makes a directory one nothing may create files in, root included; each is unlocked afterwards."""
    locked: list[tuple[Path, bool]] = []

    def make_unwritable(directory: Path) -> None:
        immutable = False
        if os.geteuid() == 0 and shutil.which("chattr"):
            done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, check=False)
            immutable = done.returncode == 0
        if not immutable:
            directory.chmod(0o555)
        locked.append((directory, immutable))
        probe = directory / ".probe"
        try:
            probe.touch()
        except OSError:
            return
        probe.unlink()
        pytest.skip("cannot make a directory unwritable here")

    try:
        yield make_unwritable
    finally:
        for directory, immutable in locked:
            if immutable:
                subprocess.run(["chattr", "-i", str(directory)], capture_output=True, check=False)
            directory.chmod(0o755)


# -- not a regular file: refused, and left as it was ---------------------------------------------------


def test_a_fifo_is_refused_and_stays_a_fifo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, err = compile_to(fifo, capsys)
    assert code == 2
    reason = "it is a FIFO, not a regular file (ovn-lbc writes regular files, or - for standard output)"
    assert err == f"ovn-lbc: cannot write {fifo}: {reason}\n"
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    no_leftovers(tmp_path)


def test_a_device_is_refused_and_stays_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of the test's own
    except PermissionError:
        pytest.skip("making a device node needs root")
    code, err = compile_to(device, capsys)
    assert code == 2 and "it is a character device, not a regular file" in err and err.count("\n") == 1
    assert stat.S_ISCHR(device.stat().st_mode)
    # Through a symlink too: the link is followed to the device, which is refused.
    link = tmp_path / "to-null"
    link.symlink_to(device)
    assert compile_to(link, capsys)[0] == 2
    assert link.is_symlink() and stat.S_ISCHR(device.stat().st_mode)


def test_a_directory_or_a_missing_one_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = compile_to(tmp_path, capsys)
    assert code == 2 and "it is a directory" in err and err.count("\n") == 1
    regular = tmp_path / "file"
    regular.write_text("x")
    for target, reason in (
        (tmp_path / "none" / "lb.sh", "No such file or directory"),
        (regular / "lb.sh", "Not a directory"),
    ):
        code, err = compile_to(target, capsys)
        assert code == 2 and err == f"ovn-lbc: cannot write {target}: {reason}\n"


def test_standard_output_is_still_a_dash(capsys: pytest.CaptureFixture[str]) -> None:
    script = expected_script(capsys)
    assert main(["compile", SAMPLE, "-o", "-"]) == 0
    assert capsys.readouterr().out == script


# -- symlinks, modes, atomic replacement ------------------------------------------------------------------


def test_a_symlink_is_followed_and_stays_a_symlink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / "lb.sh"
    target.write_text("old\n")
    link = link_dir / "lb.sh"
    link.symlink_to(target)
    assert compile_to(link, capsys)[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == expected_script(capsys)
    no_leftovers(real_dir, link_dir)
    # A dangling link: the file it names is made.
    dangling = link_dir / "new.sh"
    dangling.symlink_to(real_dir / "new.sh")
    assert compile_to(dangling, capsys)[0] == 0
    assert dangling.is_symlink() and (real_dir / "new.sh").read_text() == expected_script(capsys)


def test_the_temporary_file_is_made_beside_the_real_target(
    tmp_path: Path, lock: Callable[[Path], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """A link in a directory nothing may write to, to a file elsewhere: writing beside the link would fail."""
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / "lb.sh"
    target.write_text("old\n")
    link = link_dir / "lb.sh"
    link.symlink_to(target)
    lock(link_dir)
    assert compile_to(link, capsys)[0] == 0
    assert target.read_text() == expected_script(capsys)
    no_leftovers(real_dir)


def test_an_existing_files_mode_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for mode in (0o600, 0o640, 0o751):
        out = tmp_path / f"lb-{mode:o}.sh"
        out.write_text("old\n")
        out.chmod(mode)
        assert compile_to(out, capsys)[0] == 0
        assert stat.S_IMODE(out.stat().st_mode) == mode
    yaml_out = tmp_path / "lb.yaml"
    yaml_out.write_text("old\n")
    yaml_out.chmod(0o600)
    assert main(["convert", SAMPLE, "--to", "yaml", "-o", str(yaml_out)]) == 0
    assert stat.S_IMODE(yaml_out.stat().st_mode) == 0o600 and yaml_out.read_text() != "old\n"


def test_a_new_file_gets_the_umask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = os.umask(0o027)
    try:
        assert compile_to(tmp_path / "lb.sh", capsys)[0] == 0
        assert main(["convert", SAMPLE, "--to", "dsl", "-o", str(tmp_path / "lb.lb")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "lb.sh").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "lb.lb").stat().st_mode) == 0o640


# -- fmt: read-only places and symlinks -----------------------------------------------------------------

MESSY = (SAMPLES / "ipv4-healthcheck.lb").read_text().replace("    router ", "  router     ")


def test_fmt_where_nothing_may_be_written_is_one_line(
    tmp_path: Path, lock: Callable[[Path], None], capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    path = directory / "lb.lb"
    path.write_text(MESSY)
    lock(directory)
    capsys.readouterr()
    assert main(["fmt", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ovn-lbc: fmt: cannot write {path}: ") and err.count("\n") == 1, err
    assert path.read_text() == MESSY


def test_fmt_writes_through_a_symlink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "real.lb"
    real.write_text(MESSY)
    real.chmod(0o640)
    link = tmp_path / "link.lb"
    link.symlink_to(real)
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and real.read_text() == (SAMPLES / "ipv4-healthcheck.lb").read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert main(["fmt", "--check", str(link)]) == 0
