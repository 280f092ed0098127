"""Tests of tinygrad_w.atomic: the whole file or the old one, never half, even after kill -9; modes; no temporary
file left (a killed writer's is removed by the next write); links written through; typed errors for bad paths."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import pytest

from tinygrad_w.atomic import remove_stale_temporaries, write_atomically, write_bytes_atomically
from tinygrad_w.errors import FileAccessError


def test_writes_a_new_file_readable_by_all(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_bytes_atomically(path, b"line 1\nline 2\n")
    assert path.read_bytes() == b"line 1\nline 2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["out.txt"]


def test_replacing_keeps_the_old_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_bytes_atomically(str(path), b"old")
    path.chmod(0o600)
    write_bytes_atomically(str(path), b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_bytes_atomically(path, b"old")

    def half_then_crash(file: BinaryIO) -> None:
        file.write(b"half of the new")
        raise RuntimeError("simulated crash while writing")

    with pytest.raises(RuntimeError, match="simulated crash"):
        write_atomically(path, half_then_crash)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_missing_directory_is_an_error_not_created(tmp_path: Path) -> None:
    with pytest.raises(
        FileAccessError,
        match=r"^write_bytes_atomically '.*out\.txt': the directory '.*missing' does not exist",
    ):
        write_bytes_atomically(tmp_path / "missing" / "out.txt", b"x")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------------------------------
# Killed writers, concurrent writers, links


KILLED_WRITER = """
import sys, time
from tinygrad_w.atomic import write_atomically

def slow(file):
    file.write(b"half of the new content")
    file.flush()
    print("writing", flush=True)
    time.sleep(60)

write_atomically(sys.argv[1], slow)
"""


def killed_mid_write(path: Path) -> None:
    """Run a writer in another process and kill -9 it while its temporary file is half written."""
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"writing\n"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def test_kill_9_during_a_write_leaves_the_old_file_and_the_next_write_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_bytes_atomically(path, b"old")
    killed_mid_write(path)
    assert path.read_bytes() == b"old"  # never half of the new one
    stale = [name for name in os.listdir(tmp_path) if name != "out.txt"]
    assert len(stale) == 1 and stale[0].startswith(".out.txt.") and stale[0].endswith(".tmp")
    write_bytes_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.txt"]  # the killed writer's temporary file is gone


def test_cleaning_leaves_live_writers_and_other_files_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    others = [".out.txt.backup", ".out.txt.abc.tmp", ".out.txt.json.abcdefgh.tmp", "out.txt.tmp"]
    for name in others:
        (tmp_path / name).write_bytes(b"keep")
    seen: list[list[str]] = []

    def write_while_another_cleans(file: BinaryIO) -> None:
        file.write(b"mine")
        seen.append(remove_stale_temporaries(path))  # a second writer arriving now finds this file locked

    write_atomically(path, write_while_another_cleans)
    assert seen == [[]] and path.read_bytes() == b"mine"
    assert sorted(os.listdir(tmp_path)) == sorted([*others, "out.txt"])


def write_many(path: str, marker: int) -> None:
    for k in range(20):
        write_bytes_atomically(path, f"{marker}:{k}\n".encode() * 200)


def test_concurrent_writers_each_succeed_and_the_file_is_always_whole(tmp_path: Path) -> None:
    path = str(tmp_path / "out.txt")
    write_bytes_atomically(path, b"0:0\n" * 200)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.starmap(write_many, [(path, marker) for marker in range(4)])
    lines = Path(path).read_bytes().splitlines()
    assert len(lines) == 200 and len(set(lines)) == 1  # one writer's whole content
    assert os.listdir(tmp_path) == ["out.txt"]


def test_writing_through_links_and_refusing_what_is_no_file(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_bytes_atomically(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    fifo = tmp_path / "fifo"  # a device would do too, but as root a bug would replace /dev/null
    os.mkfifo(fifo)
    with pytest.raises(FileAccessError, match=r"^report '.*fifo': not a regular file"):
        write_bytes_atomically(fifo, b"x", where="report")
    under_a_file = target / "x.txt"
    with pytest.raises(FileAccessError, match=r"^write_bytes_atomically '.*: Not a directory"):
        write_bytes_atomically(under_a_file, b"x")
    assert isinstance(FileAccessError("x"), OSError)


def test_a_read_only_place_is_a_typed_error(tmp_path: Path) -> None:
    # As root every directory is writable: /proc is read-only for everyone.
    place = Path("/proc/tinygrad_w_test.txt") if os.geteuid() == 0 else tmp_path / "ro" / "out.txt"
    if os.geteuid() != 0:
        place.parent.mkdir()
        place.parent.chmod(0o555)
    with pytest.raises(FileAccessError, match=r"^write_bytes_atomically '.*(tinygrad_w_test|out)\.txt'"):
        write_bytes_atomically(place, b"x")
