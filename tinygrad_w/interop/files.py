"""Saving and loading MLPs as JSON, exactly and safely.

The file is plain JSON that a person can read::

    {
      "format": "tinygrad_w.mlp",
      "version": 1,
      "architecture": {"nin": 2, "nouts": [16, 16, 1], "activation": "relu",
                       "output_activation": "linear", "fused": false},
      "parameter_count": 337,
      "parameters": {"layers.0.neurons.0.w.0": -0.7236..., ..., "layers.2.neurons.0.b": 0.0}
    }

Parameters are stored under their ``named_parameters()`` names as JSON numbers written with Python's
``repr``, the shortest decimal that reads back as the same float, so every weight round-trips bit for bit.

``save`` writes a temporary file in the same directory, flushes it to disk and renames it over the target
(``os.replace`` is atomic), so a crash leaves either the old file or the new one, never half of one.
``load`` checks everything before it builds the model: any problem raises ``FileFormatError`` naming the
file and what is wrong, and never returns a half-built model. No pickle and no eval: loading a file
cannot run code.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from tinygrad_w.atomic import write_bytes_atomically
from tinygrad_w.errors import FileFormatError, NonFiniteError, OperandTypeError
from tinygrad_w.nn.layers import ACTIVATIONS, MLP

__all__ = ["FORMAT", "VERSION", "load", "save"]

FORMAT = "tinygrad_w.mlp"
"""The ``format`` field of every file ``save`` writes."""
VERSION = 1
"""The file-format version ``save`` writes and ``load`` reads."""

_ARCHITECTURE_KEYS = ("nin", "nouts", "activation", "output_activation", "fused")


def save(model: MLP, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as JSON, atomically (temporary file + fsync + rename).

    A file that already exists is replaced only once the new one is complete on disk. New files get mode
    0o644 (readable by all, writable by the owner); a replaced file keeps its mode.
    """
    if not isinstance(model, MLP):
        raise OperandTypeError(f"save: expected an MLP, got {type(model).__name__}")
    target = os.fspath(path)
    parameters: dict[str, float] = {}
    for name, p in model.named_parameters():
        if not math.isfinite(p.data):
            raise NonFiniteError(f"save {target!r}: parameter {name} ({p.label}) is {p.data!r}; not saved")
        parameters[name] = p.data
    document = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": {
            "nin": model.nin,
            "nouts": list(model.nouts),
            "activation": model.activation,
            "output_activation": model.output_activation,
            "fused": model.fused,
        },
        "parameter_count": len(parameters),
        "parameters": parameters,
    }
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    write_bytes_atomically(target, text.encode("utf-8"))


