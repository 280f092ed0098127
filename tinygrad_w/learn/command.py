"""``tinygrad-w learn check FILE``: grade a learner's exercises (registered by tinygrad_w.cli.command)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tinygrad_w.errors import ArgumentError

EXIT_OK, EXIT_FAILED = 0, 1


def add_learn_parser(commands: Any) -> None:
    """Add ``learn check FILE`` to the ``tinygrad-w`` subcommands ``commands`` (an argparse subparsers
    object); its handler returns the exit status."""
    learn = commands.add_parser(
        "learn",
        help="grade your exercises of docs/learn",
        description="The reading path's exercises: grade your engine file chapter by chapter.",
    )
    actions = learn.add_subparsers(
        dest="learn_command", metavar="ACTION", parser_class=type(learn), required=True
    )
    check = actions.add_parser(
        "check",
        help="grade FILE (a copy of docs/learn/exercises/engine.py)",
        description=(
            "Grade the chapters of FILE in order, stopping at the first that is not finished: name the wrong "
            "op or function, the smallest failing expression (shrunk by Hypothesis) and draw it with your "
            "numbers. Exit status 0 when nothing written is wrong, 1 when something is."
        ),
    )
    check.add_argument("file", metavar="FILE", type=Path, help="your engine file")
    check.add_argument("--chapter", type=int, default=None, metavar="N", help="grade chapters 1 to N only")
    check.add_argument(
        "--examples", type=int, default=200, metavar="N", help="random expressions per search (200)"
    )
    check.add_argument("--seed", type=int, default=0, help="seed of the searches (0)")
    check.add_argument(
        "--drawings", type=Path, default=None, metavar="DIR", help="where to draw (FILE-check/)"
    )
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    try:
        from tinygrad_w.learn.grader import CHAPTERS, check_file
    except ImportError as missing:
        raise ArgumentError(
            f"learn check needs Hypothesis: pip install tinygrad-w[testing] ({missing})"
        ) from None

    grade = check_file(
        args.file,
        examples=args.examples,
        seed=args.seed,
        drawings=args.drawings,
        up_to=len(CHAPTERS) if args.chapter is None else args.chapter,
    )
    print(grade)
    return EXIT_OK if grade.ok else EXIT_FAILED
