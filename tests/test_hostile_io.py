"""The hostile suite, part 3: files (save, load, the atomic writer) with hostile paths and contents, the
command line with hostile arguments, the formula parser, the PyTorch bridge and gradient checking.
Rule: hostile_support. File cases: FIFO, device files, symbolic links (dangling, looping), a read-only
place, a path through a file, names too long, kill -9 during a save."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_support import FAST, FEW, HOSTILE, clean, files_in, finite, numbers_of, scalars
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w import MLP, Value, load, save
from tinygrad_w.atomic import write_bytes_atomically
from tinygrad_w.cli.command import main
from tinygrad_w.cli.expr import parse, parse_with_inputs, variable_names
from tinygrad_w.testing import gradcheck, gradgradcheck, near_kinks_or_edges, numeric_gradient

REPO = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------------------------------
# A folder full of hostile places, made once per module


def _good_document() -> str:
    with tempfile.TemporaryDirectory() as folder:
        save(MLP(2, [2, 1], seed=0), Path(folder) / "good.json")
        return (Path(folder) / "good.json").read_text()


GOOD_DOCUMENT = _good_document()


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A sandbox of hostile places, and the working directory while the module runs: a relative path
    drawn by Hypothesis lands here, never in the repository."""
    root = tmp_path_factory.mktemp("hostile")
    save(MLP(2, [2, 1], seed=0), root / "good.json")
    (root / "a_file").write_text("not a folder")
    (root / "folder").mkdir()
    os.mkfifo(root / "fifo")
    (root / "to_zero").symlink_to("/dev/zero")  # read-only cases only: as root a bug could replace a device
    (root / "to_fifo").symlink_to("fifo")
    (root / "dangling").symlink_to("nowhere/at/all.json")
    (root / "loop_a").symlink_to("loop_b")
    (root / "loop_b").symlink_to("loop_a")
    (root / "link_to_good").symlink_to("good.json")
    (root / "garbage.json").write_bytes(b"\xff\xfe{not json")
    (root / "nested.json").write_text("[" * 100_000)
    cwd = os.getcwd()
    os.chdir(root)
    yield root
    os.chdir(cwd)


def restore(root: Path) -> None:
    """Undo what a successful write did (through link_to_good, say): the next example starts alike."""
    save(MLP(2, [2, 1], seed=0), root / "good.json")
    for name in ("new.json", "spoiled.json", "garbage.json.tmp"):
        if (root / name).exists():
            (root / name).unlink()


def sandboxed(text: str) -> bool:
    """A drawn name that stays in the sandbox: no folder separator, no '..'."""
    return "/" not in text and "\\" not in text and text not in (".", "..")


def hostile_paths(root: Path, *, reading: bool = False) -> st.SearchStrategy[Any]:
    """Paths of every kind inside the sandbox, and (for reading only) a few outside it."""
    names = ["good.json", "a_file/x.json", "folder", "fifo", "to_fifo", "dangling", "loop_a", "link_to_good",
             "garbage.json", "nested.json", "missing/x.json", "x" * 300, "new.json", "", "a\0b"]  # fmt: skip
    outside = (
        ["/dev/null", "/dev/zero", "/proc/self/status", "/", "to_zero"] if reading else ["/proc/hostile.json"]
    )
    return st.one_of(
        st.sampled_from(names).map(lambda name: str(root / name) if name and "\0" not in name else name),
        st.sampled_from(outside),
        scalars().filter(lambda x: not isinstance(x, str) or sandboxed(x)),
    )


@FAST
@given(st.data())
def test_load_anything(place: Path, data: st.DataObject) -> None:
    path = data.draw(hostile_paths(place))
    clean(
        lambda: load(path),
        "load",
        state=lambda: files_in(place),
        correct=lambda model: isinstance(model, MLP),
    )


