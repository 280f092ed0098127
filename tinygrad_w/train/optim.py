"""Optimizers, learning-rate schedulers and gradient clipping, following PyTorch's published equations.

An optimizer holds a list of parameters (leaf Values) and moves each against its ``.grad``::

    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(100):
        optimizer.zero_grad()
        loss = ...                 # build the loss from the model
        loss.backward()            # fills every parameter's .grad
        optimizer.step()           # θ ← θ - lr · (update)

In the equations below θ is a parameter, g its gradient, γ the learning rate ``lr``, λ the weight decay
and t the number of the step (counted from 1). ``step()`` is all-or-nothing: it computes every new
value first and writes them only if every gradient and every result is finite; otherwise it raises
NonFiniteError naming the parameter and changes nothing (parameters and optimizer state alike).

A scheduler changes ``optimizer.lr`` once per call of its ``step()`` (usually once per epoch) by a
closed-form rule of the epoch number, the same rules as PyTorch's schedulers of the same name.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from tinygrad_w.checks import count_setting, flag_setting, real_setting
from tinygrad_w.core.value import Value, as_real
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError, show

# ----------------------------------------------------------------------------------------------------
# Checks shared by the optimizers and schedulers


def parameter_list(params: Iterable[Value], where: str, *, allow_empty: bool = False) -> list[Value]:
    """The parameters as a list: Values only, none twice (it would be updated twice), at least one."""
    try:
        result = list(params) if not isinstance(params, (Value, str, bytes)) else None
    except TypeError:  # not iterable (a 0-d numpy array says it is, then refuses)
        result = None
    if result is None:
        raise OperandTypeError(
            f"{where}: params must be an iterable of Values (e.g. model.parameters()), got "
            f"{type(params).__name__} {show(params)}"
        )
    if not result and not allow_empty:
        raise ArgumentError(f"{where}: got an empty list of parameters")
    seen: set[Value] = set()
    for i, p in enumerate(result):
        if not isinstance(p, Value):
            raise OperandTypeError(f"{where}: parameter {i} is {type(p).__name__} {show(p)}, not a Value")
        if p in seen:
            raise ArgumentError(f"{where}: parameter {i} ({_name(p, i)}) appears more than once")
        seen.add(p)
    return result


def _name(p: Value, index: int) -> str:
    return p.label or f"parameter {index}"


def _finite_gradients(params: Sequence[Value], where: str) -> list[float]:
    """Every parameter's gradient as a float, or NonFiniteError naming the first that is not finite."""
    grads: list[float] = []
    for i, p in enumerate(params):
        g = p.grad
        if isinstance(g, bool) or not isinstance(g, numbers.Real) or not _is_finite(g):
            raise NonFiniteError(
                f"{where}: the gradient of {_name(p, i)} is {show(g)}; nothing was updated "
                "(lower the learning rate, or clip gradients)"
            )
        grads.append(float(g))
    return grads


def _is_finite(x: numbers.Real) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an int past the largest float
        return False


def _current_values(params: Sequence[Value], where: str) -> list[float]:
    """Every parameter's data as a float (someone may have set ``p.data`` to anything)."""
    return [as_real(p.data, f"{where}: {_name(p, i)}") for i, p in enumerate(params)]


# ----------------------------------------------------------------------------------------------------
# Optimizers


