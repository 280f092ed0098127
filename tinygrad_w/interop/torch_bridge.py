"""Moving an MLP to PyTorch and back, for when scalars get too slow (or to check one against the other).

``to_torch(model)`` builds a ``torch.nn.Sequential`` of ``Linear`` layers in float64, each followed by
its activation module (none for a linear layer), with the same weights: a neuron's weights ``w`` become a
row of ``Linear.weight`` and its bias an entry of ``Linear.bias``. ``from_torch(sequential)`` reads such a
Sequential back into an MLP.

PyTorch is optional. Without it, both functions raise an ImportError that says how to install it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tinygrad_w.checks import flag_setting
from tinygrad_w.core.value import Value, as_real
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError, ShapeError, show
from tinygrad_w.nn.layers import MLP

if TYPE_CHECKING:
    import torch

__all__ = ["from_torch", "to_torch"]

INSTALL = "pip install torch==2.13.0"

# Where softplus(x) = ln(1 + e^x) is replaced by x. PyTorch's default, 20, is off by e^-20 ≈ 2e-9 there;
# beyond 40, e^-x < 2^-53 · x, so x is the float64 answer and both sides agree to rounding.
SOFTPLUS_THRESHOLD = 40.0


def _import_torch(where: str) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"{where} needs PyTorch, an optional dependency: {INSTALL}") from exc
    return torch


def _activation_module(pytorch: Any, name: str) -> Any:
    """The torch module for one of our activation names (None for linear)."""
    nn = pytorch.nn
    modules = {
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.01),
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "softplus": lambda: nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD),
    }
    return modules[name]() if name in modules else None


def to_torch(model: MLP) -> torch.nn.Sequential:
    """A float64 ``torch.nn.Sequential`` computing the same function as ``model`` (to about 1e-12).

    Layout: ``Linear(nin, nouts[0])``, activation, ``Linear(nouts[0], nouts[1])``, activation, ... ; a
    linear activation adds no module. Softplus uses threshold 40 (see ``SOFTPLUS_THRESHOLD``) so that it
    matches ours; leaky_relu uses slope 0.01. A weight that is not a finite number (set by hand) is refused.
    """
    pytorch = _import_torch("to_torch")
    if not isinstance(model, MLP):
        raise OperandTypeError(f"to_torch: expected an MLP, got {type(model).__name__} {show(model)}")
    modules = []
    for layer in model.layers:
        rows = [[_weight(w) for w in n.w] for n in layer.neurons]
        biases = [_weight(n.b) for n in layer.neurons]
        linear = pytorch.nn.Linear(layer.nin, layer.nout, dtype=pytorch.float64)
        with pytorch.no_grad():
            linear.weight.copy_(pytorch.tensor(rows, dtype=pytorch.float64))
            linear.bias.copy_(pytorch.tensor(biases, dtype=pytorch.float64))
        modules.append(linear)
        activation = _activation_module(pytorch, layer.activation)
        if activation is not None:
            modules.append(activation)
    sequential: torch.nn.Sequential = pytorch.nn.Sequential(*modules)
    return sequential


def _weight(parameter: Value) -> float:
    return as_real(parameter.data, f"to_torch: {parameter.label or 'a parameter'}")


def from_torch(sequential: torch.nn.Sequential, *, fused: bool = False) -> MLP:
    """An MLP with the weights of ``sequential``: Linear layers (with bias), each optionally followed by
    one activation (ReLU, LeakyReLU(0.01), Tanh, Sigmoid, Softplus with beta 1, Identity).

    Every hidden layer must use the same activation, as an MLP has one hidden activation. Weights are
    converted to Python floats exactly (float32 values are exactly representable as float64). Anything
    else (Dropout, a Linear without bias, mismatched sizes, non-finite weights, a Softplus whose threshold
    changes its values) raises an error naming the module; the MLP is returned only when it is complete.
    Stages: check the container, read the layers, check the activations, build, copy the weights.
    """
    pytorch = _import_torch("from_torch")
    if not isinstance(sequential, pytorch.nn.Sequential):
        raise OperandTypeError(f"from_torch: expected a torch.nn.Sequential, got {type(sequential).__name__}")
    fused = flag_setting(fused, "fused", "from_torch")
    linears, activations = _read_layers(pytorch, list(sequential))
    hidden = set(activations[:-1])
    if len(hidden) > 1:
        raise ArgumentError(
            f"from_torch: the hidden layers use different activations ({', '.join(activations[:-1])});"
            " an MLP has one hidden activation"
        )
    values = _weights_of(pytorch, linears)  # every number checked before the model exists
    model = MLP(
        linears[0].in_features,
        [linear.out_features for linear in linears],
        hidden.pop() if hidden else "relu",
        output_activation=activations[-1],
        init="zeros",
        bias_init="zeros",
        seed=0,
        fused=fused,
    )
    for parameter, value in zip(model.parameters(), values):
        parameter.data = value
    return model


def _read_layers(pytorch: Any, modules: list[Any]) -> tuple[list[Any], list[str]]:
    """The Linear layers and, for each, our name of the activation after it ("linear" for none)."""
    if not modules:
        raise ArgumentError("from_torch: the Sequential is empty; it needs at least one Linear layer")
    linears: list[Any] = []
    activations: list[str] = []
    position = 0
    while position < len(modules):
        module = modules[position]
        if not isinstance(module, pytorch.nn.Linear):
            if linears:
                raise ArgumentError(
                    f"from_torch: module {position} ({type(module).__name__}) follows an activation; expected a"
                    " Linear layer (one activation per layer)"
                )
            raise ArgumentError(f"from_torch: module 0 ({type(module).__name__}) is not a Linear layer")
        if module.bias is None:
            raise ArgumentError(
                f"from_torch: module {position} (Linear) has no bias; tinygrad_w neurons always have one"
            )
        if linears and module.in_features != linears[-1].out_features:
            raise ShapeError(
                f"from_torch: module {position} (Linear) expects {module.in_features} inputs but the layer before"
                f" gives {linears[-1].out_features}"
            )
        linears.append(module)
        position += 1
        activation = "linear"
        if position < len(modules) and not isinstance(modules[position], pytorch.nn.Linear):
            activation = _activation_name(pytorch, modules[position], position, module.weight.dtype)
            position += 1
        activations.append(activation)
    return linears, activations


def _weights_of(pytorch: Any, linears: list[Any]) -> list[float]:
    """Every weight and bias as a finite float, in the order of ``MLP.parameters()`` (each neuron's
    weights, then its bias)."""
    values: list[float] = []
    for index, linear in enumerate(linears):
        weight_rows = linear.weight.detach().to(pytorch.float64).tolist()
        biases = linear.bias.detach().to(pytorch.float64).tolist()
        for j, (row, bias) in enumerate(zip(weight_rows, biases)):
            labels = [f"L{index + 1}.N{j}.w{k}" for k in range(len(row))] + [f"L{index + 1}.N{j}.b"]
            for label, value in zip(labels, [*row, bias]):
                if not math.isfinite(value):
                    raise NonFiniteError(f"from_torch: Linear layer {index} holds {value!r} (for {label})")
                values.append(float(value))
    return values


def _activation_name(pytorch: Any, module: Any, position: int, dtype: Any) -> str:
    """Our name for a torch activation module, or an ArgumentError saying why it is not supported."""
    nn = pytorch.nn
    plain = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Identity: "linear"}
    if type(module) in plain:
        return plain[type(module)]
    if isinstance(module, nn.LeakyReLU):
        if module.negative_slope != 0.01:
            raise ArgumentError(
                f"from_torch: module {position} is LeakyReLU with negative_slope {module.negative_slope!r};"
                " tinygrad_w's leaky_relu has slope 0.01"
            )
        return "leaky_relu"
    if isinstance(module, nn.Softplus):
        if module.beta != 1:
            raise ArgumentError(
                f"from_torch: module {position} is Softplus with beta {module.beta!r}; only beta=1 is supported"
            )
        _check_softplus_threshold(pytorch, module.threshold, position, dtype)
        return "softplus"
    raise ArgumentError(
        f"from_torch: module {position} ({type(module).__name__}) is not supported; expected Linear layers, each"
        " optionally followed by ReLU, LeakyReLU(0.01), Tanh, Sigmoid, Softplus or Identity"
    )


def _check_softplus_threshold(pytorch: Any, threshold: float, position: int, dtype: Any) -> None:
    """PyTorch's Softplus returns x instead of ln(1 + e^x) for x > threshold. That is exact only where
    ln(1 + e^x) = x + ln(1 + e^-x) already rounds to x in the layers' precision; checking at x = threshold
    suffices, as e^-x shrinks while the rounding step of x grows. PyTorch's default 20 passes in float32
    (e^-20 ≈ 2e-9 is below half a step of 20) but not in float64, which needs about 37."""
    t = pytorch.tensor(float(threshold), dtype=dtype)
    exact = bool(t + pytorch.tensor(math.log1p(math.exp(-float(threshold))), dtype=dtype) == t)
    if not exact:
        raise ArgumentError(
            f"from_torch: module {position} is Softplus with threshold {threshold!r}: for x > {threshold!r} it "
            f"returns x, not ln(1 + e^x) (off by up to {math.log1p(math.exp(-float(threshold))):.2g} in "
            f"{str(dtype).removeprefix('torch.')}); use threshold={SOFTPLUS_THRESHOLD:g}, as to_torch does"
        )