def load(path: str | os.PathLike[str]) -> MLP:
    """Read an MLP written by :func:`save`.

    Raises ``FileFormatError`` naming the file and the problem when it is missing or unreadable, empty,
    not valid JSON (truncated, say), of another format or version, describes an invalid architecture,
    lacks parameters or has extra ones, or holds a parameter that is not a finite number.
    """
    source = os.fspath(path)

    def fail(problem: str) -> FileFormatError:
        return FileFormatError(f"load {source!r}: {problem}")

    try:
        with open(source, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read it ({exc.strerror or exc})") from None
    if not raw.strip():
        raise fail("the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text (byte {exc.start}); not a saved model") from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except _BadJSON as exc:
        raise fail(str(exc)) from None
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) else ""
        raise fail(f"not valid JSON{hint}: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise fail(f"not a saved model: {exc}") from None
    except RecursionError:
        raise fail("not a saved model (JSON nested too deeply)") from None

    if not isinstance(document, dict):
        raise fail(f"expected a JSON object at the top, got {_show(document)}")
    if "format" not in document:
        raise fail(f"no 'format' field; not a tinygrad_w model file (expected format {FORMAT!r})")
    if document["format"] != FORMAT:
        raise fail(f"format is {_show(document['format'])}, expected {FORMAT!r}; not a tinygrad_w model file")
    if "version" not in document:
        raise fail("no 'version' field")
    version = document["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise fail(f"version must be an integer, got {_show(version)}")
    if version != VERSION:
        newer = " (written by a newer tinygrad_w)" if version > VERSION else ""
        raise fail(f"unsupported version {version}{newer}; this tinygrad_w reads version {VERSION}")
    unknown = sorted(set(document) - {"format", "version", "architecture", "parameter_count", "parameters"})
    if unknown:
        raise fail(f"unexpected top-level field(s): {', '.join(unknown)}")

    nin, nouts, activation, output_activation, fused = _architecture(document.get("architecture"), fail)

    stored = document.get("parameters")
    if not isinstance(stored, dict):
        raise fail(f"'parameters' must be a JSON object of name: number, got {_show(stored)}")
    count = document.get("parameter_count")
    if isinstance(count, bool) or not isinstance(count, int):
        raise fail(f"'parameter_count' must be an integer, got {_show(count)}")
    # Count before building anything: a corrupt architecture could ask for billions of parameters.
    sizes = [nin, *nouts]
    needed = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    if count != needed or len(stored) != needed:
        # Which names are missing or extra helps find the damage; listing them is skipped when huge.
        detail = _difference(stored, _parameter_names(sizes)) if needed <= 1_000_000 else ""
        raise fail(
            f"the architecture {nin} -> {nouts} has {needed} parameters, but parameter_count says {count}"
            f" and {len(stored)} are stored{detail}"
        )
    names = _parameter_names(sizes)
    mismatch = _difference(stored, names)
    if mismatch:
        raise fail("the parameter names do not match the architecture" + mismatch)
    values: list[float] = []
    for name in names:
        number = stored[name]
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise fail(f"parameter {name} must be a number, got {_show(number)}")
        try:
            value = float(number)
        except OverflowError:
            raise fail(f"parameter {name} = {_show(number)} is too large for a float") from None
        if not math.isfinite(value):
            raise fail(f"parameter {name} is {value!r}; parameters must be finite")
        values.append(value)

    # Everything is checked: only now build the model (zeros), then fill it in the same order.
    model = MLP(
        nin,
        nouts,
        activation,
        output_activation=output_activation,
        init="zeros",
        bias_init="zeros",
        seed=0,
        fused=fused,
    )
    parameters = model.named_parameters()
    assert [name for name, _ in parameters] == names
    for (_, parameter), value in zip(parameters, values):
        parameter.data = value
    return model


def _parameter_names(sizes: Sequence[int]) -> list[str]:
    """The names ``MLP.named_parameters()`` gives a network with these layer sizes, in the same order."""
    names: list[str] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        for j in range(fan_out):
            names.extend(f"layers.{i}.neurons.{j}.w.{k}" for k in range(fan_in))
            names.append(f"layers.{i}.neurons.{j}.b")
    return names


def _architecture(
    architecture: object, fail: Callable[[str], FileFormatError]
) -> tuple[int, list[int], str, str, bool]:
    """The architecture fields, each checked, or ``fail(problem)`` raised."""
    if not isinstance(architecture, dict):
        raise fail(f"'architecture' must be a JSON object, got {_show(architecture)}")
    missing = [key for key in _ARCHITECTURE_KEYS if key not in architecture]
    if missing:
        raise fail(f"the architecture lacks {', '.join(missing)}")
    extra = sorted(set(architecture) - set(_ARCHITECTURE_KEYS))
    if extra:
        raise fail(f"unexpected architecture field(s): {', '.join(extra)}")
    nin, nouts = architecture["nin"], architecture["nouts"]
    if isinstance(nin, bool) or not isinstance(nin, int) or nin < 1:
        raise fail(f"architecture nin must be an integer >= 1, got {_show(nin)}")
    if (
        not isinstance(nouts, list)
        or not nouts
        or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in nouts)
    ):
        raise fail(f"architecture nouts must be a non-empty list of integers >= 1, got {_show(nouts)}")
    activations = []
    for key in ("activation", "output_activation"):
        name = architecture[key]
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise fail(f"architecture {key} is {_show(name)}, not one of {', '.join(ACTIVATIONS)}")
        activations.append(name)
    fused = architecture["fused"]
    if not isinstance(fused, bool):
        raise fail(f"architecture fused must be true or false, got {_show(fused)}")
    return nin, list(nouts), activations[0], activations[1], fused


def _difference(stored: dict[str, Any], expected: Sequence[str]) -> str:
    """'; missing: a, b; unexpected: c' (at most 5 names each), or '' when the names agree."""
    missing = [name for name in expected if name not in stored]
    wanted = set(expected)
    extra = sorted(name for name in stored if name not in wanted)
    parts = []
    for what, names in (("missing", missing), ("unexpected", extra)):
        if names:
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            parts.append(f"{what}: {', '.join(names[:5])}{more}")
    return "".join("; " + part for part in parts)


class _BadJSON(ValueError):
    """JSON that parses but that no saved model contains (duplicate keys, NaN, Infinity)."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _BadJSON(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _reject_constant(name: str) -> float:
    raise _BadJSON(f"{name} is not a finite number; saved parameters are always finite")


def _show(value: object) -> str:
    """A parsed JSON value as the file spells it, with its kind, shortened for messages: 'a string "0.5"'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, (int, float)):
        kind = "a number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, list):
        kind = "an array"
    else:
        kind = "an object"
    text = json.dumps(value)
    if len(text) > 40:
        text = text[:30] + f"... ({len(text)} characters)"
    return f"{kind} {text}"