class Optimizer:
    """What every optimizer shares: the parameter list, the learning rate, the step count, zero_grad.

    ``buffers`` names the per-parameter state a subclass keeps (True: always there, False: once made),
    and which of it must be >= 0; :meth:`load_state_dict` checks a saved state against them.
    """

    buffers: ClassVar[dict[str, bool]] = {}
    nonnegative_buffers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        where = type(self).__name__
        self.params: list[Value] = parameter_list(params, where)
        self._lr = real_setting(lr, "lr", where, low=0.0)
        self.step_count = 0  # t of the last completed step

    @property
    def lr(self) -> float:
        """The learning rate γ; schedulers set it. Must be finite and >= 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = real_setting(value, "lr", type(self).__name__, low=0.0)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (backward accumulates into leaves)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Apply one update to every parameter, all or nothing: the new values and the new state are
        computed first and written only when every one of them is finite."""
        where = f"{type(self).__name__}.step"
        grads = _finite_gradients(self.params, where)
        values = _current_values(self.params, where)
        t = self.step_count + 1
        try:
            new_values, new_state = self._update(values, grads, t)
        except ArithmeticError as exc:
            raise NonFiniteError(f"{where}: step {t} failed ({exc}); nothing was updated") from None
        for i, value in enumerate(new_values):
            if not math.isfinite(value):
                raise NonFiniteError(
                    f"{where}: step {t} would make {_name(self.params[i], i)} {value!r} (it was {values[i]!r}); "
                    "nothing was updated (lower the learning rate, or clip gradients)"
                )
        for name, buffer in new_state.items():
            for i, value in enumerate(buffer):
                if not math.isfinite(value):  # a gradient of 1e200 squared: v = inf would freeze the weight
                    raise NonFiniteError(
                        f"{where}: step {t} would make {name} of {_name(self.params[i], i)} {value!r}; "
                        "nothing was updated (clip gradients, or rescale the loss)"
                    )
        for p, value in zip(self.params, new_values):
            p.data = value
        self._set_state(new_state)
        self.step_count = t

    def _update(
        self, values: list[float], grads: list[float], t: int
    ) -> tuple[list[float], dict[str, list[float]]]:
        """New parameter values and new state for step t, computed without changing anything."""
        raise NotImplementedError

    def _get_state(self) -> dict[str, list[float]]:
        return {}

    def _set_state(self, state: dict[str, list[float]]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's settings and buffers as plain numbers and lists (a copy, safe to keep)."""
        return {
            "type": type(self).__name__,
            "lr": self.lr,
            "step_count": self.step_count,
            "state": {name: list(values) for name, values in self._get_state().items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (same optimizer type and number of parameters).

        Everything is checked before anything is set: a bad state raises a typed error naming the field
        and leaves the optimizer as it was.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping):
            raise OperandTypeError(f"{where}: expected a dict from state_dict(), got {type(state).__name__}")
        fields = {"type", "lr", "step_count", "state"}
        if set(state) != fields:
            unknown, missing = sorted(map(str, set(state) - fields)), sorted(fields - set(state))
            raise ArgumentError(f"{where}: unknown fields {unknown} and missing fields {missing}")
        if not isinstance(state["type"], str) or state["type"] != type(self).__name__:
            raise ArgumentError(f"{where}: the state is of a {show(state['type'])} optimizer")
        lr = real_setting(state["lr"], "lr", where, low=0.0)
        step_count = count_setting(state["step_count"], "step_count", where, minimum=0)
        buffers = self._checked_buffers(state["state"], where)
        self._lr, self.step_count = lr, step_count
        self._set_state(buffers)

    def _checked_buffers(self, saved: object, where: str) -> dict[str, list[float]]:
        """The saved buffers as lists of floats, after checking names, lengths and values."""
        if not isinstance(saved, Mapping):
            raise ArgumentError(f"{where}: state must be a dict of buffers, got {type(saved).__name__}")
        required = {name for name, always in self.buffers.items() if always}
        if not required <= set(saved) <= set(self.buffers):
            raise ArgumentError(
                f"{where}: the buffers are {sorted(map(str, saved))}; {type(self).__name__} keeps "
                f"{sorted(self.buffers)}"
            )
        buffers = {}
        for name, values in saved.items():
            if (
                isinstance(values, (str, bytes))
                or not isinstance(values, Sequence)
                or len(values) != len(self.params)
            ):
                raise ArgumentError(
                    f"{where}: {name} must be a list of {len(self.params)} numbers, one per parameter"
                )
            low = 0.0 if name in self.nonnegative_buffers else -math.inf
            buffers[name] = [real_setting(v, f"{name}[{i}]", where, low=low) for i, v in enumerate(values)]
        return buffers

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr!r})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay (PyTorch):

        g ← g + λ θ                                   (if weight_decay λ ≠ 0)
        b ← g at t = 1, else b ← μ b + (1 - τ) g      (if momentum μ ≠ 0; τ = dampening)
        g ← g + μ b  (nesterov)  or  g ← b            (if momentum μ ≠ 0)
        θ ← θ - γ g

    With the defaults this is plain gradient descent θ ← θ - γ g, micrograd's update.
    """

    buffers: ClassVar[dict[str, bool]] = {"momentum_buffer": False}

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = real_setting(momentum, "momentum", "SGD", low=0.0)
        self.dampening = real_setting(dampening, "dampening", "SGD")
        self.weight_decay = real_setting(weight_decay, "weight_decay", "SGD", low=0.0)
        self.nesterov = flag_setting(nesterov, "nesterov", "SGD")
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ArgumentError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum_buffer: list[float] | None = None  # b, created at the first step

    def _update(
        self, values: list[float], grads: list[float], t: int
    ) -> tuple[list[float], dict[str, list[float]]]:
        mu, tau, wd, lr = self.momentum, self.dampening, self.weight_decay, self.lr
        new_values, buffer = [], []
        for i, (theta, g) in enumerate(zip(values, grads)):
            if wd != 0.0:
                g = g + wd * theta
            if mu != 0.0:
                b = g if self.momentum_buffer is None else mu * self.momentum_buffer[i] + (1.0 - tau) * g
                buffer.append(b)
                g = g + mu * b if self.nesterov else b
            new_values.append(theta - lr * g)
        return new_values, ({"momentum_buffer": buffer} if mu != 0.0 else {})

    def _get_state(self) -> dict[str, list[float]]:
        return {} if self.momentum_buffer is None else {"momentum_buffer": self.momentum_buffer}

    def _set_state(self, state: dict[str, list[float]]) -> None:
        self.momentum_buffer = state.get("momentum_buffer")


class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch implements it (no amsgrad):

    g ← g + λ θ                       (if weight_decay λ ≠ 0: L2 added to the gradient)
    m ← β1 m + (1 - β1) g             (first moment; m = 0 before step 1)
    v ← β2 v + (1 - β2) g²            (second moment; v = 0 before step 1)
    m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t)     (bias corrections)
    θ ← θ - γ m̂ / (√v̂ + ε)
    """

    decoupled_weight_decay = False
    buffers: ClassVar[dict[str, bool]] = {"exp_avg": True, "exp_avg_sq": True}
    nonnegative_buffers = ("exp_avg_sq",)  # v is a mean of squares: √v needs v >= 0

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        where = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ArgumentError(f"{where}: betas must be a pair (β1, β2), got {show(betas)}")
        self.betas = (
            real_setting(betas[0], "betas[0]", where, low=0.0, high=1.0, high_open=True),
            real_setting(betas[1], "betas[1]", where, low=0.0, high=1.0, high_open=True),
        )
        # ε > 0 keeps m / (√v + ε) defined when a gradient has been 0 at every step (m = v = 0)
        self.eps = real_setting(eps, "eps", where, low=0.0, low_open=True)
        self.weight_decay = real_setting(weight_decay, "weight_decay", where, low=0.0)
        self.exp_avg = [0.0] * len(self.params)  # m
        self.exp_avg_sq = [0.0] * len(self.params)  # v

    def _update(
        self, values: list[float], grads: list[float], t: int
    ) -> tuple[list[float], dict[str, list[float]]]:
        beta1, beta2 = self.betas
        lr, wd, eps = self.lr, self.weight_decay, self.eps
        # Same arrangement of the arithmetic as PyTorch, so trajectories agree to the last bits:
        # γ m̂ / (√v̂ + ε) = (γ / (1 - β1^t)) · m / (√v / √(1 - β2^t) + ε).
        step_size = lr / (1.0 - beta1**t)
        sqrt_bias_correction2 = math.sqrt(1.0 - beta2**t)
        new_values, new_m, new_v = [], [], []
        for theta, g, m, v in zip(values, grads, self.exp_avg, self.exp_avg_sq):
            if wd != 0.0:
                if self.decoupled_weight_decay:
                    theta = theta * (1.0 - lr * wd)
                else:
                    g = g + wd * theta
            m = beta1 * m + (1.0 - beta1) * g
            v = beta2 * v + (1.0 - beta2) * g * g
            new_values.append(theta - step_size * m / (math.sqrt(v) / sqrt_bias_correction2 + eps))
            new_m.append(m)
            new_v.append(v)
        return new_values, {"exp_avg": new_m, "exp_avg_sq": new_v}

    def _get_state(self) -> dict[str, list[float]]:
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}

    def _set_state(self, state: dict[str, list[float]]) -> None:
        self.exp_avg = state["exp_avg"]
        self.exp_avg_sq = state["exp_avg_sq"]


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch implements it:

        θ ← θ - γ λ θ                     (decay the weight itself, not through the gradient)
        m ← β1 m + (1 - β1) g,  v ← β2 v + (1 - β2) g²
        m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t)
        θ ← θ - γ m̂ / (√v̂ + ε)

    Default weight_decay λ = 0.01, as in PyTorch.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


