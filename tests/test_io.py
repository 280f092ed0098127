"""Tests of tinygrad_w.io: bit-exact round trips for random architectures, atomic writes, and a clear
FileFormatError for every way a file can be missing, truncated, corrupt, of another version or inconsistent."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_w as tg
from tinygrad_w import MLP, FileFormatError, Value, load, save
from tinygrad_w.interop.files import FORMAT, VERSION
from tinygrad_w.nn.layers import ACTIVATIONS


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def outputs(model: MLP, x: list[float]) -> list[float]:
    out = model(x)
    return [o.data for o in (out if isinstance(out, list) else [out])]


# ----------------------------------------------------------------------------------------------------
# Round trips


@settings(max_examples=60)
@given(
    nin=st.integers(1, 4),
    nouts=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    output_activation=st.sampled_from(sorted(ACTIVATIONS)),
    weight_init=st.sampled_from(["uniform", "normal", "he_normal", "xavier_uniform"]),
    fused=st.booleans(),
    seed=st.integers(0, 2**64),
    specials=st.lists(
        st.sampled_from([-0.0, 5e-324, -1.7976931348623157e308, 0.1, 1 / 3, 2.0**-1074]), max_size=3
    ),
)
def test_round_trip_is_bit_exact(
    nin: int,
    nouts: list[int],
    activation: str,
    output_activation: str,
    weight_init: str,
    fused: bool,
    seed: int,
    specials: list[float],
) -> None:
    model = MLP(
        nin, nouts, activation, output_activation=output_activation, init=weight_init, bias_init="normal",
        seed=seed, fused=fused,
    )  # fmt: skip
    for p, special in zip(model.parameters(), specials):
        p.data = special  # values whose decimal form is awkward: -0.0, subnormals, the largest float
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.json")
        save(model, path)
        loaded = load(path)
        assert os.listdir(directory) == ["model.json"]  # no temporary file left behind
    assert isinstance(loaded, MLP)
    assert (loaded.nin, loaded.nouts, loaded.activation, loaded.output_activation, loaded.fused) == (
        nin, nouts, activation, output_activation, fused,
    )  # fmt: skip
    assert [name for name, _ in loaded.named_parameters()] == [name for name, _ in model.named_parameters()]
    assert [bits(p.data) for p in loaded.parameters()] == [bits(p.data) for p in model.parameters()]
    assert [p.label for p in loaded.parameters()] == [p.label for p in model.parameters()]
    if not specials:  # (the largest float would overflow the forward pass)
        x = [0.5 - i for i in range(nin)]
        assert outputs(loaded, x) == outputs(model, x)


def test_file_is_readable_json_with_format_version_and_architecture(tmp_path: Path) -> None:
    model = MLP(2, [3, 1], "tanh", seed=0)
    save(model, tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    assert document["format"] == FORMAT == "tinygrad_w.mlp" and document["version"] == VERSION == 1
    assert document["architecture"] == {
        "nin": 2, "nouts": [3, 1], "activation": "tanh", "output_activation": "linear", "fused": False,
    }  # fmt: skip
    assert document["parameter_count"] == 13
    assert document["parameters"]["layers.0.neurons.2.w.1"] == model.layers[0].neurons[2].w[1].data


def test_saving_replaces_an_existing_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=0), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    save(MLP(3, [2], seed=1), str(path))
    assert load(path).nin == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.json"
    save(MLP(2, [1], seed=0), path)
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save(MLP(5, [4, 4], seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]  # the temporary file was removed


def test_save_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    model = MLP(2, [1], seed=0)
    model.layers[0].neurons[0].b.data = math.nan  # only possible by writing .data directly
    with pytest.raises(
        tg.NonFiniteError,
        match=r"^save '.*m\.json': parameter layers\.0\.neurons\.0\.b \(L1\.N0\.b\): got nan",
    ):
        save(model, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    with pytest.raises(tg.OperandTypeError, match="save: expected an MLP, got Value"):
        save(Value(1.0), tmp_path / "m.json")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------
# Every corrupt-file case


def valid_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "m.json")
        save(MLP(2, [2, 1], seed=0), path)
        with open(path) as f:
            document: dict[str, Any] = json.load(f)
    return document


def edited(edit: Callable[[dict[str, Any]], None]) -> bytes:
    document = valid_document()
    edit(document)
    return json.dumps(document).encode()


def set_in(*keys_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *keys, value = keys_and_value

    def edit(document: dict[str, Any]) -> None:
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def delete(*keys: str) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        target = document
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return edit


def rename_parameter(document: dict[str, Any]) -> None:
    parameters = document["parameters"]
    parameters["layers.0.neurons.0.w.7"] = parameters.pop("layers.0.neurons.0.w.1")


def add_parameter(document: dict[str, Any]) -> None:
    document["parameters"]["layers.0.neurons.5.b"] = 0.0
    document["parameter_count"] += 1


def valid_text() -> str:
    return json.dumps(valid_document(), indent=1)


W = "layers.0.neurons.0.w.0"


def with_raw_value(literal: str) -> bytes:
    """The valid file with W's number replaced by ``literal`` as written (NaN, 1e400)."""
    text, replacements = re.subn(rf'("{re.escape(W)}": )[^,\n]+', rf"\g<1>{literal}", valid_text())
    assert replacements == 1
    return text.encode()


