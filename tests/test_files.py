"""Tests of tinygrad_w._files: the whole file or the old one, never half; modes; no temporary file left."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import pytest

from tinygrad_w.atomic import write_atomically, write_bytes_atomically


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
    with pytest.raises(FileNotFoundError):
        write_bytes_atomically(tmp_path / "missing" / "out.txt", b"x")
    assert os.listdir(tmp_path) == []
