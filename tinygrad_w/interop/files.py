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

``save`` checks the model with the same checks ``load`` makes (it never writes a file ``load`` refuses),
then writes a temporary file in the same directory, flushes it to disk and renames it over the target
(``os.replace`` is atomic), so a crash leaves either the old file or the new one, never half of one; a
symbolic link is written through and stays a link (:mod:`tinygrad_w.atomic`).

``load`` reads in four stages: read (a regular file only, at most ``MAX_BYTES`` = 64 MiB unless
``max_bytes`` says otherwise), parse, validate, build. Any problem raises ``FileFormatError`` naming the
file and what is wrong, and it never returns a half-built model. No pickle and no eval: loading a file
cannot run code.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tinygrad_w.atomic import path_text, writable_path, write_bytes_atomically
from tinygrad_w.checks import count_setting
from tinygrad_w.core.value import as_real
from tinygrad_w.errors import ArgumentError, FileFormatError, OperandTypeError, TinygradError, show
from tinygrad_w.nn.layers import ACTIVATIONS, MLP

__all__ = ["FORMAT", "MAX_BYTES", "VERSION", "load", "save"]

FORMAT = "tinygrad_w.mlp"
"""The ``format`` field of every file ``save`` writes."""
VERSION = 1
"""The file-format version ``save`` writes and ``load`` reads."""

_ARCHITECTURE_KEYS = ("nin", "nouts", "activation", "output_activation", "fused")


MAX_BYTES = 64 * 1024 * 1024
"""The largest file ``load`` reads by default (64 MiB, about a million parameters); pass ``max_bytes`` to
read larger ones. The limit keeps a link to ``/dev/zero`` or a huge file from exhausting memory."""


@dataclass(frozen=True)
class _Checked:
    """A saved model's content, every field checked: what building the MLP needs."""

    nin: int
    nouts: list[int]
    activation: str
    output_activation: str
    fused: bool
    values: list[float]  # in the order of MLP.named_parameters()