CORRUPT: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "the file is empty"),
    "only whitespace": (b"  \n\n", "the file is empty"),
    "truncated": (
        valid_text()[: len(valid_text()) // 2].encode(),
        r"not valid JSON \(the file looks truncated\)",
    ),
    "garbage": (b"hello, I am not a model", "not valid JSON: Expecting value at line 1, column 1"),
    "binary": (b"\x80\x81\xfe\xff\x00", "not UTF-8 text"),
    "a pickle": (b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.", "not UTF-8 text"),
    "top-level array": (b"[1, 2, 3]", "expected a JSON object at the top, got an array"),
    "top-level number": (b"3.5", "expected a JSON object at the top, got a number"),
    "no format": (edited(delete("format")), "no 'format' field; not a tinygrad_w model file"),
    "other format": (
        edited(set_in("format", "keras")),
        "format is a string \"keras\", expected 'tinygrad_w.mlp'",
    ),
    "newer version": (
        edited(set_in("version", 2)),
        r"unsupported version 2 \(written by a newer tinygrad_w\)",
    ),
    "version 0": (edited(set_in("version", 0)), "unsupported version 0;"),
    "version as text": (edited(set_in("version", "1")), 'version must be an integer, got a string "1"'),
    "no version": (edited(delete("version")), "no 'version' field"),
    "unknown field": (edited(set_in("optimizer", {})), r"unexpected top-level field\(s\): optimizer"),
    "no architecture": (edited(delete("architecture")), "'architecture' must be a JSON object, got null"),
    "architecture lacks nin": (edited(delete("architecture", "nin")), "the architecture lacks nin"),
    "architecture extra key": (
        edited(set_in("architecture", "dropout", 0.5)),
        "unexpected architecture field",
    ),
    "nin 0": (edited(set_in("architecture", "nin", 0)), "nin must be an integer >= 1, got a number 0"),
    "nin text": (edited(set_in("architecture", "nin", "2")), 'nin must be an integer >= 1, got a string "2"'),
    "nouts empty": (edited(set_in("architecture", "nouts", [])), "nouts must be a non-empty list"),
    "nouts text": (edited(set_in("architecture", "nouts", ["2", 1])), "nouts must be a non-empty list"),
    "nouts bool": (edited(set_in("architecture", "nouts", [True])), "nouts must be a non-empty list"),
    "unknown activation": (
        edited(set_in("architecture", "activation", "gelu")),
        'architecture activation is a string "gelu", not one of relu',
    ),
    "output activation": (
        edited(set_in("architecture", "output_activation", 3)),
        "output_activation is a number 3, not one of",
    ),
    "fused text": (
        edited(set_in("architecture", "fused", "yes")),
        'fused must be true or false, got a string "yes"',
    ),
    "parameters list": (edited(set_in("parameters", [1.0])), "'parameters' must be a JSON object"),
    "no parameters": (
        edited(delete("parameters")),
        "'parameters' must be a JSON object of name: number, got null",
    ),
    "no count": (edited(delete("parameter_count")), "'parameter_count' must be an integer, got null"),
    "wrong count": (edited(set_in("parameter_count", 12)), "has 9 parameters, but parameter_count says 12"),
    "missing parameter": (
        edited(delete("parameters", W)),
        r"parameter_count says 9 and 8 are stored; missing: layers\.0\.neurons\.0\.w\.0$",
    ),
    "extra parameter": (
        edited(add_parameter),
        r"says 10 and 10 are stored; unexpected: layers\.0\.neurons\.5\.b$",
    ),
    "renamed parameter": (
        edited(rename_parameter),
        r"missing: layers\.0\.neurons\.0\.w\.1; unexpected: .*w\.7",
    ),
    "nouts changed": (edited(set_in("architecture", "nouts", [3, 1])), "has 13 parameters"),
    "text parameter": (
        edited(set_in("parameters", W, "0.5")),
        f'parameter {W} must be a number, got a string "0.5"',
    ),
    "null parameter": (edited(set_in("parameters", W, None)), f"parameter {W} must be a number, got null$"),
    "bool parameter": (
        edited(set_in("parameters", W, True)),
        f"parameter {W} must be a number, got a boolean true",
    ),
    "list parameter": (
        edited(set_in("parameters", W, [0.5])),
        f"parameter {W} must be a number, got an array",
    ),
    "NaN": (with_raw_value("NaN"), "NaN is not a finite number"),
    "Infinity": (edited(set_in("parameters", W, math.inf)), "Infinity is not a finite number"),
    "overflowing literal": (with_raw_value("1e400"), f"parameter {W} is inf; parameters must be finite"),
    "huge integer": (
        edited(set_in("parameters", W, 10**400)),
        rf"parameter {W} = a number 1000.*\(401 characters\) is too large for a float",
    ),
    "duplicate key": (b'{"format": "tinygrad_w.mlp", "format": "x"}', "the key 'format' appears twice"),
    "billions of parameters": (
        edited(set_in("architecture", "nouts", [10**6, 10**6, 10**6])),
        r"2 -> \[1000000, 1000000, 1000000\] has 2000005000000 parameters, .* 9 are stored$",
    ),
}


@pytest.mark.parametrize("case", CORRUPT)
def test_every_corrupt_file_raises_file_format_error_naming_file_and_problem(
    tmp_path: Path, case: str
) -> None:
    content, problem = CORRUPT[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(content)
    with pytest.raises(FileFormatError) as caught:
        load(path)
    message = str(caught.value)
    assert repr(str(path)) in message  # names the file
    assert message.startswith(f"load {str(path)!r}: ")
    assert re.search(problem, message), message
    assert isinstance(caught.value, ValueError)


def test_the_valid_document_used_above_loads(tmp_path: Path) -> None:
    # Guards the corrupt cases: each differs from a file that loads only by its one defect.
    path = tmp_path / "m.json"
    path.write_text(valid_text())
    model = load(path)
    assert model.nouts == [2, 1]


def test_unreadable_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "m.json"
    with pytest.raises(FileFormatError, match=f"load {str(missing)!r}: no such file"):
        load(missing)
    with pytest.raises(FileFormatError, match="cannot read it"):
        load(tmp_path)  # a directory


# ----------------------------------------------------------------------------------------------------
# Hostile paths and models: refused at once, with a typed error naming save or load, nothing written


def test_load_refuses_a_fifo_at_once_instead_of_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match=r"^load '.*pipe\.json': not a regular file \(a FIFO"):
        load(fifo)  # without O_NONBLOCK and the check, this would wait forever for a writer


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_load_refuses_a_link_to_a_device(tmp_path: Path, device: str) -> None:
    link = tmp_path / "m.json"
    link.symlink_to(device)
    with pytest.raises(FileFormatError, match="not a regular file"):
        load(link)  # /dev/zero would otherwise be read until memory runs out


def test_load_reads_at_most_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save(MLP(2, [3, 1], seed=0), path)
    size = path.stat().st_size
    assert load(path, max_bytes=size).nouts == [3, 1]
    with pytest.raises(
        FileFormatError,
        match=rf"has {size:,} bytes, more than the limit of {size - 1:,} \(load's max_bytes\)",
    ):
        load(path, max_bytes=size - 1)
    with pytest.raises(tg.ArgumentError, match=r"^load: max_bytes must be an integer >= 1"):
        load(path, max_bytes=0)
    assert tg.interop.files.MAX_BYTES == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        (None, tg.OperandTypeError, r"^load: path must be a str or an os.PathLike, got NoneType None"),
        (123, tg.OperandTypeError, r"^load: path must be a str or an os.PathLike, got int 123"),
        ("", tg.ArgumentError, r"^load: the path is empty"),
        ("a\0b", tg.ArgumentError, r"^load: the path 'a\\x00b' contains a NUL character"),
    ],
)
def test_load_refuses_paths_that_are_no_paths(path: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        load(path)  # type: ignore[arg-type]


def test_save_refuses_bad_paths_and_writes_nothing(tmp_path: Path) -> None:
    model = MLP(2, [1], seed=0)
    cases: list[tuple[object, type[Exception], str]] = [
        (tmp_path, tg.FileAccessError, r"^save '.*': is a directory"),
        (
            tmp_path / "missing" / "m.json",
            tg.FileAccessError,
            r"^save '.*m\.json': the directory '.*missing' does not exist",
        ),
        ("", tg.ArgumentError, "^save: the path is empty"),
        (str(tmp_path / "a\0b"), tg.ArgumentError, "^save: the path .* contains a NUL character"),
        (123, tg.OperandTypeError, "^save: path must be a str or an os.PathLike, got int 123"),
        (tmp_path / ("x" * 300), tg.FileAccessError, r"^save '.*\.\.\.: File name too long"),
    ]
    for path, error, message in cases:
        with pytest.raises(error, match=message):
            save(model, path)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(tg.OperandTypeError, match=r"^save: expected an MLP, got int 123"):
        save(123, tmp_path / "m.json")  # type: ignore[arg-type]


def test_save_writes_through_a_symbolic_link_and_keeps_it(tmp_path: Path) -> None:
    target, link = tmp_path / "real.json", tmp_path / "link.json"
    save(MLP(2, [1], seed=0), target)
    link.symlink_to("real.json")
    save(MLP(3, [2], seed=1), link)
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert load(target).nin == 3
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("new.json")  # points at a file that does not exist yet
    save(MLP(4, [1], seed=2), dangling)
    assert dangling.is_symlink() and load(tmp_path / "new.json").nin == 4
    sorted_names = sorted(p.name for p in tmp_path.iterdir())
    assert sorted_names == ["dangling.json", "link.json", "new.json", "real.json"]


def test_save_refuses_a_fifo_or_a_device_target(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(tg.FileAccessError, match=r"not a regular file \(a FIFO or a device\)"):
        save(MLP(2, [1], seed=0), fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a plain file
    link = tmp_path / "to_fifo.json"  # (a link to /dev/null is refused alike; as root a bug would replace it)
    link.symlink_to(fifo)
    with pytest.raises(tg.FileAccessError, match="not a regular file"):
        save(MLP(2, [1], seed=0), link)


def broken_models() -> list[tuple[str, Callable[[MLP], None], type[Exception], str]]:
    return [
        (
            "a layer appended",
            lambda m: m.layers.append(tg.nn.Layer(1, 1, seed=0)),
            tg.ArgumentError,
            "has 3 layers but nouts lists 2",
        ),
        (
            "activation gelu",
            lambda m: setattr(m, "activation", "gelu"),
            tg.ArgumentError,
            "layer 0 neuron 0 has activation 'relu'",
        ),
        (
            "fused = 1",
            lambda m: setattr(m, "fused", 1),
            tg.ArgumentError,
            r"activations must be names and fused True or False, got \('relu', 'linear'\) and 1; not saved",
        ),
        (
            "a neuron's activation",
            lambda m: setattr(m.layers[0].neurons[1], "activation", "tanh"),
            tg.ArgumentError,
            "layer 0 neuron 1 has activation 'tanh'",
        ),
        (
            "nin changed",
            lambda m: setattr(m, "nin", 5),
            tg.ArgumentError,
            r"the model cannot be saved: the architecture 5 -> \[2, 1\] has 15 parameters",
        ),
        (
            "a weight set to text",
            lambda m: setattr(m.layers[0].neurons[0].w[0], "data", "abc"),
            tg.OperandTypeError,
            r"parameter layers\.0\.neurons\.0\.w\.0 \(L1\.N0\.w0\): expected a real number",
        ),
    ]


@pytest.mark.parametrize("case", broken_models(), ids=lambda case: case[0])
def test_save_refuses_a_model_load_would_refuse_and_keeps_the_good_file(
    tmp_path: Path, case: tuple[str, Callable[[MLP], None], type[Exception], str]
) -> None:
    _, damage, error, message = case
    path = tmp_path / "m.json"
    model = MLP(2, [2, 1], seed=0)
    save(model, path)
    good = path.read_bytes()
    damage(model)
    with pytest.raises(error, match=message):
        save(model, path)
    assert path.read_bytes() == good and os.listdir(tmp_path) == ["m.json"]


def test_a_numpy_float32_weight_is_saved_as_its_float(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    model = MLP(2, [1], seed=0)
    model.layers[0].neurons[0].w[0].data = np.float32(0.5)
    save(model, tmp_path / "m.json")
    assert load(tmp_path / "m.json").layers[0].neurons[0].w[0].data == 0.5
