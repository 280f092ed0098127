"""Tests of the exercise grader (tinygrad_w.learn, `tinygrad-w learn check FILE`) on learner engines kept
in tests/learners: the correct one passes every chapter; each broken one fails the chapter of its bug,
and the grader names the op, shrinks the failing expression and draws it. Bugs of chapters 5-8 are made
here, as the correct engine with one piece replaced."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tinygrad_w.cli import main
from tinygrad_w.learn.grader import CHAPTERS, check_file
from tinygrad_w.learn.report import FAILED, NOT_GRADED, NOT_WRITTEN, PASSED, Grade

LEARNERS = Path(__file__).resolve().parent / "learners"
TEMPLATE = Path(__file__).resolve().parent.parent / "docs" / "learn" / "exercises" / "engine.py"
EXAMPLES = 60  # random expressions per search: enough to shrink to a one-op expression, quick to run


def grade(name: str, tmp_path: Path) -> Grade:
    return check_file(LEARNERS / f"{name}.py", examples=EXAMPLES, drawings=tmp_path)


def statuses(result: Grade) -> list[str]:
    return [chapter.status for chapter in result.chapters]


def test_the_correct_engine_passes_every_chapter(tmp_path: Path) -> None:
    result = grade("correct", tmp_path)
    assert statuses(result) == [PASSED] * len(CHAPTERS), str(result)
    assert result.ok
    assert str(result).endswith("verdict: every chapter passes")
    assert not list(tmp_path.iterdir())  # nothing failed, nothing drawn


def test_the_untouched_template_is_not_written_yet(tmp_path: Path) -> None:
    result = check_file(TEMPLATE, drawings=tmp_path)
    assert statuses(result) == [NOT_WRITTEN] + [NOT_GRADED] * (len(CHAPTERS) - 1)
    assert result.ok  # nothing written is wrong
    first = str(result.chapters[0])
    assert "still to write: sub's forward, mul's forward" in first
    assert "apply" in first
    assert result.verdict() == "next: chapter 1"


def test_a_learner_halfway_passes_what_is_written(tmp_path: Path) -> None:
    """The template with chapters 1 and 2 done (copied from the correct engine): those pass, chapter 3
    is next, and the report lists what chapter 3 still needs."""
    correct = (LEARNERS / "correct.py").read_text(encoding="utf-8")
    text = TEMPLATE.read_text(encoding="utf-8")
    for name in ("FORWARD", "apply", "DERIVATIVE", "pullback"):
        text = text.replace(segment(text, name), segment(correct, name))
    engine = tmp_path / "my_engine.py"
    engine.write_text(text, encoding="utf-8")
    result = check_file(engine, examples=EXAMPLES, drawings=tmp_path)
    assert statuses(result)[:3] == [PASSED, PASSED, NOT_WRITTEN], str(result)
    assert "still to write: topological_order" in str(result.chapters[2])
    assert result.ok and result.verdict() == "chapters 1-2 pass; next: chapter 3"


def segment(source: str, name: str) -> str:
    """The source text of the top-level function or assignment ``name``."""
    for node in ast.parse(source).body:
        if getattr(node, "name", None) == name or (
            isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == name
        ):
            found = ast.get_source_segment(source, node)
            assert found is not None
            return found
    raise AssertionError(f"{name} is not in the source")


def failed_chapter(result: Grade, number: int) -> str:
    assert statuses(result)[: number - 1] == [PASSED] * (number - 1), str(result)
    assert statuses(result)[number - 1] == FAILED, str(result)
    assert statuses(result)[number:] == [NOT_GRADED] * (len(CHAPTERS) - number)
    assert not result.ok
    return str(result.chapters[number - 1])


def assert_drawn(result: Grade, number: int, wrong: str) -> None:
    """The failing expression was drawn to an SVG whose wrong box says what it should be."""
    drawing = result.chapters[number - 1].drawing
    assert drawing is not None and drawing.suffix == ".svg" and drawing.is_file()
    svg = drawing.read_text(encoding="utf-8")
    assert "<svg" in svg
    assert f"✗ {wrong} should be" in svg


def test_a_wrong_forward_rule_fails_chapter_1_naming_the_op(tmp_path: Path) -> None:
    result = grade("broken_forward", tmp_path)
    text = failed_chapter(result, 1)
    assert result.chapters[0].wrong == ["sub"]
    assert "sub: forward wrong: sub at a = 0.7, b = 1.3: yours 0.6" in text
    # shrunk to one subtraction; the blame names it
    assert result.chapters[0].expression.startswith("f = (")
    assert " - " in result.chapters[0].expression
    assert "on it: sub(" in text
    assert_drawn(result, 1, "data")
    assert result.verdict() == "chapter 1 FAILED: wrong: sub"


def test_a_wrong_derivative_fails_chapter_2_naming_the_op(tmp_path: Path) -> None:
    result = grade("broken_derivative", tmp_path)
    text = failed_chapter(result, 2)
    assert result.chapters[1].wrong == ["tanh"]
    assert "tanh: derivative wrong: ∂/∂x of tanh at x = 0.7: yours 0.395632, right 0.63474" in text
    assert result.chapters[1].expression == "f = tanh(x) at x = 1.0"
    assert "passed back by tanh" in text
    assert_drawn(result, 2, "grad")


def test_a_rule_that_leaves_the_graph_fails_chapter_4_naming_the_op(tmp_path: Path) -> None:
    result = grade("broken_second_order", tmp_path)
    text = failed_chapter(result, 4)
    assert result.chapters[3].wrong == ["sigmoid"]
    assert "sigmoid: second derivative ∂²/∂x² of sigmoid at x = 0.7: yours 0, right -0.0745788" in text
    assert "does not contain x at all" in text
    assert result.chapters[3].expression == "f = sigmoid(x) at x = 1.0"
    drawing = result.chapters[3].drawing
    assert drawing is not None and "your ∂f/∂x" in drawing.read_text(encoding="utf-8")


def test_overwritten_gradients_fail_chapter_3_naming_the_binary_ops(tmp_path: Path) -> None:
    result = grade("broken_accumulate", tmp_path)
    text = failed_chapter(result, 3)
    assert set(result.chapters[2].wrong) >= {"add", "sub", "mul", "div"}
    assert "add: wrong derivative: add(x, x)" in text
    assert result.chapters[2].expression == "f = (x + x) at x = 0.0"
    assert "it is used 2 times" in text
    assert "accumulate with +=" in text
    assert_drawn(result, 3, "grad")


# Bugs of the later chapters: the correct engine with one piece replaced.
LATER_BUGS = {
    "forgotten bias": (
        5,
        "Neuron.__call__",
        """
