"""Chaotic flows: parameters, batched right-hand side and analytic Jacobian, in torch.

A :class:`Flow` is a frozen dataclass whose fields are the system's parameters. It provides

- ``rhs(y)``: ``(..., dim) -> (..., dim)``, the vector field (state units per time unit);
- ``jacobian(y)``: ``(..., dim) -> (..., dim, dim)``, ``J[..., i, j] = d rhs_i / d y_j``;
- ``initial_states(n, generator)``: ``(n, dim)`` random starting points in the basin of the attractor.

Adding a system: subclass :class:`Flow` as a frozen dataclass with its parameters as fields, set
``dim`` and implement ``rhs`` and ``jacobian`` (the test suite checks every Jacobian against
finite differences of ``rhs``), then add a data kind for it (a subclass of
``sciml.components.data.chaos.ChaoticSystemData`` with the parameters as fields, registered in
``pyproject.toml`` under ``sciml.data``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Flow:
    """Base class of an autonomous flow ``dy/dt = rhs(y)``."""

    @property
    def dim(self) -> int:
        """State dimension."""
        raise NotImplementedError

    def rhs(self, y: torch.Tensor) -> torch.Tensor:
        """Vector field, ``(..., dim) -> (..., dim)``."""
        raise NotImplementedError

    def jacobian(self, y: torch.Tensor) -> torch.Tensor:
        """Analytic Jacobian of :meth:`rhs`, ``(..., dim) -> (..., dim, dim)``."""
        raise NotImplementedError

    def initial_states(
        self, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"
    ) -> torch.Tensor:
        """``(n, dim)`` starting points: standard normal, shifted by :meth:`center`; transients remove the rest."""
        z = torch.randn(n, self.dim, generator=generator, dtype=dtype)
        return (z + torch.as_tensor(self.center(), dtype=dtype)).to(device)

    def center(self) -> list[float]:
        """A point near the attractor (length ``dim``), around which initial states are drawn."""
        return [0.0] * self.dim


@dataclass(frozen=True)
class Lorenz63(Flow):
    """Lorenz (1963): ``x' = s (y - x)``, ``y' = x (r - z) - y``, ``z' = x y - b z``."""

    sigma: float = 10.0
    rho: float = 28.0
    beta: float = 8.0 / 3.0

    @property
    def dim(self) -> int:
        return 3

    def rhs(self, y: torch.Tensor) -> torch.Tensor:
        x, v, z = y.unbind(-1)
        return torch.stack((self.sigma * (v - x), x * (self.rho - z) - v, x * v - self.beta * z), dim=-1)

    def jacobian(self, y: torch.Tensor) -> torch.Tensor:
        x, v, z = y.unbind(-1)
        one, zero = torch.ones_like(x), torch.zeros_like(x)
        rows = (
            (-self.sigma * one, self.sigma * one, zero),
            (self.rho - z, -one, -x),
            (v, x, -self.beta * one),
        )
        return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)

    def center(self) -> list[float]:
        return [0.0, 0.0, self.rho - 1.0]


@dataclass(frozen=True)
class Roessler(Flow):
    """Roessler (1976): ``x' = -y - z``, ``y' = x + a y``, ``z' = b + z (x - c)``."""

    a: float = 0.2
    b: float = 0.2
    c: float = 5.7

    @property
    def dim(self) -> int:
        return 3

    def rhs(self, y: torch.Tensor) -> torch.Tensor:
        x, v, z = y.unbind(-1)
        return torch.stack((-v - z, x + self.a * v, self.b + z * (x - self.c)), dim=-1)

    def jacobian(self, y: torch.Tensor) -> torch.Tensor:
        x, v, z = y.unbind(-1)
        one, zero = torch.ones_like(x), torch.zeros_like(x)
        rows = ((zero, -one, -one), (one, self.a * one, zero), (z, zero, x - self.c))
        return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)

    def center(self) -> list[float]:
        return [0.0, -5.0, 0.0]


@dataclass(frozen=True)
class Lorenz96(Flow):
    """Lorenz (1996), ``n`` sites on a ring: ``x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F``."""

    n: int = 10
    forcing: float = 8.0

    @property
    def dim(self) -> int:
        return self.n

    def rhs(self, y: torch.Tensor) -> torch.Tensor:
        ahead = torch.roll(y, -1, dims=-1)
        back1 = torch.roll(y, 1, dims=-1)
        back2 = torch.roll(y, 2, dims=-1)
        return (ahead - back2) * back1 - y + self.forcing

    def jacobian(self, y: torch.Tensor) -> torch.Tensor:
        n = self.n
        idx = torch.arange(n, device=y.device)
        jac = torch.zeros(*y.shape, n, dtype=y.dtype, device=y.device)
        back1 = torch.roll(y, 1, dims=-1)
        # d/dx_i: -1; d/dx_{i+1}: x_{i-1}; d/dx_{i-2}: -x_{i-1}; d/dx_{i-1}: x_{i+1} - x_{i-2}.
        jac[..., idx, idx] = -1.0
        jac[..., idx, (idx + 1) % n] += back1
        jac[..., idx, (idx - 2) % n] -= back1
        jac[..., idx, (idx - 1) % n] += torch.roll(y, -1, dims=-1) - torch.roll(y, 2, dims=-1)
        return jac

    def center(self) -> list[float]:
        return [self.forcing] * self.n
