"""The Deep Conjugate Direction Method iteration (Kaneda et al., ICML 2023, Algorithm 1).

At iteration ``k`` a direction ``q = f(r_k / ||r_k||)`` comes from a callable (the trained network),
is made ``A``-orthogonal to the last ``k_prev`` search directions,

    q <- q - sum_j (q^T A p_j) / (p_j^T A p_j) p_j,

and the solution takes the exact line-search step along it, ``x += (q^T r / q^T A q) q``. The residual
is then recomputed from scratch, ``r = b - A x`` (the paper's choice: the directions are not exactly
conjugate, so the recursive residual would drift). Everything is accumulated in float64 whatever
precision the network runs in. Same stopping rule and :class:`~sciml.components.solvers.krylov.SolveResult`
as the baselines: ``x0 = 0``, stop when ``||r|| / ||b|| <= tol``; two products with ``A`` and one
network call per iteration.

A network that is not trained well enough can trap the iteration: when a step barely changes ``r``,
the next network output is nearly the previous direction, the orthogonalization removes it, and the
residual stays put for ever. The solve therefore also stops (``converged=False``) when the best
residual has not improved by ``0.1%`` over the last ``stall_window`` iterations.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np
import torch

from sciml.components.solvers.krylov import SolveResult
from sciml.components.solvers.stencil import MeanZeroProjection, StencilOperator

Direction = Callable[[torch.Tensor], torch.Tensor]


def network_output(net: torch.nn.Module, r: torch.Tensor, operator: StencilOperator) -> torch.Tensor:
    """``net(r)``, or ``net(r, operator)`` for a network that reads the system (``takes_operator``):
    ``(batch, 1, *spatial)`` -> same shape."""
    return net(r, operator) if getattr(net, "takes_operator", False) else net(r)


def network_direction(net: torch.nn.Module, operator: StencilOperator) -> Direction:
    """Wrap a network ``(batch, 1, *spatial) -> (batch, 1, *spatial)`` as a direction ``(*spatial) -> (*spatial)``
    for the system of ``operator``.

    The input is cast to the network's dtype; the output is cast back to the input's dtype and set to
    zero on solid cells, so it lies in the space of fluid unknowns.
    """
    param = next(net.parameters())

    def direction(r: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            q = network_output(net, r.to(param.dtype)[None, None], operator)[0, 0]
        return q.to(r.dtype) * operator.mask

    return direction


def dcdm_solve(
    operator: StencilOperator,
    b: torch.Tensor,
    direction: Direction,
    tol: float,
    max_iters: int,
    k_prev: int = 2,
    project: MeanZeroProjection | None = None,
    stall_window: int = 50,
) -> SolveResult:
    """Solve ``A x = b`` on the grid with DCDM.

    Args:
        operator: the matrix-free ``A``.
        b: ``(*spatial)`` right-hand side, zero on solid cells; for a singular ``A`` it must lie in the
            range (zero mean on each singular region).
        direction: ``(*spatial) -> (*spatial)``, the search direction for a unit-norm residual.
        tol: relative residual tolerance.
        max_iters: iteration cap.
        k_prev: number of previous directions ``q`` is ``A``-orthogonalized against (paper: 2).
        project: the projection onto the range of ``A`` (singular systems), applied to every direction
            and to the returned ``x``.
        stall_window: stop after this many iterations without a 0.1% improvement of the best residual.

    Returns: a :class:`SolveResult` with ``x`` as a float64 numpy array of shape ``(*spatial)``.
    """
    if k_prev < 0:
        raise ValueError(f"dcdm: k_prev must be >= 0, got {k_prev}")
    start = time.perf_counter()
    b = b.to(torch.float64)
    norm_b = float(torch.linalg.vector_norm(b))
    x = torch.zeros_like(b)
    if norm_b == 0.0:
        return SolveResult(x.cpu().numpy(), 0, np.zeros(1), 0, 0.0, 0.0, True, 0.0)
    r = b.clone()
    history = [1.0]
    previous: deque[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = deque(maxlen=k_prev)
    matvecs = calls = 0
    while history[-1] > tol and calls < max_iters:
        q = direction(r / (history[-1] * norm_b))
        calls += 1
        if project is not None:
            q = project(q)  # a null-space component adds nothing to A q and only harms the step
        raw_norm = torch.linalg.vector_norm(q)
        for p, ap, pap in previous:
            q = q - (torch.sum(q * ap) / pap) * p
        if not float(torch.linalg.vector_norm(q)) > 1e-10 * float(raw_norm):
            break  # the direction lies in the span of the previous ones (or is zero / not finite)
        aq = operator(q)
        matvecs += 1
        qaq = torch.sum(q * aq)
        if not float(qaq) > 0.0:
            break  # no component in the range of A (or not finite): no progress possible
        x = x + (torch.sum(q * r) / qaq) * q
        r = b - operator(x)
        matvecs += 1
        history.append(float(torch.linalg.vector_norm(r)) / norm_b)
        previous.append((q, aq, qaq))  # a deque of maxlen 0 keeps nothing
        if len(history) > stall_window and min(history[-stall_window:]) > 0.999 * min(history[:-stall_window]):
            break
    if project is not None:
        x = project(x)
    true_res = float(torch.linalg.vector_norm(b - operator(x))) / norm_b
    matvecs += 1
    solve = time.perf_counter() - start
    residuals = np.asarray(history)
    return SolveResult(
        x=x.cpu().numpy(),
        iterations=len(history) - 1,
        residuals=residuals,
        matvecs=matvecs,
        setup_seconds=0.0,
        solve_seconds=solve,
        converged=bool(residuals[-1] <= tol),
        true_residual=true_res,
        network_calls=calls,
    )
