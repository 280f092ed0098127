"""Every code block of the reading path (docs/learn/*.md) runs, in order, and prints what the text says.

A chapter's blocks share one namespace, as if typed into one Python session. The fences allowed:

- ```python: executed; whatever it prints must be shown by an ```output block right after it;
- ```output: the expected output of the python block before it (doctest's ``...`` matches anything);
- ```console: lines ``$ tinygrad-w ARGS`` run the command in-process; the lines after one are its output.

Any other fence fails the test: nothing in the chapters goes unchecked. Chapters run in a temporary
folder (drawings go there) with the repository's docs/ linked into it. Paths like
``tinygrad_w/core/value.py`` named in the text must exist.

``python tests/test_learn_docs.py --update`` rewrites the output blocks from a fresh run (then read the
diff: the text around them must still be true).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEARN = ROOT / "docs" / "learn"
CHAPTERS = sorted(LEARN.glob("[0-9][0-9]-*.md"))
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SOURCE_PATH = re.compile(r"`((?:tinygrad_w|docs|demos|tests|notebooks)/[\w./-]*)`")
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS


@dataclass
class Block:
    kind: str
    code: str
    line: int  # of the opening fence, 1-based
    start: int  # offsets of the code in the file's text
    end: int


def blocks(text: str) -> list[Block]:
    return [
        Block(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1, m.start(2), m.end(2))
        for m in FENCE.finditer(text)
    ]


def matches(expected: str, got: str) -> bool:
    return CHECKER.check_output(expected.rstrip() + "\n", got.rstrip() + "\n", FLAGS)


def run_python(code: str, namespace: dict[str, Any], where: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), namespace)
    return out.getvalue()


def run_console(code: str, where: str) -> list[tuple[str, str, str]]:
    """(command, expected output, actual output) for each ``$ tinygrad-w ...`` line of a console block."""
    from tinygrad_w.cli import main

    sessions: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            sessions.append((line[2:], []))
        elif sessions:
            sessions[-1][1].append(line)
        else:
            pytest.fail(f"{where}: a console block starts with '$ COMMAND'")
    results = []
    for command, expected in sessions:
        words = shlex.split(command)
        assert words[0] == "tinygrad-w", f"{where}: console blocks run tinygrad-w only, not {words[0]!r}"
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            main(words[1:])
        results.append((command, "\n".join(expected), out.getvalue()))
    return results


def run_chapter(path: Path, update: bool = False) -> str:
    """Run every block of the chapter; return its text, with the outputs rewritten when ``update``."""
    text = path.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "__learn__"}
    found = blocks(text)
    replacements: list[tuple[int, int, str]] = []
    for i, block in enumerate(found):
        where = f"{path.relative_to(ROOT)}:{block.line}"
        following = found[i + 1] if i + 1 < len(found) else None
        if block.kind == "python":
            printed = run_python(block.code, namespace, where)
            if following is not None and following.kind == "output":
                if update:
                    replacements.append((following.start, following.end, printed))
                else:
                    assert matches(following.code, printed), (
                        f"{where} printed:\n{printed}\nnot:\n{following.code}"
                    )
            else:
                assert not printed, (
                    f"{where} printed this, but no ```output block follows to check it:\n{printed}"
                )
        elif block.kind == "console":
            for command, expected, got in run_console(block.code, where):
                assert update or matches(expected, got), (
                    f"{where}: `{command}` printed:\n{got}\nnot:\n{expected}"
                )
        elif block.kind == "output":
            previous = found[i - 1] if i else None
            assert previous is not None and previous.kind == "python", (
                f"{where}: an output block follows no python block"
            )
        else:
            pytest.fail(
                f"{where}: a ```{block.kind} block would not be checked; use python, output or console"
            )
    for start, end, printed in reversed(replacements):
        text = text[:start] + printed + text[end:]
    return text


@pytest.fixture
def learn_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    return tmp_path


def test_there_are_eight_chapters_in_reading_order() -> None:
    titles = [p.name for p in CHAPTERS]
    assert [t[:2] for t in titles] == [f"{n:02d}" for n in range(1, 9)], titles
    index = (LEARN / "README.md").read_text(encoding="utf-8")
    positions = [index.index(f"({p.name})") for p in CHAPTERS]  # the index links each chapter, in order
    assert positions == sorted(positions)


PAGES = [*CHAPTERS, LEARN / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_every_block_of_the_page_runs_and_prints_what_it_says(page: Path, learn_folder: Path) -> None:
    if page in CHAPTERS:
        assert any(b.kind == "python" for b in blocks(page.read_text(encoding="utf-8")))
    run_chapter(page)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_sources_a_page_points_to_exist(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    named = SOURCE_PATH.findall(text)
    assert named or page.name == "README.md", f"{page.name} points to no source to read next"
    missing = [p for p in named if not (ROOT / p.rstrip("/")).exists()]
    assert not missing, f"{page.name} names files that do not exist: {missing}"


def test_no_indented_code_blocks() -> None:
    """An indented block (four spaces after a blank line) would be code that no test runs."""
    for page in PAGES:
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        lines = text.splitlines()
        indented = [
            i + 1 for i in range(1, len(lines)) if lines[i].startswith("    ") and not lines[i - 1].strip()
        ]
        assert not indented, f"{page.name}: indented code at lines {indented} (of the text without fences)"


def test_each_chapter_reads_a_source_and_ends_with_exercises() -> None:
    for chapter in CHAPTERS:
        text = chapter.read_text(encoding="utf-8")
        assert "## Read next" in text, chapter.name
        assert "## Exercises" in text, chapter.name
        assert text.index("## Read next") < text.index("## Exercises"), chapter.name


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    import tempfile

    for chapter in PAGES:
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
            here = Path.cwd()
            os.chdir(folder)
            try:
                updated = run_chapter(chapter, update=True)
            finally:
                os.chdir(here)
        chapter.write_text(updated, encoding="utf-8")
        print(f"updated {chapter.relative_to(ROOT)}")
