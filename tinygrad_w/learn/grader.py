"""Grade a learner's engine file chapter by chapter: :func:`check_file`.

The chapters are graded in reading order. The first one that is not finished (a ``todo()`` left, or
something wrong) stops the grading: later chapters build on it and would only repeat its problem.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from tinygrad_w.errors import ArgumentError
from tinygrad_w.learn.engine_chapters import Settings, chapter1, chapter2, chapter3, chapter4
from tinygrad_w.learn.loading import LearnerBug, NotWritten, load_learner
from tinygrad_w.learn.model_chapters import chapter5, chapter6
from tinygrad_w.learn.report import NOT_GRADED, PASSED, ChapterGrade, Grade
from tinygrad_w.learn.tool_chapters import chapter7, chapter8

Chapter = Callable[[ModuleType, Settings], ChapterGrade]

# (title, grader) in reading order; chapter n is CHAPTERS[n - 1]. The titles are those of docs/learn.
CHAPTERS: list[tuple[str, Chapter]] = [
    ("a Value and its graph", chapter1),
    ("the op table and the chain rule", chapter2),
    ("topological order and backward", chapter3),
    ("gradients of gradients", chapter4),
    ("neurons and MLPs", chapter5),
    ("training", chapter6),
    ("drawing", chapter7),
    ("checking gradients", chapter8),
]


def check_file(
    path: str | Path,
    *,
    examples: int = 200,
    seed: int = 0,
    drawings: str | Path | None = None,
    up_to: int = len(CHAPTERS),
) -> Grade:
    """Grade the learner's file ``path`` up to chapter ``up_to``.

    ``examples`` is how many random expressions Hypothesis tries in a search, ``seed`` makes the searches
    repeatable, and drawings of failing expressions go to ``drawings`` (default: a folder named after
    the file, beside it: ``my_engine-check/``).
    """
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise ArgumentError(f"check_file: examples must be an int >= 1, got {examples!r}")
    if isinstance(up_to, bool) or not isinstance(up_to, int) or not 1 <= up_to <= len(CHAPTERS):
        raise ArgumentError(f"check_file: up_to must be a chapter from 1 to {len(CHAPTERS)}, got {up_to!r}")
    file = Path(path)
    module = load_learner(file)
    folder = Path(drawings) if drawings is not None else file.with_name(f"{file.stem}-check")
    settings = Settings(examples=examples, seed=seed, drawings=folder)
    grades: list[ChapterGrade] = []
    for number, (title, chapter) in enumerate(CHAPTERS[:up_to], start=1):
        if grades and grades[-1].status != PASSED:
            grades.append(ChapterGrade(number, title, NOT_GRADED))
            continue
        grades.append(grade_chapter(number, title, chapter, module, settings))
    return Grade(file, grades)


def grade_chapter(
    number: int, title: str, chapter: Chapter, module: ModuleType, settings: Settings
) -> ChapterGrade:
    """One chapter's grade; a missing name or an unexpected error of the learner's code fails it."""
    try:
        return chapter(module, settings)
    except NotWritten as missing:
        grade = ChapterGrade(number, title)
        grade.missing.append(str(missing))
    except LearnerBug as bug:
        grade = ChapterGrade(number, title)
        grade.fail("file", str(bug))
    except Exception as exc:  # the learner's code may raise anything where we did not expect it
        grade = ChapterGrade(number, title)
        grade.fail("file", f"your code raised {type(exc).__name__}: {exc}")
    return grade.settle()