@FAST
@given(st.data(), st.sampled_from(["model", "path"]))
def test_save_anything(place: Path, data: st.DataObject, which: str) -> None:
    model: Any = MLP(2, [2, 1], seed=1)
    path: Any = str(place / "new.json")
    if which == "model":
        model = data.draw(st.one_of(HOSTILE, st.just(model)))
        damage = data.draw(st.sampled_from(["none", "weight", "activation", "fused", "nouts"]))
        value = data.draw(HOSTILE)
        if isinstance(model, MLP):
            target = {"weight": (model.layers[0].neurons[0].w[0], "data"), "activation": (model, "activation"),
                      "fused": (model, "fused"), "nouts": (model, "nouts")}.get(damage)  # fmt: skip
            if target is not None:
                setattr(*target, value)
    else:
        path = data.draw(hostile_paths(place))

    def correct(_: None) -> None:
        written = load(path)  # whatever save accepted, load reads back, bit for bit
        assert [p.data for p in written.parameters()] == [float(p.data) for p in model.parameters()]

    clean(lambda: save(model, path), "save", state=lambda: files_in(place), correct=correct)
    assert [n for n in os.listdir(place) if n.endswith(".tmp")] == []
    restore(place)


@FAST
@given(st.data(), st.one_of(st.binary(max_size=20), HOSTILE))
def test_atomic_write_anything(place: Path, data: st.DataObject, content: Any) -> None:
    path = data.draw(hostile_paths(place))
    if isinstance(path, str) and path in (str(place / "good.json"), str(place / "link_to_good")):
        path = str(place / "new.json")  # good.json must stay good for the other tests
    clean(
        lambda: write_bytes_atomically(path, content), "write_bytes_atomically", state=lambda: files_in(place)
    )
    if (place / "new.json").exists():
        (place / "new.json").unlink()


@FEW
@given(
    st.sampled_from(
        ["version", "parameter_count", "architecture", "parameters", "format", "extra", "weight"]
    ),
    HOSTILE,
)
def test_load_a_file_with_any_field_spoiled(place: Path, field: str, value: Any) -> None:
    document = json.loads(GOOD_DOCUMENT)  # not place/good.json: other tests throw hostile writes at it
    if field == "weight":
        document["parameters"]["layers.0.neurons.0.w.0"] = value
    else:
        document[field] = value
    try:
        text = json.dumps(document)
    except (TypeError, ValueError):
        return  # not representable in JSON: no file can hold it
    spoiled = place / "spoiled.json"
    spoiled.write_text(text)
    clean(lambda: load(spoiled), "load", correct=lambda model: isinstance(model, MLP))
    restore(place)


KILLED_SAVE = """
import sys, time
from tinygrad_w import MLP
from tinygrad_w.interop import files
from tinygrad_w import atomic

original = atomic._write_and_rename
def slow(target, directory, mode, write):
    def half(file):
        file.write(b'{"format": "tinygrad_w.mlp", "half')
        file.flush()
        print("writing", flush=True)
        time.sleep(60)
    original(target, directory, mode, half)
atomic._write_and_rename = slow
files.save(MLP(3, [4, 1], seed=5), sys.argv[1])
"""


def test_kill_9_during_a_save_keeps_the_old_model_and_the_next_save_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save(MLP(2, [2, 1], seed=0), path)
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, cwd=REPO)
    assert child.stdout is not None and child.stdout.readline() == b"writing\n"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert path.read_bytes() == before and load(path).nin == 2
    assert len(os.listdir(tmp_path)) == 2  # the killed save's temporary file
    save(MLP(4, [1], seed=1), path)
    assert os.listdir(tmp_path) == ["m.json"] and load(path).nin == 4


# ----------------------------------------------------------------------------------------------------
# The command line: exit 0, 1 or 2; on 2 one line on stderr; never a traceback

WORDS = ["grad", "graph", "check", "demo", "--", "-o", "--range", "--examples", "--seed", "--second-order",
         "x", "x=1", "x=nan", "x=1e999", "x=-1e-3", "y=2", "x*y", "1/x", "log(x)", "sqrt(x)", "exp(x)", "x**x",
         "relu(x)", "-x", "(", "x.__class__", "__import__('os')", "x" * 1200, "\0", "\n", "-1e-3", "5",
         "0", "99999999999999999999", "inf", "nope"]  # fmt: skip