def _call(self, xs):
    total = Value(0.0)
    for w, x in zip(self.w, xs):
        total = total + w * x
    return ACTIVATIONS[self.activation](total)
Neuron.__call__ = _call
""",
    ),
    "last layer left out": (
        5,
        "MLP",
        "MLP.parameters = lambda self: [p for l in self.layers[:-1] for p in l.parameters()]",
    ),
    "gradients never zeroed": (
        6,
        "train",
        """
def train(model, xs, ys, steps, lr):
    losses = []
    for _ in range(steps):
        loss = mse([model(x) for x in xs], ys)
        loss.backward()
        sgd_step(model.parameters(), lr)
        losses.append(loss.data)
    return losses
""",
    ),
    "uphill step": (
        6,
        "sgd_step",
        """
def sgd_step(params, lr):
    for p in params:
        p.data += lr * p.grad
""",
    ),
    "nodes named by id": (
        7,
        "to_dot",
        """
def to_dot(root):
    order = topological_order(root)
    lines = [f'  n{id(v)} [label="{v.data:.4f} {v.grad:.4f}"]' for v in order]
    lines += [f"  n{id(c)} -> n{id(v)}" for v in order for c in v.children]
    return "digraph {\\n" + "\\n".join(lines) + "\\n}"
""",
    ),
    "one edge per pair": (
        7,
        "to_dot",
        """
