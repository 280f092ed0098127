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
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tinygrad_w.core.value import Value
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError

# ----------------------------------------------------------------------------------------------------
# Checks shared by the optimizers and schedulers


def _setting(value: object, name: str, where: str, *, low: float = 0.0, high: float = math.inf) -> float:
    """A hyperparameter as a finite float in [low, high), or ArgumentError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OperandTypeError(f"{where}: {name} must be a real number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not (math.isfinite(number) and low <= number < high):
        upper = "" if high == math.inf else f" and < {high:g}"
        raise ArgumentError(f"{where}: {name} must be finite, >= {low:g}{upper}; got {value!r}")
    return number


def _parameter_list(params: Iterable[Value], where: str) -> list[Value]:
    """The parameters as a list: Values only, at least one, none twice (it would be updated twice)."""
    if isinstance(params, Value):
        raise OperandTypeError(f"{where}: params must be an iterable of Values (e.g. model.parameters())")
    result = list(params)
    if not result:
        raise ArgumentError(f"{where}: got an empty list of parameters")
    seen: set[Value] = set()
    for i, p in enumerate(result):
        if not isinstance(p, Value):
            raise OperandTypeError(f"{where}: parameter {i} is {type(p).__name__} {p!r}, not a Value")
        if p in seen:
            raise ArgumentError(f"{where}: parameter {i} ({_name(p, i)}) appears more than once")
        seen.add(p)
    return result


def _name(p: Value, index: int) -> str:
    return p.label or f"parameter {index}"


def _finite_gradients(params: Sequence[Value], where: str) -> list[float]:
    grads = [p.grad for p in params]
    for i, g in enumerate(grads):
        if not math.isfinite(g):
            raise NonFiniteError(
                f"{where}: the gradient of {_name(params[i], i)} is {g!r}; nothing was updated "
                "(lower the learning rate, or clip gradients)"
            )
    return grads


# ----------------------------------------------------------------------------------------------------
# Optimizers


class Optimizer:
    """What every optimizer shares: the parameter list, the learning rate, the step count, zero_grad."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        where = type(self).__name__
        self.params: list[Value] = _parameter_list(params, where)
        self._lr = _setting(lr, "lr", where)
        self.step_count = 0  # t of the last completed step

    @property
    def lr(self) -> float:
        """The learning rate γ; schedulers set it. Must be finite and >= 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _setting(value, "lr", type(self).__name__)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (backward accumulates into leaves)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Apply one update to every parameter, all or nothing."""
        where = f"{type(self).__name__}.step"
        grads = _finite_gradients(self.params, where)
        t = self.step_count + 1
        new_values, new_state = self._update([p.data for p in self.params], grads, t)
        for i, value in enumerate(new_values):
            if not math.isfinite(value):
                name = _name(self.params[i], i)
                raise NonFiniteError(
                    f"{where}: step {t} would make {name} {value!r} (it was {self.params[i].data!r}); "
                    "nothing was updated (lower the learning rate, or clip gradients)"
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

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (same optimizer type and number of parameters)."""
        where = f"{type(self).__name__}.load_state_dict"
        if state.get("type") != type(self).__name__:
            raise ArgumentError(f"{where}: the state is of a {state.get('type')!r} optimizer")
        buffers = {name: [float(v) for v in values] for name, values in state["state"].items()}
        for name, values in buffers.items():
            if len(values) != len(self.params):
                raise ArgumentError(
                    f"{where}: {name} has {len(values)} entries for {len(self.params)} params"
                )
        self.lr = state["lr"]
        self.step_count = int(state["step_count"])
        self._set_state(buffers)

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
        self.momentum = _setting(momentum, "momentum", "SGD")
        self.dampening = _setting(dampening, "dampening", "SGD", low=-math.inf)
        self.weight_decay = _setting(weight_decay, "weight_decay", "SGD")
        self.nesterov = bool(nesterov)
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
            raise ArgumentError(f"{where}: betas must be a pair (β1, β2), got {betas!r}")
        self.betas = (
            _setting(betas[0], "betas[0]", where, high=1.0),
            _setting(betas[1], "betas[1]", where, high=1.0),
        )
        self.eps = _setting(eps, "eps", where)
        self.weight_decay = _setting(weight_decay, "weight_decay", where)
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
    parameter group; tinygrad_w optimizers have a single group).
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise OperandTypeError(
                f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__} {optimizer!r}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        self._last_lr = optimizer.lr
        self._apply()

    def lr_at(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (0 = before the first ``step()``)."""
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch and set the optimizer's learning rate for it."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> float:
        return self._last_lr

    def _apply(self) -> None:
        self.optimizer.lr = self.lr_at(self.last_epoch)  # the optimizer checks it is finite and >= 0
        self._last_lr = self.optimizer.lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self.last_epoch}, lr={self._last_lr!r})"


def _positive_int(value: object, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value


class StepLR(LRScheduler):
    """γ = γ0 · gamma^⌊epoch / step_size⌋: multiply by gamma every step_size epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _positive_int(step_size, "step_size", "StepLR")
        self.gamma = _setting(gamma, "gamma", "StepLR")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """γ = γ0 · gamma^epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = _setting(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """γ = η_min + (γ0 - η_min) · (1 + cos(π · epoch / T_max)) / 2: from γ0 down to η_min at T_max
    along half a cosine (and, past T_max, back up again, as PyTorch's closed form does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = _setting(eta_min, "eta_min", "CosineAnnealingLR")
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
        self.start_factor = _setting(start_factor, "start_factor", "LinearLR", high=1.0 + 1e-12)
        if self.start_factor == 0.0:
            raise ArgumentError("LinearLR: start_factor must be > 0 and <= 1, got 0")
        self.end_factor = _setting(end_factor, "end_factor", "LinearLR", high=1.0 + 1e-12)
        self.total_iters = _positive_int(total_iters, "total_iters", "LinearLR")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class LambdaLR(LRScheduler):
    """γ = γ0 · lr_lambda(epoch), any rule you write. micrograd's moons schedule, with lr=1.0:
    ``LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100)``."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        if not callable(lr_lambda):
            raise OperandTypeError(f"LambdaLR: lr_lambda must be callable, got {lr_lambda!r}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.lr_lambda(epoch)


# ----------------------------------------------------------------------------------------------------
# Gradient clipping


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale all gradients together so that their joint L2 norm is at most max_norm; return the norm
    before clipping.

        ‖g‖ = √(Σ g_i²);   if ‖g‖ > max_norm:  g_i ← g_i · max_norm / (‖g‖ + 1e-6)

    (the 1e-6 guards the division, as in PyTorch). The direction of the step is kept, only its length
    shrinks. A non-finite gradient raises NonFiniteError and nothing is changed.
    """
    limit = _setting(max_norm, "max_norm", "clip_grad_norm")
    plist = list(params)
    grads = _finite_gradients(plist, "clip_grad_norm")
    total = math.hypot(*grads)  # hypot avoids the overflow of squaring a gradient of 1e200
    coefficient = limit / (total + 1e-6)
    if coefficient < 1.0:
        for p in plist:
            p.grad *= coefficient
    return total


def clip_grad_value(params: Iterable[Value], clip_value: float) -> None:
    """Clamp every gradient into [-clip_value, clip_value] (each on its own: the direction may change)."""
    limit = _setting(clip_value, "clip_value", "clip_grad_value")
    plist = list(params)
    _finite_gradients(plist, "clip_grad_value")
    for p in plist:
        p.grad = min(max(p.grad, -limit), limit)


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