def save(model: MLP, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as JSON, atomically (temporary file + fsync + rename).

    The model is checked first, with the same checks ``load`` makes, so ``save`` never writes a file that
    ``load`` would refuse (after ``model.layers.append(...)`` or ``model.activation = "gelu"``, say); the
    path is checked before anything is written (see :func:`tinygrad_w.atomic.writable_path`: a symbolic
    link is written through and stays a link). A file that already exists is replaced only once the new
    one is complete on disk. New files get mode 0o644; a replaced file keeps its mode.
    """
    if not isinstance(model, MLP):
        raise OperandTypeError(f"save: expected an MLP, got {type(model).__name__} {show(model)}")
    target = writable_path(path, "save")
    where = f"save {show(path_text(path, 'save'))}"
    document = _describe(model, where)
    _validate(document, lambda problem: ArgumentError(f"{where}: the model cannot be saved: {problem}"))
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    write_bytes_atomically(target, text.encode("utf-8"), where="save")


def _describe(model: MLP, where: str) -> dict[str, Any]:
    """The document ``save`` writes: the architecture, and every parameter by name as a finite float."""
    _check_structure(model, where)
    parameters: dict[str, float] = {}
    for name, p in model.named_parameters():
        parameters[name] = as_real(p.data, f"{where}: parameter {name} ({p.label})")
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": {
            "nin": model.nin,
            "nouts": list(model.nouts) if isinstance(model.nouts, (list, tuple)) else model.nouts,
            "activation": model.activation,
            "output_activation": model.output_activation,
            "fused": model.fused,
        },
        "parameter_count": len(parameters),
        "parameters": parameters,
    }


def _check_structure(model: MLP, where: str) -> None:
    """The layers agree with the architecture the file records (a layer replaced or a neuron's activation
    changed by hand would load as a different function)."""
    names = (model.activation, model.output_activation)
    if not all(isinstance(name, str) for name in names) or not isinstance(model.fused, bool):
        raise ArgumentError(
            f"{where}: the model's activations must be names and fused True or False, got "
            f"{show(names)} and {show(model.fused)}; not saved"
        )
    nouts = model.nouts if isinstance(model.nouts, (list, tuple)) else []
    if len(model.layers) != len(nouts):
        raise ArgumentError(f"{where}: the model has {len(model.layers)} layers but nouts lists {len(nouts)}")
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        activation = model.output_activation if i == last else model.activation
        for j, neuron in enumerate(getattr(layer, "neurons", [])):
            if (neuron.activation, neuron.fused) != (activation, model.fused):
                raise ArgumentError(
                    f"{where}: layer {i} neuron {j} has activation {show(neuron.activation)} and fused "
                    f"{show(neuron.fused)}, but the model says {show(activation)} and {show(model.fused)}; not saved"
                )


def load(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> MLP:
    """Read an MLP written by :func:`save`.

    Raises ``FileFormatError`` naming the file and the problem when it is missing or unreadable, not a
    regular file (a FIFO, a device: refused at once, never waited on), larger than ``max_bytes``, empty,
    not valid JSON (truncated, say), of another format or version, describes an invalid architecture,
    lacks parameters or has extra ones, or holds a parameter that is not a finite number. The file is read
    in four stages: read (bounded), parse, validate, build; the model is built only once all is checked.
    """
    source = path_text(path, "load")
    limit = count_setting(max_bytes, "max_bytes", "load")

    def fail(problem: str) -> FileFormatError:
        return FileFormatError(f"load {source!r}: {problem}")

    document = _parse(_read_bounded(source, limit, fail), fail)
    return _build(_validate(document, fail))


def _read_bounded(source: str, limit: int, fail: Callable[[str], FileFormatError]) -> bytes:
    """The file's bytes: a regular file of at most ``limit`` bytes. Opening does not wait (O_NONBLOCK: a
    FIFO without a writer would block forever), and the kind of file is checked on the open handle."""
    try:
        handle = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read it ({exc.strerror or exc})") from None
    try:
        info = os.fstat(handle)
        if stat.S_ISDIR(info.st_mode):
            raise fail("cannot read it (it is a directory)")
        if not stat.S_ISREG(info.st_mode):
            raise fail("not a regular file (a FIFO, a socket or a device); not a saved model")
        if info.st_size > limit:
            raise fail(
                f"the file has {info.st_size:,} bytes, more than the limit of {limit:,} (load's max_bytes)"
            )
        chunks, size = [], 0
        while size <= limit:  # up to limit + 1 bytes: the file may have grown since fstat
            chunk = os.read(handle, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise fail(f"cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(handle)
    raw = b"".join(chunks)
    if len(raw) > limit:
        raise fail(f"the file has more than {limit:,} bytes, the limit (load's max_bytes)")
    return raw


def _parse(raw: bytes, fail: Callable[[str], FileFormatError]) -> dict[str, Any]:
    """The JSON object in the file (duplicate keys, NaN and Infinity refused)."""
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
    return document


def _validate(document: dict[str, Any], fail: Callable[[str], TinygradError]) -> _Checked:
    """Every field checked against the format: ``fail(problem)`` raised at the first problem."""
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
        raise fail(f"unsupported version {show(version)}{newer}; this tinygrad_w reads version {VERSION}")
    unknown = sorted(set(document) - {"format", "version", "architecture", "parameter_count", "parameters"})
    if unknown:
        raise fail(f"unexpected top-level field(s): {_listed(unknown)}")
    nin, nouts, activation, output_activation, fused = _architecture(document.get("architecture"), fail)
    values = _parameter_values(document, [nin, *nouts], fail)
    return _Checked(nin, nouts, activation, output_activation, fused, values)


def _parameter_values(
    document: dict[str, Any], sizes: list[int], fail: Callable[[str], TinygradError]
) -> list[float]:
    """The stored parameters as floats in ``named_parameters()`` order, after checking count and names."""
    stored = document.get("parameters")
    if not isinstance(stored, dict):
        raise fail(f"'parameters' must be a JSON object of name: number, got {_show(stored)}")
    count = document.get("parameter_count")
    if isinstance(count, bool) or not isinstance(count, int):
        raise fail(f"'parameter_count' must be an integer, got {_show(count)}")
    # Count before building anything: a corrupt architecture could ask for billions of parameters.
    needed = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    if count != needed or len(stored) != needed:
        # Which names are missing or extra helps find the damage; listing them is skipped when huge.
        detail = _difference(stored, _parameter_names(sizes)) if needed <= 1_000_000 else ""
        raise fail(
            f"the architecture {sizes[0]} -> {show(sizes[1:], 60)} has {show(needed)} parameters, but parameter_count says "
            f"{show(count)} and {len(stored)} are stored{detail}"
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
    return values


def _build(checked: _Checked) -> MLP:
    """The MLP, built (zeros) and then filled in ``named_parameters()`` order."""
    model = MLP(
        checked.nin,
        checked.nouts,
        checked.activation,
        output_activation=checked.output_activation,
        init="zeros",
        bias_init="zeros",
        seed=0,
        fused=checked.fused,
    )
    for (_, parameter), value in zip(model.named_parameters(), checked.values):
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
    architecture: object, fail: Callable[[str], TinygradError]
) -> tuple[int, list[int], str, str, bool]:
    """The architecture fields, each checked, or ``fail(problem)`` raised."""
    if not isinstance(architecture, dict):
        raise fail(f"'architecture' must be a JSON object, got {_show(architecture)}")
    missing = [key for key in _ARCHITECTURE_KEYS if key not in architecture]
    if missing:
        raise fail(f"the architecture lacks {', '.join(missing)}")
    extra = sorted(set(architecture) - set(_ARCHITECTURE_KEYS))
    if extra:
        raise fail(f"unexpected architecture field(s): {_listed(extra)}")
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


def _listed(names: Sequence[str], limit: int = 160) -> str:
    """'a, b, c', cut to ``limit`` characters: the names come from the file and may be anything."""
    text = ", ".join(names)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _difference(stored: dict[str, Any], expected: Sequence[str]) -> str:
    """'; missing: a, b; unexpected: c' (at most 5 names each), or '' when the names agree."""
    missing = [name for name in expected if name not in stored]
    wanted = set(expected)
    extra = sorted(name for name in stored if name not in wanted)
    parts = []
    for what, names in (("missing", missing), ("unexpected", extra)):
        if names:
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            parts.append(f"{what}: {_listed(names[:5])}{more}")
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
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):  # not JSON (a save of a damaged model), or an int of 5,000 digits
        return f"{kind} {show(value, 40)}"
    if len(text) > 40:
        text = text[:30] + f"... ({len(text)} characters)"
    return f"{kind} {text}"
