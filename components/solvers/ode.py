"""Batched integrators for autonomous ODEs ``dy/dt = f(y)`` in torch.

Every function integrates a whole batch of initial states in one call: the state is a tensor of
shape ``(batch, dim)`` and the right-hand side ``f`` maps ``(batch, dim) -> (batch, dim)``. The
integrators never move data between devices and keep the dtype of ``y0`` (use float64 for
reference solutions). Output is always on the uniform grid ``t_k = k * dt`` (time units of ``f``),
``k = 0 .. n_steps``, after ``discard`` grid points have been integrated and dropped (transients).

- :func:`rk4`: classical fixed-step Runge-Kutta 4, optionally with ``substeps`` steps per output
  interval (global error ``O((dt / substeps)^4)``), advanced in blocks of output intervals that can
  be fused by ``torch.compile`` (``compiled=True``).
- :func:`dopri5`: adaptive Dormand-Prince 5(4) with per-trajectory step sizes; each trajectory's
  step is clipped so that it lands exactly on the next output time ("step clipping"), so the output
  is an integrator step, not an interpolant. Local error per step is kept below
  ``atol + rtol * |y|`` in the RMS norm over the state's components.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

RHS = Callable[[torch.Tensor], torch.Tensor]


def rk4_step(f: RHS, y: torch.Tensor, h: float) -> torch.Tensor:
    """One classical RK4 step of size ``h`` from ``y`` (batch, dim).

    Written with fused scaled adds (``torch.add(..., alpha=)``): for small batches the cost is the
    number of kernel launches, not arithmetic.
    """
    k1 = f(y)
    k2 = f(torch.add(y, k1, alpha=0.5 * h))
    k3 = f(torch.add(y, k2, alpha=0.5 * h))
    k4 = f(torch.add(y, k3, alpha=h))
    acc = torch.add(k1, k2 + k3, alpha=2.0)
    acc += k4
    return torch.add(y, acc, alpha=h / 6.0)


def _check_grid(dt: float, n_steps: int, discard: int) -> None:
    if not dt > 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    if n_steps < 0 or discard < 0:
        raise ValueError(f"n_steps and discard must be >= 0, got {n_steps} and {discard}")


def _rk4_block(f: RHS, y: torch.Tensor, h: float, substeps: int, block: int) -> torch.Tensor:
    """``block`` output intervals of ``substeps`` RK4 steps each from ``y`` (batch, dim).

    Returns ``(batch, block, dim)``, the state at the end of each interval. One call is the unit that
    :func:`rk4` hands to ``torch.compile``: inductor fuses the ``block * substeps`` steps into one
    kernel, so the per-op dispatch cost is paid once per block instead of ~50 times per step.
    """
    states = []
    for _ in range(block):
        for _ in range(substeps):
            y = rk4_step(f, y, h)
        states.append(y)
    return torch.stack(states, dim=1)


_compiled_block: Callable | None = None  # torch.compile(_rk4_block), built on first use
_compile_failed = False  # set once compilation has failed in this process: later calls run eagerly


def _block_runner(compiled: bool) -> Callable:
    """``_rk4_block``, compiled when asked for and available; eager otherwise."""
    global _compiled_block
    if not compiled or _compile_failed:
        return _rk4_block
    if _compiled_block is None:
        _compiled_block = torch.compile(_rk4_block, dynamic=False)
    return _compiled_block


def rk4(
    f: RHS,
    y0: torch.Tensor,
    dt: float,
    n_steps: int,
    *,
    substeps: int = 1,
    discard: int = 0,
    compiled: bool = False,
    block: int | None = None,
) -> torch.Tensor:
    """Fixed-step RK4 on the output grid.

    The integration advances ``block`` output intervals per Python iteration (the last block may run
    past the grid; its extra states are dropped) and writes them into one preallocated output.
    With ``compiled=True`` each block is a ``torch.compile``d kernel (C++ on CPU, Triton on CUDA):
    the same steps fused into one loop (equal to the eager result up to rounding: the compiler may
    contract ``a * b + c``), much faster where per-op dispatch dominates (small states, ~1e3
    trajectories); the first call per ``(f, dt, substeps, block, shape, dtype, device)`` pays the
    compilation (tens of seconds on a 2-core CPU, less when inductor's on-disk cache already holds
    it). Where compilation is unavailable (no C++ compiler, unsupported platform) it warns once and
    runs eagerly.

    Args:
        f: right-hand side, ``(batch, dim) -> (batch, dim)``.
        y0: initial states, ``(batch, dim)``.
        dt: output interval (time units of ``f``); the step is ``dt / substeps``.
        n_steps: number of output intervals kept after the transient.
        substeps: RK4 steps per output interval (>= 1).
        discard: output intervals integrated first and dropped (transient).
        compiled: run the blocks through ``torch.compile``.
        block: output intervals per block (>= 1); default ``max(1, 20 // substeps)``, i.e. about 20
            RK4 steps. Larger blocks amortize dispatch further but take longer to compile.

    Returns:
        ``(batch, n_steps + 1, dim)``: the states at ``t = (discard + k) * dt``, ``k = 0 .. n_steps``.
    """
    global _compile_failed
    _check_grid(dt, n_steps, discard)
    if substeps < 1:
        raise ValueError(f"substeps must be >= 1, got {substeps}")
    block = max(1, 20 // substeps) if block is None else block
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    h = float(dt) / substeps
    out = torch.empty(y0.shape[0], n_steps + 1, y0.shape[1], dtype=y0.dtype, device=y0.device)
    if discard == 0:
        out[:, 0] = y0
    run = _block_runner(compiled)
    y, done = y0.contiguous(), 0  # done: output intervals integrated so far
    while done < discard + n_steps:
        try:
            states = run(f, y, h, substeps, block)
        except Exception as err:  # compilation unavailable here: fall back to the eager block
            if run is _rk4_block:
                raise
            warnings.warn(f"rk4: torch.compile failed ({type(err).__name__}: {err}); integrating eagerly", stacklevel=2)
            _compile_failed = True
            run = _rk4_block
            continue
        # grid points done+1 .. done+block; keep those in [discard, discard + n_steps]
        first = max(done + 1, discard)
        last = min(done + block, discard + n_steps)
        if first <= last:
            out[:, first - discard : last - discard + 1] = states[:, first - done - 1 : last - done]
        y = states[:, -1].contiguous()  # same strides every block: no recompilation
        done += block
    return out


# Dormand-Prince 5(4) tableau (Dormand & Prince 1980); the 7th stage is FSAL (first same as last).
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_E = tuple(b5 - b4 for b5, b4 in zip(_B5, _B4))


def _check_tableau() -> None:
    """Consistency of the tableau: rows of A sum to c, both weight vectors sum to 1."""
    for c, row in zip(_C, _A):
        if abs(sum(row) - c) > 1e-14:
            raise AssertionError("Dormand-Prince tableau: a row of A does not sum to c")
    if _A[6] != _B5[:6]:
        raise AssertionError("Dormand-Prince tableau: the last row of A must equal b5 (FSAL)")
    if abs(sum(_B5) - 1) > 1e-14 or abs(sum(_B4) - 1) > 1e-14:
        raise AssertionError("Dormand-Prince tableau: weights do not sum to 1")


_check_tableau()


def dopri5_step(
    f: RHS, y: torch.Tensor, k1: torch.Tensor, h: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One Dormand-Prince trial step.

    Args:
        y: states ``(batch, dim)``; k1: ``f(y)`` (batch, dim); h: step sizes ``(batch, 1)``.

    Returns:
        ``(y5, error, k7)``: the 5th-order solution, the embedded error estimate ``y5 - y4`` and
        ``f(y5)`` (the next step's ``k1``), each ``(batch, dim)``.
    """
    ks = [k1]
    for row in _A[1:]:
        incr = sum(a * k for a, k in zip(row, ks) if a != 0.0)
        ks.append(f(y + h * incr))
    y5 = y + h * sum(b * k for b, k in zip(_B5, ks) if b != 0.0)
    # _A[-1] equals _B5, so the 7th stage was evaluated at y5: ks[6] = f(y5) (FSAL).
    err = h * sum(e * k for e, k in zip(_E, ks) if e != 0.0)
    return y5, err, ks[6]


def dopri5(
    f: RHS,
    y0: torch.Tensor,
    dt: float,
    n_steps: int,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    discard: int = 0,
    h0: float | None = None,
    max_iters: int = 10_000_000,
) -> torch.Tensor:
    """Adaptive Dormand-Prince 5(4) with one step size per trajectory, output on the ``dt`` grid.

    Each trajectory keeps its own time and step size; a step that would pass the next output time
    is shortened to land on it. A trial step is accepted when the RMS over components of
    ``error / (atol + rtol * max(|y|, |y_new|))`` is <= 1; the next step is scaled by
    ``0.9 * err^(-1/5)`` clamped to [0.2, 5].

    Args:
        f: right-hand side, ``(batch, dim) -> (batch, dim)``.
        y0: initial states ``(batch, dim)``.
        dt: output interval (time units of ``f``).
        n_steps: output intervals kept after the transient.
        rtol, atol: relative and absolute local error tolerances.
        discard: output intervals integrated first and dropped (transient).
        h0: first trial step; default ``dt``.
        max_iters: bound on trial steps (all trajectories together advance once per iteration).

    Returns:
        ``(batch, n_steps + 1, dim)``: states at ``t = (discard + k) * dt``, ``k = 0 .. n_steps``.
    """
    _check_grid(dt, n_steps, discard)
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be > 0, got {rtol} and {atol}")
    batch, dim = y0.shape
    n_grid = discard + n_steps  # grid points after t = 0 that the integration must reach
    out = torch.empty(batch, n_steps + 1, dim, dtype=y0.dtype, device=y0.device)
    if discard == 0:
        out[:, 0] = y0
    rows = torch.arange(batch, device=y0.device)
    y = y0.clone()
    k1 = f(y)
    t = torch.zeros(batch, dtype=y0.dtype, device=y0.device)
    h = torch.full((batch,), dt if h0 is None else h0, dtype=y0.dtype, device=y0.device)
    reached = torch.zeros(batch, dtype=torch.long, device=y0.device)  # grid points reached so far
    for _ in range(max_iters):
        active = reached < n_grid
        if not bool(active.any()):
            return out
        target = (reached + 1).to(y0.dtype) * dt
        remaining = target - t
        clipped = h >= remaining
        step = torch.where(clipped, remaining, h)
        y_new, err, k_new = dopri5_step(f, y, k1, step[:, None])
        scale = atol + rtol * torch.maximum(y.abs(), y_new.abs())
        err_norm = (err / scale).square().mean(dim=1).sqrt()
        accept = (err_norm <= 1.0) & active
        factor = (0.9 * err_norm.clamp_min(1e-10).pow(-0.2)).clamp(0.2, 5.0)
        proposal = step * factor
        # After a clipped accepted step, do not let the short step shrink the next one.
        h = torch.where(accept & clipped, torch.maximum(h, proposal), proposal)
        y = torch.where(accept[:, None], y_new, y)
        k1 = torch.where(accept[:, None], k_new, k1)
        hit = accept & clipped
        t = torch.where(hit, target, torch.where(accept, t + step, t))
        reached = reached + hit.long()
        record = hit & (reached >= discard)
        if bool(record.any()):
            out[rows[record], reached[record] - discard] = y[record]
    raise RuntimeError(f"dopri5: not finished after max_iters={max_iters} trial steps; raise rtol/atol")
