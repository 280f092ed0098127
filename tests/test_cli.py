"""Tests of the command line, end to end through subprocesses (``python -m tinygrad_w ...``): outputs,
exit status (0 ok, 1 failed check, 2 bad usage or input) and one-line errors without tracebacks."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tinygrad_w.cli import command as cli

REPO = Path(__file__).resolve().parent.parent


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_w", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd or REPO,
        timeout=120,
        check=False,
    )


def assert_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2, nothing on stdout, and exactly one line on stderr naming the problem."""
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tinygrad-w")
    assert "error:" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", [[], ["demo"], ["grad"], ["graph"], ["check"]])
def test_help_everywhere(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: tinygrad-w")
    assert result.stderr == ""


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("tinygrad-w ")


def test_grad_prints_value_partials_and_verdict() -> None:
    result = run("grad", "tanh(2*x + b)", "x=0.5", "b=-0.25")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "f(x, b) = tanh(2*x + b)"
    assert lines[1] == "at x = 0.5, b = -0.25"
    assert lines[2].startswith("value: 0.635")
    t = 0.6351489523872873  # tanh(0.75)
    assert float(lines[3].split("=")[1]) == pytest.approx(2 * (1 - t * t))
    assert float(lines[4].split("=")[1]) == pytest.approx(1 - t * t)
    assert lines[5].startswith("gradcheck: passed")
    assert result.stderr == ""


def test_grad_second_order() -> None:
    result = run("grad", "x*x*y", "x=3", "y=2", "--second-order")
    assert result.returncode == 0
    assert "∂²f/∂x∂x = 4.0" in result.stdout
    assert "∂²f/∂x∂y = 6.0" in result.stdout
    assert "first and second derivatives agree" in result.stdout


def test_grad_at_a_kink_fails_the_check_with_exit_1() -> None:
    result = run("grad", "relu(x)", "x=0")
    assert result.returncode == 1
    assert "gradcheck: FAILED" in result.stdout
    assert "<-- FAIL" in result.stdout
    assert "note: relu: input 0.0 is within" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["grad", "x.__class__", "x=1"], ["attribute access not allowed", "column 1"]),
        (["grad", "__import__('os')", "x=1"], ["unknown function '__import__'"]),
        (["grad", "x*y", "x=1"], ["no value for y"]),
        (["grad", "x", "x=1", "y=2"], ["does not use y"]),
        (["grad", "x", "x1"], ["bad variable 'x1'", "NAME=NUMBER"]),
        (["grad", "x", "x=abc"], ["'abc' is not a number"]),
        (["grad", "x", "x=nan"], ["must be finite"]),
        (["grad", "x", "x=1", "x=2"], ["given twice"]),
        (["grad", "log(x)", "x=-1"], ["outside the domain", "log"]),
        (["grad", "sqrt(x)", "x=0"], ["derivative of sqrt"]),
        (["grad", "log(x)", "x=1e-7"], ["leaves the domain"]),
        (["grad"], ["required: EXPR"]),
        ([], ["choose a command"]),
        (["frobnicate"], ["invalid choice"]),
        (["grad", "x", "x=1", "--nope"], ["unrecognized arguments"]),
        (["check", "x", "--examples", "0"], ["a number from 1 to 100,000"]),
        (
            ["check", "x", "--examples", "99999999999999999999"],
            ["a number from 1 to 100,000, got 99999999999999999999"],
        ),
        (["check", "x", "--range", "2", "1"], ["LOW < HIGH"]),
        (["check", "sqrt(x - 10)"], ["no point in [-3, 3]"]),
        (["graph", "x", "x=1", "-o", "picture.bmp"], ["cannot tell the format"]),
    ],
)
def test_bad_usage_or_input_is_one_line_with_exit_2(
    args: list[str], fragments: list[str], tmp_path: Path
) -> None:
    assert_usage_error(run(*args, cwd=tmp_path), *fragments)


