"""What the grader found: one :class:`ChapterGrade` per chapter, gathered in a :class:`Grade`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PASSED, FAILED, NOT_WRITTEN = "passed", "FAILED", "not written yet"
NOT_GRADED = "not graded yet"


@dataclass
class ChapterGrade:
    """The verdict on one chapter's exercises.

    ``status`` is "passed", "FAILED", "not written yet" (a ``todo()`` is still in place) or "not graded"
    (an earlier chapter is not finished). ``lines`` say what was checked or what is wrong; ``wrong``
    names the wrong ops or functions; ``expression`` is the smallest failing expression and ``drawing``
    the file it was drawn to.
    """

    number: int
    title: str
    status: str = PASSED
    lines: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    expression: str = ""
    drawing: Path | None = None

    def fail(self, piece: str, message: str) -> None:
        """Record that ``piece`` (an op or a function) is wrong, and why."""
        if piece not in self.wrong:
            self.wrong.append(piece)
        self.lines.append(message)

    def settle(self) -> ChapterGrade:
        """The status from what was recorded: a wrong piece fails the chapter, a missing one leaves it
        unfinished."""
        if self.wrong:
            self.status = FAILED
        elif self.missing:
            self.status = NOT_WRITTEN
            self.lines.insert(0, "still to write: " + ", ".join(self.missing))
        return self

    def __str__(self) -> str:
        head = f"chapter {self.number}  {self.title}".ljust(44) + f"  {self.status}"
        body = [f"    {line}" for text in self.lines for line in text.splitlines()]
        if self.expression:
            body.append(f"    smallest failing expression (shrunk by Hypothesis): {self.expression}")
        if self.drawing is not None:
            body.append(f"    drawn with your numbers (wrong ones say what they should be): {self.drawing}")
        return "\n".join([head, *body])


@dataclass
class Grade:
    """Every chapter's grade for one learner file; ``str(grade)`` is the report."""

    file: Path
    chapters: list[ChapterGrade]

    @property
    def ok(self) -> bool:
        """True when nothing written so far is wrong (unwritten chapters are not failures)."""
        return all(chapter.status != FAILED for chapter in self.chapters)

    @property
    def failed(self) -> ChapterGrade | None:
        return next((chapter for chapter in self.chapters if chapter.status == FAILED), None)

    def verdict(self) -> str:
        failed = self.failed
        if failed is not None:
            return f"chapter {failed.number} FAILED: wrong: {', '.join(failed.wrong)}"
        todo = next((chapter for chapter in self.chapters if chapter.status == NOT_WRITTEN), None)
        if todo is not None:
            done = todo.number - 1
            return f"chapters 1-{done} pass; next: chapter {todo.number}" if done else "next: chapter 1"
        return "every chapter passes"

    def __str__(self) -> str:
        return "\n".join(
            [f"grading {self.file}", "", *map(str, self.chapters), "", f"verdict: {self.verdict()}"]
        )