def to_dot(root):
    order = topological_order(root)
    name = {id(v): f"n{i}" for i, v in enumerate(order)}
    lines = [f'  {name[id(v)]} [label="{v.data:.4f} {v.grad:.4f}"]' for v in order]
    lines += sorted({f"  {name[id(c)]} -> {name[id(v)]}" for v in order for c in v.children})
    return "digraph {\\n" + "\\n".join(lines) + "\\n}"
""",
    ),
    "one-sided difference": (
        8,
        "numeric_gradient",
        """
def numeric_gradient(f, xs, eps=1e-6):
    slopes = []
    for i in range(len(xs)):
        up = list(xs)
        up[i] += eps
        slopes.append((f(*up) - f(*xs)) / eps)
    return slopes
""",
    ),
    "a check that always passes": (8, "gradcheck", "gradcheck = lambda f, xs, atol=1e-5, rtol=1e-3: True"),
}


@pytest.mark.parametrize("bug", sorted(LATER_BUGS))
def test_bugs_of_the_later_chapters_are_named(bug: str, tmp_path: Path) -> None:
    number, piece, code = LATER_BUGS[bug]
    engine = tmp_path / "engine.py"
    engine.write_text(
        "from pathlib import Path\n"
        f"exec(Path({str(LEARNERS / 'correct.py')!r}).read_text(encoding='utf-8'), globals())\n{code}\n",
        encoding="utf-8",
    )
    result = check_file(engine, examples=EXAMPLES, drawings=tmp_path / "drawings")
    failed_chapter(result, number)
    assert result.chapters[number - 1].wrong == [piece], str(result)


def test_the_template_and_the_correct_engine_share_the_given_code() -> None:
    """Every function or class of the template exists in the correct engine, and each given function
    (one that calls no todo) is the same code, so the tests grade what a learner starts from."""

    def functions(path: Path) -> dict[str, ast.AST]:
        found: dict[str, ast.AST] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                found[node.name] = node
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        found[f"{node.name}.{item.name}"] = item
            elif isinstance(node, (ast.FunctionDef, ast.Assign)):
                name = node.name if isinstance(node, ast.FunctionDef) else ast.unparse(node.targets[0])
                found[name] = node
        return found

    template, correct = functions(TEMPLATE), functions(LEARNERS / "correct.py")
    assert set(template) <= set(correct)
    for name, node in template.items():
        calls_todo = any(isinstance(n, ast.Name) and n.id == "todo" for n in ast.walk(node))
        if not calls_todo and not isinstance(node, ast.ClassDef):
            assert ast.dump(node) == ast.dump(correct[name]), f"{name} differs from the template"


def test_the_same_seed_gives_the_same_report(tmp_path: Path) -> None:
    first = str(grade("broken_derivative", tmp_path / "a")).replace(str(tmp_path / "a"), "DIR")
    second = str(grade("broken_derivative", tmp_path / "b")).replace(str(tmp_path / "b"), "DIR")
    assert first == second


def test_the_command_exits_0_1_or_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["learn", "check", "--examples", str(EXAMPLES), "--drawings", str(tmp_path)]
    assert main([*base, str(LEARNERS / "correct.py")]) == 0
    assert "verdict: every chapter passes" in capsys.readouterr().out
    assert main([*base, "--chapter", "2", str(LEARNERS / "broken_derivative.py")]) == 1
    out = capsys.readouterr().out
    assert "verdict: chapter 2 FAILED: wrong: tanh" in out
    assert "chapter 3" not in out  # --chapter 2 grades chapters 1 and 2 only
    assert main([*base, str(tmp_path / "missing.py")]) == 2
    assert "learn check: no file" in capsys.readouterr().err
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    assert main([*base, str(tmp_path / "broken.py")]) == 2
    assert "stops while it is imported: SyntaxError" in capsys.readouterr().err
    assert main([*base, "--chapter", "9", str(LEARNERS / "correct.py")]) == 2