@FAST
@given(argv=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6).filter(sandboxed)), max_size=7))
def test_the_command_line_with_anything(
    tmp_path_factory: pytest.TempPathFactory, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path_factory.mktemp("cli")
    if argv[:1] == ["demo"] and len(argv) > 1:
        return  # running the demos is not hostile input; their names are checked in test_cli
    if "--examples" in argv and argv[argv.index("--examples") + 1 : argv.index("--examples") + 2] not in (
        ["0"],
        ["99999999999999999999"],
        ["nope"],
    ):
        argv = [w for w in argv if w != "--examples"]  # a legal count is a wish for a long run, not an attack
    cwd = os.getcwd()
    os.chdir(folder)  # graph writes graph.svg here by default
    try:
        try:
            status = main(argv)
        except SystemExit as stop:  # argparse's own exits: --help, --version, usage errors
            status = stop.code if isinstance(stop.code, int) else 2
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    assert status in (0, 1, 2)
    assert "Traceback" not in captured.err
    if status == 2 and "usage:" not in captured.out:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tinygrad-w"), captured.err


@pytest.mark.parametrize(
    "argv",
    [["grad", "1/x", "x=1e-170"], ["graph", "x", "x=1", "-o", "/proc/x.svg"], ["check", "x", "--examples", "1e9"],
     ["grad", "x" * 1200, "x=1"], ["grad", "x +\x01 1", "x=1"], ["check", "x", "--range", "-1e-3", "nan"]],
)  # fmt: skip
def test_a_real_process_prints_one_line_and_exits_2(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_w", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# ----------------------------------------------------------------------------------------------------
# The formula parser


@FAST
@given(
    st.one_of(st.text(max_size=20), st.sampled_from(WORDS), HOSTILE),
    st.dictionaries(st.text(max_size=3), HOSTILE, max_size=2),
)
def test_parse_anything(text: Any, variables: dict[str, Any]) -> None:
    clean(
        lambda: parse_with_inputs(text, variables),
        "parse_with_inputs",
        correct=lambda out: finite(out[0].data),
    )
    clean(lambda: variable_names(text), "variable_names", correct=lambda names: isinstance(names, list))
    if all(isinstance(name, str) and name.isidentifier() for name in variables):
        clean(lambda: parse(text, **variables), "parse", correct=lambda out: finite(out.data))


# ----------------------------------------------------------------------------------------------------
# Gradient checking


@FAST
@given(
    st.one_of(
        st.sampled_from([lambda x: x * x, lambda x: x.log(), lambda *xs: Value(1.0), lambda x: "no"]), HOSTILE
    ),
    st.one_of(HOSTILE, st.lists(st.floats(0.1, 2.0), min_size=1, max_size=2)),
    st.sampled_from(["eps", "atol", "rtol", "labels"]),
    HOSTILE,
)
def test_gradcheck_with_anything(f: Any, inputs: Any, setting: str, value: Any) -> None:
    leaves = [x for x in inputs if isinstance(x, Value)] if isinstance(inputs, list) else []
    for check, name in ((gradcheck, "gradcheck"), (gradgradcheck, "gradgradcheck")):
        # a disagreement is a correct result (GradcheckError names the check); f's own domain error
        # (log of a negative input) propagates unchanged, as documented, and names log
        clean(
            lambda check=check: check(f, inputs, **{setting: value}),  # type: ignore[misc]
            (name, "log"),
            state=lambda: numbers_of(leaves),
            correct=lambda ok: ok is True,
        )


@FAST
@given(HOSTILE, HOSTILE)
def test_numeric_helpers_with_anything(point: Any, eps: Any) -> None:
    clean(
        lambda: numeric_gradient(lambda p: sum(p), point, eps),
        "numeric_gradient",
        correct=lambda g: all(map(finite, g)),
    )
    clean(
        lambda: near_kinks_or_edges(point, eps),
        "near_kinks_or_edges",
        correct=lambda out: isinstance(out, list),
    )


# ----------------------------------------------------------------------------------------------------
# The PyTorch bridge (skipped without torch)


@FEW
@given(st.one_of(HOSTILE, st.sampled_from(["Softplus5", "NaN", "Dropout", "float64-Softplus20", "Bilinear"])))
def test_torch_bridge_with_anything(thing: Any) -> None:
    torch = pytest.importorskip("torch")
    from tinygrad_w import from_torch, to_torch

    nn = torch.nn

    def with_nan() -> Any:
        sequential = nn.Sequential(nn.Linear(2, 2))
        with torch.no_grad():
            sequential[0].weight[0, 1] = float("nan")
        return sequential

    built = {
        "Softplus5": lambda: nn.Sequential(nn.Linear(2, 2), nn.Softplus(threshold=5)),
        "NaN": with_nan,
        "Dropout": lambda: nn.Sequential(nn.Linear(2, 2), nn.Dropout()),
        "float64-Softplus20": lambda: nn.Sequential(nn.Linear(2, 2, dtype=torch.float64), nn.Softplus()),
        "Bilinear": lambda: nn.Sequential(nn.Bilinear(2, 2, 2)),
    }  # fmt: skip
    if isinstance(thing, str) and thing in built:
        thing = built[thing]()
    clean(lambda: from_torch(thing), "from_torch", correct=lambda model: isinstance(model, MLP))
    clean(lambda: to_torch(thing), "to_torch")


# ----------------------------------------------------------------------------------------------------
# Strategies, the engine adapter, History's files


@FAST
@given(st.sampled_from(["ops", "variables", "max_depth", "low", "high"]), HOSTILE)
def test_strategy_makers_with_anything(setting: str, value: Any) -> None:
    from tinygrad_w.testing.strategies import expression_cases, inputs_for, mlp_cases, op_spec

    clean(lambda: expression_cases(**{setting: value}), "expression_cases")
    if setting in ("low", "high"):
        clean(lambda: inputs_for(["x"], **{setting: value}), "inputs_for")
    clean(lambda: op_spec(value), "op_spec")
    clean(lambda: mlp_cases(max_width=value), "mlp_cases")


@FEW
@given(st.sampled_from(["adapter", "examples", "points_per_op", "seed", "eps", "expressions"]), HOSTILE)
def test_check_engine_with_anything(setting: str, value: Any) -> None:
    from tinygrad_w.testing.adapter import EngineAdapter, check_engine

    arguments: dict[str, Any] = {
        "adapter": EngineAdapter.for_class(Value),
        "examples": 1,
        "points_per_op": 1,
        "expressions": False,
    }
    arguments[setting] = value
    adapter = arguments.pop("adapter")
    if setting in ("examples", "points_per_op") and isinstance(value, int) and value > 3:
        return  # a legal count asks for a long run
    # our own Value passes, unless a huge eps makes central differences meaningless (then it says so)
    clean(
        lambda: check_engine(adapter, **arguments),
        "check_engine",
        correct=lambda report: report.ok or setting == "eps",
    )
    clean(lambda: EngineAdapter.for_class(value), "for_class")


@FEW
@given(st.data(), st.sampled_from(["to_csv", "to_json", "plot"]))
def test_history_files_anywhere(place: Path, data: st.DataObject, method: str) -> None:
    from tinygrad_w.train import History

    history = History(epoch=[1], loss=[0.5], data_loss=[0.5], penalty=[0.0], lr=[0.1], grad_norm=[[1.0]],
                      seconds=[0.01], layer_names=["all"])  # fmt: skip
    path = data.draw(hostile_paths(place))
    if isinstance(path, str) and method == "plot" and path.endswith(("good.json", "link_to_good")):
        return  # a .json plot: refused above all by its format; covered by test_train
    clean(
        lambda: getattr(history, method)(path),
        "History",
        state=lambda: files_in(place),
    )
    restore(place)