# ----------------------------------------------------------------------------------------------------
# Learning-rate schedulers


class LRScheduler:
    """Sets ``optimizer.lr = lr_at(epoch)`` from a closed-form rule; the base rate γ0 is the optimizer's lr
    when the scheduler is made. Creating it applies epoch 0; each ``step()`` moves to the next epoch.

    ``get_last_lr()`` returns the rate it set last, as a float (PyTorch returns a list, one entry per
    parameter group; tinygrad_w optimizers have a single group). A rule that gives no finite rate >= 0
    (gamma = 1e10 after 31 epochs overflows) raises a typed error and leaves the epoch and the rate as
    they were.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise OperandTypeError(
                f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__} {show(optimizer)}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        self._last_lr = optimizer.lr
        self._apply(0)

    def lr_at(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (0 = before the first ``step()``)."""
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch and set the optimizer's learning rate for it."""
        self._apply(self.last_epoch + 1)

    def get_last_lr(self) -> float:
        return self._last_lr

    def _apply(self, epoch: int) -> None:
        where = type(self).__name__
        try:
            lr = self.lr_at(epoch)
        except ArithmeticError as exc:  # gamma ** epoch past the largest float
            raise NonFiniteError(
                f"{where}: the learning rate at epoch {epoch} is not a float ({exc})"
            ) from None
        self.optimizer.lr = real_setting(lr, f"the learning rate at epoch {epoch}", where, low=0.0)
        self._last_lr, self.last_epoch = self.optimizer.lr, epoch

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self.last_epoch}, lr={self._last_lr!r})"