def test_a_formula_starting_with_minus() -> None:
    assert run("grad", " -x", "x=2").stdout.splitlines()[2] == "value: -2.0"
    assert run("grad", "--", "-x", "x=2").stdout.splitlines()[2] == "value: -2.0"


def test_graph_writes_an_svg(tmp_path: Path, dot_binary: str) -> None:
    out = tmp_path / "out.svg"
    result = run("graph", "tanh(2*x + b)", "x=0.5", "b=-1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out}"
    svg = out.read_text()
    assert "<svg" in svg and "tanh" in svg


def test_graph_writes_dot(tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    result = run("graph", "x*x + 1", "x=2", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().lstrip().startswith("digraph")


def test_check_passes_inside_the_domain() -> None:
    result = run("check", "log(x) * sqrt(y) + relu(x - y) + abs(x) / (1 + y*y)", "--examples", "30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "f(x, y) = log(x) * sqrt(y) + relu(x - y) + abs(x) / (1 + y*y)"
    assert "check: passed: derivatives agree with central differences at 30 points" in result.stdout


def test_check_second_order_and_seed() -> None:
    result = run("check", "tanh(x) * exp(y)", "--examples", "10", "--second-order", "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert "first and second derivatives agree" in result.stdout


def test_check_reports_a_disagreement_with_exit_1() -> None:
    # Adding 1e15 then subtracting it keeps the derivative 1, but the finite difference drowns in rounding
    # (floats near 1e15 are 0.125 apart): a real disagreement, reported with the point and the table.
    result = run("check", "(x + 1e15) - 1e15", "--examples", "20")
    assert result.returncode == 1
    assert "check: FAILED at x = " in result.stdout
    assert "<-- FAIL" in result.stdout
    assert result.stderr == ""


def test_check_without_variables() -> None:
    result = run("check", "2 * 3")
    assert result.returncode == 0
    assert "no variables" in result.stdout


def write_demo(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(f'"""The {name} demo, for tests."""\n{body}\n', encoding="utf-8")


def test_demo_lists_and_runs_with_arguments(tmp_path: Path) -> None:
    write_demo(tmp_path, "hello", "import sys\nprint('hello', sys.argv[1:])\nraise SystemExit(3)")
    write_demo(tmp_path, "_private", "")
    env = {cli.DEMOS_ENV: str(tmp_path)}
    listing = run("demo", env=env)
    assert listing.returncode == 0
    assert "hello  The hello demo, for tests." in listing.stdout
    assert "_private" not in listing.stdout
    ran = run("demo", "hello", "--", "--quick", "x", env=env)
    assert ran.returncode == 3  # the demo's own exit status
    assert ran.stdout.strip() == "hello ['--quick', 'x']"
    assert run("demo", "hello.py", "a", env=env).stdout.strip() == "hello ['a']"
    assert_usage_error(run("demo", "nope", env=env), "no demo named 'nope'", "hello")


def test_demo_directory_missing(tmp_path: Path) -> None:
    assert_usage_error(
        run("demo", env={cli.DEMOS_ENV: str(tmp_path / "absent")}), "cannot find the demos/ directory"
    )
    package = tmp_path / "site-packages" / "tinygrad_w"
    package.mkdir(parents=True)
    assert cli.find_demos(package) is None  # as when installed from a wheel


def test_demo_lists_the_repository_demos() -> None:
    if not (REPO / "demos").is_dir():
        pytest.skip("no demos/ in this checkout")
    result = run("demo")
    assert result.returncode == 0
    assert f"demos in {REPO / 'demos'}" in result.stdout


def test_demo_list_prints_each_demos_whole_first_paragraph_wrapped() -> None:
    if not (REPO / "demos").is_dir():
        pytest.skip("no demos/ in this checkout")
    listing = run("demo").stdout
    assert all(len(line) <= 100 for line in listing.splitlines())
    joined = " ".join(listing.split())
    for path in sorted((REPO / "demos").glob("[!_]*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        paragraph = " ".join(docstring.split("\n\n", 1)[0].split())
        assert f"{path.stem} {paragraph}" in joined, path.stem
    # draw_graphs' first paragraph spans two lines of its docstring: both are listed
    assert "and training as an animation." in listing


def test_console_script_is_declared() -> None:
    text = (REPO / "pyproject.toml").read_text()
    scripts = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    assert 'tinygrad-w = "tinygrad_w.cli:main"' in scripts


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["grad", "x*x", "x=3"]) == 0
    assert "∂f/∂x = 6.0" in capsys.readouterr().out
    assert cli.main(["grad", "x[0]", "x=3"]) == 2
    assert (
        capsys.readouterr().err.strip() == "tinygrad-w grad: error: subscripts not allowed (column 1: 'x[0]')"
    )


def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).with_name("tinygrad-w")
    if not script.exists():
        pytest.skip("the package is not installed with its console script (pip install -e .)")
    result = subprocess.run(
        [str(script), "grad", "x**3", "x=2"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "∂f/∂x = 12.0" in result.stdout


# ----------------------------------------------------------------------------------------------------
# Hostile paths and numbers: exit 2, one line, no traceback, nothing created


def test_a_non_finite_gradient_is_one_line_and_nothing_on_stdout() -> None:
    result = run("grad", "1/x", "x=1e-170")
    assert_usage_error(result, "tinygrad-w grad: error: backward:", "-inf", "div(1.0, 1e-170)")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("output", "fragments"),
    [
        ("{tmp}", ["-o '", "is a directory"]),
        ("{tmp}/missing/g.svg", ["-o '", "the directory", "missing' does not exist"]),
        ("{tmp}/afile/g.svg", ["-o '", "Not a directory"]),
        ("{tmp}/" + "x" * 300 + ".svg", ["-o '", "File name too long"]),
        ("/proc/g.svg", ["'/proc/g.svg': No such file or directory"]),  # read-only even for root
        ("", ["-o: the path is empty"]),
        (
            "{tmp}/fifo",
            ["-o '", "fifo': not a regular file"],
        ),  # (never /dev/null: as root, a bug would replace it)
    ],
)
def test_graph_output_paths_that_cannot_be_written(tmp_path: Path, output: str, fragments: list[str]) -> None:
    (tmp_path / "afile").write_text("a file, not a directory")
    os.mkfifo(tmp_path / "fifo")
    result = run("graph", "x*2", "x=1", "-o", output.format(tmp=tmp_path), cwd=tmp_path)
    assert_usage_error(result, "tinygrad-w graph: error: ", *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "fifo"]  # nothing written, no folder made


def test_graph_writes_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "g.dot").symlink_to("real.dot")
    result = run("graph", "x*2", "x=1", "-o", str(tmp_path / "g.dot"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "g.dot").is_symlink() and "digraph" in (tmp_path / "real.dot").read_text()


def test_check_range_takes_negative_numbers_in_any_notation() -> None:
    result = run("check", "x*x", "--range", "-1e-3", "1", "--examples", "5")
    assert result.returncode == 0, result.stderr
    assert "in [-0.001, 1]" in result.stdout


def test_check_tests_only_points_inside_the_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinygrad_w.cli import command

    seen: list[float] = []
    original = command._PointCheck.__call__

    def spy(self: Any, point: dict[str, float]) -> bool:
        seen.append(point["x"])
        return original(self, point)

    monkeypatch.setattr(command._PointCheck, "__call__", spy)
    assert command.main(["check", "x", "--range", "5.0001", "5.0004", "--examples", "30"]) == 0
    assert len(set(seen)) > 5 and all(5.0001 <= x <= 5.0004 for x in seen)
    seen.clear()
    assert command.main(["check", "1/x", "--range", "0.0001", "0.0004", "--examples", "20"]) == 0
    assert "passed" in capsys.readouterr().out
    assert seen and all(0.0001 <= x <= 0.0004 for x in seen)
