"""Tests of tinygrad_w.optim: trajectories against hand-derived values and against torch (when installed),
schedulers' closed forms, clipping, and all-or-nothing steps on bad input."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_w import Value
from tinygrad_w.errors import ArgumentError, NonFiniteError, OperandTypeError
from tinygrad_w.train.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    Optimizer,
    StepLR,
    clip_grad_norm,
    clip_grad_value,
)


def run_on_square(optimizer_of: Callable[[list[Value]], Optimizer], start: float, steps: int) -> list[float]:
    """Minimise f(θ) = θ² (gradient 2θ); return θ after each step."""
    theta = Value(start)
    optimizer = optimizer_of([theta])
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        (theta * theta).backward()
        optimizer.step()
        trajectory.append(theta.data)
    return trajectory


# ----------------------------------------------------------------------------------------------------
# Hand-derived trajectories on f(θ) = θ², θ0 = 1, lr = 0.1


def test_plain_sgd() -> None:
    # θ ← θ - 0.1 · 2θ = 0.8 θ
    assert run_on_square(lambda p: SGD(p, lr=0.1), 1.0, 3) == pytest.approx([0.8, 0.64, 0.512])


def test_sgd_momentum() -> None:
    # t1: g=2, b=2, θ=0.8; t2: g=1.6, b=0.9·2+1.6=3.4, θ=0.46; t3: g=0.92, b=3.98, θ=0.062
    got = run_on_square(lambda p: SGD(p, lr=0.1, momentum=0.9), 1.0, 3)
    assert got == pytest.approx([0.8, 0.46, 0.062])


def test_sgd_nesterov() -> None:
    # t1: g=2, b=2, g'=2+0.9·2=3.8, θ=0.62; t2: g=1.24, b=3.04, g'=1.24+2.736=3.976, θ=0.2224
    got = run_on_square(lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True), 1.0, 2)
    assert got == pytest.approx([0.62, 0.2224])


def test_sgd_dampening_does_not_apply_to_the_first_step() -> None:
    # t1: b = g = 2, θ=0.8; t2: g=1.6, b=0.9·2 + 0.5·1.6 = 2.6, θ=0.54
    got = run_on_square(lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.5), 1.0, 2)
    assert got == pytest.approx([0.8, 0.54])


def test_sgd_weight_decay() -> None:
    # g = 2θ + 0.1θ: θ ← 0.79 θ
    got = run_on_square(lambda p: SGD(p, lr=0.1, weight_decay=0.1), 1.0, 2)
    assert got == pytest.approx([0.79, 0.6241])


def test_adam_two_steps_by_hand() -> None:
    # t1: g=2, m=0.2, v=0.004, m̂=2, v̂=4, θ = 1 - 0.1·2/(2 + 1e-8)
    theta1 = 1 - 0.1 * 2 / (2 + 1e-8)
    g = 2 * theta1
    m = 0.9 * 0.2 + 0.1 * g
    v = 0.999 * 0.004 + 0.001 * g * g
    theta2 = theta1 - 0.1 * (m / (1 - 0.9**2)) / (math.sqrt(v / (1 - 0.999**2)) + 1e-8)
    got = run_on_square(lambda p: Adam(p, lr=0.1), 1.0, 2)
    assert got == pytest.approx([theta1, theta2], rel=1e-12)


@given(st.floats(-1e3, 1e3).filter(lambda g: abs(g) > 1e-3), st.floats(1e-4, 1.0))
@settings(max_examples=30)
def test_adam_first_step_moves_each_parameter_by_lr_whatever_the_gradient_size(
    grad: float, lr: float
) -> None:
    p = Value(0.5)
    p.grad = grad
    Adam([p], lr=lr).step()
    # m̂ = g and v̂ = g², so the step is lr · g / (|g| + ε) ≈ lr · sign(g)
    assert p.data == pytest.approx(0.5 - lr * math.copysign(1.0, grad), abs=1e-5 * lr)


def test_adamw_decays_the_weight_not_the_gradient() -> None:
    p, q = Value(2.0), Value(2.0)
    p.grad = q.grad = 1.0
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    Adam([q], lr=0.1, weight_decay=0.5).step()
    # AdamW: θ(1 - γλ) - γ·sign(g) = 2·0.95 - 0.1; Adam with L2 still takes a step of γ (g + λθ > 0).
    assert p.data == pytest.approx(2 * 0.95 - 0.1 / (1 + 1e-8))
    assert q.data == pytest.approx(2 - 0.1 / (1 + 1e-8 / 2.0))


def test_defaults_are_pytorchs() -> None:
    p = [Value(1.0)]
    adam, adamw = Adam(p), AdamW(p)
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    assert (adamw.lr, adamw.betas, adamw.eps, adamw.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 1e-2)
    sgd = SGD(p, lr=0.1)
    assert (sgd.momentum, sgd.dampening, sgd.nesterov, sgd.weight_decay) == (0.0, 0.0, False, 0.0)


def test_zero_grad_and_state_dict_round_trip() -> None:
    a, b = Value(1.0), Value(-2.0)
    opt = Adam([a, b], lr=0.1)
    (a * b).backward()
    opt.step()
    saved = opt.state_dict()
    values = (a.data, b.data)
    opt.zero_grad()
    assert (a.grad, b.grad) == (0.0, 0.0)
    (a * b).backward()
    opt.step()
    opt.load_state_dict(saved)
    a.data, b.data = values
    assert opt.state_dict() == saved
    assert saved["step_count"] == 1 and len(saved["state"]["exp_avg"]) == 2


# ----------------------------------------------------------------------------------------------------
# Bad input: typed errors, nothing half-updated


@pytest.mark.parametrize(
    "make",
    [
        lambda p: SGD(p, lr=-0.1),
        lambda p: SGD(p, lr=math.nan),
        lambda p: SGD(p, lr=0.1, momentum=-1),
        lambda p: SGD(p, lr=0.1, weight_decay=-1),
        lambda p: SGD(p, lr=0.1, nesterov=True),
        lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
        lambda p: Adam(p, betas=(1.0, 0.999)),
        lambda p: Adam(p, betas=(0.9, -0.1)),
        lambda p: Adam(p, betas=(0.9,)),  # type: ignore[arg-type]
        lambda p: Adam(p, eps=-1e-8),
        lambda p: AdamW(p, weight_decay=-0.01),
        lambda p: SGD([], lr=0.1),
        lambda p: SGD([p[0], p[0]], lr=0.1),
    ],
)
def test_bad_settings_raise_argument_error(make: Callable[[list[Value]], Optimizer]) -> None:
    with pytest.raises((ArgumentError, NonFiniteError)):
        make([Value(1.0)])


def test_bad_types_raise_operand_type_error() -> None:
    with pytest.raises(OperandTypeError):
        SGD(Value(1.0), lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(OperandTypeError, match="parameter 1"):
        SGD([Value(1.0), 2.0], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(OperandTypeError):
        SGD([Value(1.0)], lr="0.1")  # type: ignore[arg-type]


def test_lr_setter_validates() -> None:
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ArgumentError, match="lr"):
        opt.lr = -1.0
    assert opt.lr == 0.1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=0.1), lambda p: AdamW(p)]
)
def test_non_finite_gradient_updates_nothing(bad: float, make: Callable[[list[Value]], Optimizer]) -> None:
    a, b = Value(1.0, "a"), Value(2.0, "b")
    opt = make([a, b])
    a.grad, b.grad = 1.0, 1.0
    opt.step()
    before = (a.data, b.data, opt.state_dict())
    a.grad, b.grad = 1.0, bad
    with pytest.raises(NonFiniteError, match="gradient of b"):
        opt.step()
    assert (a.data, b.data, opt.state_dict()) == before


def test_overflowing_update_updates_nothing() -> None:
    a, b = Value(1.0, "a"), Value(1e300, "b")
    opt = SGD([a, b], lr=1e300, momentum=0.5)
    a.grad, b.grad = 1.0, -1e10
    with pytest.raises(NonFiniteError, match="would make b inf"):
        opt.step()
    assert (a.data, b.data, opt.momentum_buffer, opt.step_count) == (1.0, 1e300, None, 0)


# ----------------------------------------------------------------------------------------------------
# Schedulers: closed forms


def lrs(make: Callable[[Optimizer], Any], epochs: int, base: float = 1.0) -> list[float]:
    """The learning rate at epochs 0..epochs-1 (epoch 0 is set when the scheduler is made)."""
    opt = SGD([Value(0.0)], lr=base)
    scheduler = make(opt)
    out = [opt.lr]
    for _ in range(epochs - 1):
        scheduler.step()
        assert scheduler.get_last_lr() == opt.lr
        out.append(opt.lr)
    return out


def test_step_lr() -> None:
    assert lrs(lambda o: StepLR(o, step_size=2, gamma=0.5), 6) == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25])


def test_exponential_lr() -> None:
    assert lrs(lambda o: ExponentialLR(o, gamma=0.5), 4) == pytest.approx([1, 0.5, 0.25, 0.125])


def test_cosine_annealing_lr() -> None:
    got = lrs(lambda o: CosineAnnealingLR(o, T_max=4, eta_min=0.1), 5)
    # 0.1 + 0.9 (1 + cos(πk/4)) / 2
    assert got == pytest.approx(
        [1.0, 0.1 + 0.45 * (1 + math.sqrt(0.5)), 0.55, 0.1 + 0.45 * (1 - math.sqrt(0.5)), 0.1]
    )


def test_linear_lr_warms_up_then_stays() -> None:
    got = lrs(lambda o: LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=3), 6)
    assert got == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_lambda_lr_is_micrograds_schedule() -> None:
    got = lrs(lambda o: LambdaLR(o, lambda k: 1.0 - 0.9 * k / 100), 100)
    assert got == pytest.approx([1.0 - 0.9 * k / 100 for k in range(100)])


@pytest.mark.parametrize(
    "make",
    [
        lambda o: StepLR(o, step_size=0),
        lambda o: StepLR(o, step_size=1.5),  # type: ignore[arg-type]
        lambda o: ExponentialLR(o, gamma=-1),
        lambda o: CosineAnnealingLR(o, T_max=0),
        lambda o: LinearLR(o, start_factor=0),
        lambda o: LinearLR(o, start_factor=1.5),
        lambda o: LinearLR(o, end_factor=-0.5),
        lambda o: LambdaLR(o, lambda k: -1.0),
    ],
)
def test_bad_scheduler_settings(make: Callable[[Optimizer], Any]) -> None:
    with pytest.raises((ArgumentError, OperandTypeError)):
        make(SGD([Value(0.0)], lr=1.0))


# ----------------------------------------------------------------------------------------------------
# Clipping


def test_clip_grad_norm_returns_norm_before_and_scales() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, 4.0
    assert clip_grad_norm([a, b], 1.0) == 5.0
    assert (a.grad, b.grad) == pytest.approx((3 / (5 + 1e-6), 4 / (5 + 1e-6)))


def test_clip_grad_norm_leaves_small_gradients_alone() -> None:
    a = Value(0.0)
    a.grad = 0.5
    assert clip_grad_norm([a], 1.0) == 0.5
    assert a.grad == 0.5


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6), st.floats(1e-3, 10.0))
@settings(max_examples=50)
def test_clipped_norm_is_at_most_max_norm_and_direction_kept(grads: list[float], max_norm: float) -> None:
    params = [Value(0.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    norm = clip_grad_norm(params, max_norm)
    assert norm == pytest.approx(math.sqrt(sum(g * g for g in grads)))
    assert math.hypot(*(p.grad for p in params)) <= max_norm * (1 + 1e-12)
    for p, g in zip(params, grads):
        assert p.grad * g >= 0.0


def test_clip_grad_norm_does_not_overflow_on_huge_gradients() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3e200, 4e200
    assert clip_grad_norm([a, b], 1.0) == pytest.approx(5e200)
    assert (a.grad, b.grad) == pytest.approx((0.6, 0.8))


def test_clip_rejects_non_finite_and_changes_nothing() -> None:
    a, b = Value(0.0), Value(0.0, "b")
    a.grad, b.grad = 10.0, math.inf
    with pytest.raises(NonFiniteError, match="gradient of b"):
        clip_grad_norm([a, b], 1.0)
    with pytest.raises(NonFiniteError):
        clip_grad_value([a, b], 1.0)
    assert a.grad == 10.0


def test_clip_grad_value() -> None:
    params = [Value(0.0) for _ in range(3)]
    for p, g in zip(params, [-5.0, 0.3, 2.0]):
        p.grad = g
    clip_grad_value(params, 1.0)
    assert [p.grad for p in params] == [-1.0, 0.3, 1.0]
    with pytest.raises(ArgumentError):
        clip_grad_value(params, -1.0)


# ----------------------------------------------------------------------------------------------------
# Against torch, step by step (float64)


def rosenbrock_like(x: Any, y: Any, z: Any) -> Any:
    """A small non-convex function of three parameters, written for both Values and torch tensors."""
    return (1 - x) ** 2 + 5 * (y - x * x) ** 2 + (z * y - 0.5) ** 2 + 0.1 * z * z * z * z


OPTIMIZER_CASES = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.3}),
]


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZER_CASES)
def test_trajectory_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    start = [-0.7, 1.3, 0.4]
    ours = [Value(v) for v in start]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in start]
    our_opt = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name](ours, **kwargs)
    their_opt = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(30):
        our_opt.zero_grad()
        rosenbrock_like(*ours).backward()
        our_opt.step()
        their_opt.zero_grad()
        rosenbrock_like(*theirs).backward()
        their_opt.step()
        assert [p.data for p in ours] == pytest.approx([t.item() for t in theirs], rel=1e-9, abs=1e-12)


SCHEDULER_CASES: list[tuple[str, dict[str, Any]]] = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 4}),
    ("LambdaLR", {"lr_lambda": lambda k: 1.0 - 0.9 * k / 100}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULER_CASES)
def test_scheduler_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    import tinygrad_w.train.optim as optim

    our_opt = SGD([Value(0.0)], lr=0.5)
    their_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    ours = getattr(optim, name)(our_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(their_opt, **kwargs)
    for _ in range(12):  # two epochs past the cosine's T_max = 10 too: recursive and closed forms agree
        assert our_opt.lr == pytest.approx(their_opt.param_groups[0]["lr"], rel=1e-9)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr()[0], rel=1e-9)
        their_opt.step()
        ours.step()
        theirs.step()


def test_clip_grad_norm_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    grads = [0.3, -2.0, 1.5, 4.0]
    ours = [Value(0.0) for _ in grads]
    theirs = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = g
        t.grad = torch.tensor([g], dtype=torch.float64)
    assert clip_grad_norm(ours, 2.0) == pytest.approx(torch.nn.utils.clip_grad_norm_(theirs, 2.0).item())
    assert [p.grad for p in ours] == pytest.approx([t.grad.item() for t in theirs], rel=1e-12)


# ----------------------------------------------------------------------------------------------------
# Hostile states and settings: a typed error naming the field, and nothing changed


def trained(make: Callable[[list[Value]], Optimizer]) -> tuple[Optimizer, list[Value]]:
    params = [Value(1.0, "a"), Value(-2.0, "b")]
    opt = make(params)
    for p in params:
        p.grad = 0.5
    opt.step()
    return opt, params


BAD_STATES: list[tuple[str, Callable[[dict[str, Any]], None], type[Exception], str]] = [
    (
        "step_count text",
        lambda s: s.update(step_count="abc"),
        OperandTypeError,
        "step_count must be an integer",
    ),
    (
        "negative step_count",
        lambda s: s.update(step_count=-1),
        ArgumentError,
        "step_count must be an integer >= 0",
    ),
    ("unknown field", lambda s: s.update(extra=1), ArgumentError, r"unknown fields \['extra'\]"),
    ("missing field", lambda s: s.pop("lr"), ArgumentError, r"missing fields \['lr'\]"),
    ("NaN lr", lambda s: s.update(lr=math.nan), NonFiniteError, "lr must be finite"),
    ("other type", lambda s: s.update(type="Other"), ArgumentError, "of a 'Other' optimizer"),
    ("state not a dict", lambda s: s.update(state=[1]), ArgumentError, "state must be a dict of buffers"),
    ("unknown buffer", lambda s: s["state"].update(velocity=[0.0, 0.0]), ArgumentError, "the buffers are"),
]
ADAM_STATES = [
    ("missing exp_avg_sq", lambda s: s["state"].pop("exp_avg_sq"), ArgumentError, "the buffers are"),
    (
        "NaN buffer",
        lambda s: s["state"]["exp_avg"].__setitem__(1, math.nan),
        NonFiniteError,
        r"exp_avg\[1\] must be finite",
    ),
    (
        "negative v",
        lambda s: s["state"]["exp_avg_sq"].__setitem__(0, -1.0),
        ArgumentError,
        r"exp_avg_sq\[0\] must be >= 0",
    ),
    (
        "short buffer",
        lambda s: s["state"]["exp_avg"].pop(),
        ArgumentError,
        "exp_avg must be a list of 2 numbers",
    ),
    (
        "text buffer",
        lambda s: s["state"]["exp_avg"].__setitem__(0, "x"),
        OperandTypeError,
        r"exp_avg\[0\] must be a real number",
    ),
]
SGD_STATES = [
    (
        "NaN momentum",
        lambda s: s["state"]["momentum_buffer"].__setitem__(0, math.inf),
        NonFiniteError,
        "momentum_buffer",
    ),
]


@pytest.mark.parametrize(
    ("make", "case"),
    [(lambda p: SGD(p, lr=0.1, momentum=0.9), case) for case in BAD_STATES + SGD_STATES]
    + [(lambda p: Adam(p, lr=0.1), case) for case in BAD_STATES + ADAM_STATES],
    ids=[f"SGD-{c[0]}" for c in BAD_STATES + SGD_STATES] + [f"Adam-{c[0]}" for c in BAD_STATES + ADAM_STATES],
)
def test_load_state_dict_checks_everything_before_changing_anything(
    make: Callable[[list[Value]], Optimizer],
    case: tuple[str, Callable[[dict[str, Any]], None], type[Exception], str],
) -> None:
    _, spoil, error, message = case
    opt, _ = trained(make)
    other, _ = trained(make)
    other.lr, other.step_count = 0.7, 9
    state = other.state_dict()
    spoil(state)
    before = opt.state_dict()
    with pytest.raises(error, match=rf"^{type(opt).__name__}\.load_state_dict: .*{message}"):
        opt.load_state_dict(state)
    assert opt.state_dict() == before  # not even the learning rate moved


def test_load_state_dict_refuses_a_non_dict() -> None:
    opt, _ = trained(lambda p: SGD(p, lr=0.1))
    with pytest.raises(OperandTypeError, match=r"^SGD\.load_state_dict: expected a dict"):
        opt.load_state_dict(None)  # type: ignore[arg-type]


def test_a_scheduler_that_overflows_changes_nothing() -> None:
    opt = SGD([Value(0.0)], lr=1.0)
    scheduler = StepLR(opt, 1, gamma=1e10)
    for _ in range(30):
        scheduler.step()
    lr, epoch = opt.lr, scheduler.last_epoch
    with pytest.raises(NonFiniteError, match=r"^StepLR: the learning rate at epoch 31 "):
        scheduler.step()
    assert (opt.lr, scheduler.last_epoch, scheduler.get_last_lr()) == (lr, epoch, lr) == (1e300, 30, 1e300)


def test_a_lambda_returning_no_number_is_named() -> None:
    opt = SGD([Value(0.0)], lr=1.0)
    with pytest.raises(OperandTypeError, match=r"^LambdaLR: lr_lambda\(0\) must be a real number, got str"):
        LambdaLR(opt, lambda k: "fast")  # type: ignore[arg-type, return-value]
    assert opt.lr == 1.0


def test_adam_refuses_a_gradient_whose_square_overflows_instead_of_freezing() -> None:
    p = Value(1.0, "w")
    opt = Adam([p], lr=0.1)
    p.grad = 1e200  # g² = 1e400: v would become inf and the weight would never move again
    with pytest.raises(NonFiniteError, match=r"^Adam\.step: step 1 would make exp_avg_sq of w inf"):
        opt.step()
    assert (p.data, opt.exp_avg, opt.exp_avg_sq, opt.step_count) == (1.0, [0.0], [0.0], 0)


def test_adam_eps_must_be_positive() -> None:
    with pytest.raises(ArgumentError, match=r"^Adam: eps must be > 0, got 0"):
        Adam([Value(1.0)], eps=0)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: SGD([Value(1.0)], lr=10**400),
            NonFiniteError,
            r"^SGD: lr must be finite, got 1000+\.\.\. \(too large",
        ),
        (
            lambda: SGD([Value(1.0)], lr=0.1, nesterov="no"),
            OperandTypeError,
            "^SGD: nesterov must be True or False",
        ),
        (
            lambda: SGD(5, lr=0.1),
            OperandTypeError,
            r"^SGD: params must be an iterable of Values .*, got int 5",
        ),
        (
            lambda: clip_grad_norm([1.0], 1),
            OperandTypeError,
            "^clip_grad_norm: parameter 0 is float 1.0, not a Value",
        ),
        (
            lambda: clip_grad_value(Value(1.0), 1),
            OperandTypeError,
            "^clip_grad_value: params must be an iterable",
        ),
        (
            lambda: clip_grad_norm([Value(1.0)], "1"),
            OperandTypeError,
            "^clip_grad_norm: max_norm must be a real number",
        ),
    ],
)
def test_bad_arguments_are_typed_errors_naming_the_function(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_clip_of_no_parameters_is_zero() -> None:
    assert clip_grad_norm([], 1.0) == 0.0


def test_clip_grad_norm_refuses_a_norm_past_the_largest_float() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad = b.grad = 1.5e308
    with pytest.raises(NonFiniteError, match=r"^clip_grad_norm: the gradient norm is too large"):
        clip_grad_norm([a, b], 1.0)
    assert a.grad == b.grad == 1.5e308


def test_step_names_a_parameter_whose_data_is_not_a_number() -> None:
    a, b = Value(1.0, "a"), Value(2.0, "b")
    opt = SGD([a, b], lr=0.1)
    b.data = "abc"  # type: ignore[assignment]
    a.grad = b.grad = 1.0
    with pytest.raises(OperandTypeError, match=r"^SGD\.step: b: expected a real number"):
        opt.step()
    assert a.data == 1.0 and opt.step_count == 0