class StepLR(LRScheduler):
    """γ = γ0 · gamma^⌊epoch / step_size⌋: multiply by gamma every step_size epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = count_setting(step_size, "step_size", "StepLR")
        self.gamma = real_setting(gamma, "gamma", "StepLR", low=0.0)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """γ = γ0 · gamma^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = real_setting(gamma, "gamma", "ExponentialLR", low=0.0)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """γ = η_min + (γ0 - η_min) · (1 + cos(π · epoch / T_max)) / 2: from γ0 down to η_min at T_max
    along half a cosine (and, past T_max, back up again, as PyTorch's closed form does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = count_setting(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = real_setting(eta_min, "eta_min", "CosineAnnealingLR", low=0.0)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return (
            self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2
        )


class LinearLR(LRScheduler):
    """γ = γ0 · (s + (e - s) · min(epoch, total_iters) / total_iters): the factor moves linearly from
    start_factor s to end_factor e over total_iters epochs, then stays at e (a warm-up by default)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        where = "LinearLR"
        self.start_factor = real_setting(
            start_factor, "start_factor", where, low=0.0, low_open=True, high=1.0
        )
        self.end_factor = real_setting(end_factor, "end_factor", where, low=0.0, high=1.0)
        self.total_iters = count_setting(total_iters, "total_iters", where)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class LambdaLR(LRScheduler):
    """γ = γ0 · lr_lambda(epoch), any rule you write. micrograd's moons schedule, with lr=1.0:
    ``LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100)``."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        if not callable(lr_lambda):
            raise OperandTypeError(f"LambdaLR: lr_lambda must be callable, got {show(lr_lambda)}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        factor = real_setting(self.lr_lambda(epoch), f"lr_lambda({epoch})", "LambdaLR")
        return self.base_lr * factor


# ----------------------------------------------------------------------------------------------------
# Gradient clipping


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale all gradients together so that their joint L2 norm is at most max_norm; return the norm
    before clipping.

        ‖g‖ = √(Σ g_i²);   if ‖g‖ > max_norm:  g_i ← g_i · max_norm / (‖g‖ + 1e-6)

    (the 1e-6 guards the division, as in PyTorch). The direction of the step is kept, only its length
    shrinks. A non-finite gradient, or a norm too large for a float, raises NonFiniteError and nothing is
    changed.
    """
    limit = real_setting(max_norm, "max_norm", "clip_grad_norm", low=0.0)
    plist = parameter_list(params, "clip_grad_norm", allow_empty=True)
    grads = _finite_gradients(plist, "clip_grad_norm")
    total = math.hypot(*grads)  # hypot avoids the overflow of squaring a gradient of 1e200
    if not math.isfinite(total):
        raise NonFiniteError(
            "clip_grad_norm: the gradient norm is too large for a float; nothing was changed"
        )
    coefficient = limit / (total + 1e-6)
    if coefficient < 1.0:
        for p, g in zip(plist, grads):
            p.grad = g * coefficient
    return total


def clip_grad_value(params: Iterable[Value], clip_value: float) -> None:
    """Clamp every gradient into [-clip_value, clip_value] (each on its own: the direction may change)."""
    limit = real_setting(clip_value, "clip_value", "clip_grad_value", low=0.0)
    plist = parameter_list(params, "clip_grad_value", allow_empty=True)
    grads = _finite_gradients(plist, "clip_grad_value")
    for p, g in zip(plist, grads):
        p.grad = min(max(g, -limit), limit)


__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "Optimizer",
    "StepLR",
    "clip_grad_norm",
    "clip_grad_value",
]
