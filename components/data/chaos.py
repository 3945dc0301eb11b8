"""Data kinds ``lorenz63``, ``roessler``, ``lorenz96``: trajectories of chaotic flows.

Each sample is one trajectory ``x`` of shape (time, dim), observed every ``dt`` time units after a
discarded transient, integrated in float64 by the batched integrators of
``sciml.components.solvers.ode`` (all trajectories of a batch in one call) and stored as float32.

Standardization (``standardize: true``) uses the mean and standard deviation of the system's
attractor, estimated once per dataset in :meth:`ChaoticSystemData.setup` from independent reference
trajectories, so every split is z-scored with the same statistics. Observation noise
(``noise``, a fraction of each coordinate's standard deviation) is added to train and val; the
test split stays clean (it is the reference that reconstructions are measured against).

Splits:

- ``split: trajectories``: ``train``, ``val``, ``test`` independent trajectories of ``steps`` time
  points (``test_steps`` for test, default ``steps``). The ``dsr`` evaluator compares a free run
  with test trajectory 0 and uses test trajectory 1 as the floor (an independent true trajectory).
- ``split: time``: ``train`` trajectories of ``steps`` points, each cut into consecutive train, val
  and test segments by ``fractions``.

Adding a system: write its :class:`~sciml.components.solvers.flows.Flow` (parameters, ``rhs``,
``jacobian``), subclass :class:`ChaoticSystemData` with the parameters as fields, a ``kind`` and a
``flow()`` method, and register it in ``pyproject.toml`` under ``[project.entry-points."sciml.data"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from sciml.components.base import DataConfig

if TYPE_CHECKING:
    import torch

    from sciml.components.solvers.flows import Flow

# spawn_key of the standardization reference; below any split index used by the pipeline's seeds.
_REFERENCE_KEY = 2**31 - 1
# spawn_key prefix of whole trajectories for the time split (shared by the splits' segments).
_TIME_SPLIT_KEY = 2**31 - 2


class ChaoticSystemData(DataConfig):
    """Base of the chaotic-system data kinds: integration, transients, noise, standardization, splits."""

    role = "trajectories"

    dt: float = Field(0.01, gt=0, description="time between observations (time units of the system)")
    steps: int = Field(10_000, ge=2, description="time points per train/val trajectory (split=time: per whole trajectory)")
    test_steps: int | None = Field(None, ge=2, description="split=trajectories: time points per test trajectory (default: steps)")
    transient: float = Field(50.0, ge=0, description="time units integrated and discarded before observing")
    train: int = Field(8, ge=1, description="training trajectories (split=time: trajectories cut into all three splits)")
    val: int = Field(1, ge=1, description="validation trajectories (split=trajectories)")
    test: int = Field(2, ge=1, description="test trajectories (split=trajectories); the dsr floor needs 2")
    split: Literal["trajectories", "time"] = "trajectories"
    fractions: tuple[float, float, float] = Field((0.8, 0.1, 0.1), description="split=time: train, val, test shares")
    noise: float = Field(0.0, ge=0, description="Gaussian observation noise on train and val, fraction of each coordinate's std")
    standardize: bool = Field(True, description="z-score with the attractor's mean and std")
    integrator: Literal["rk4", "dopri5"] = "rk4"
    substeps: int = Field(1, ge=1, description="rk4: steps per observation interval")
    compile: bool = Field(
        False,
        description="rk4: fuse blocks of steps with torch.compile (a one-off compile of 10-90 s on a CPU; "
        "then ~3x the eager rate for small states: worth it for many or long trajectories)",
    )
    rtol: float = Field(1e-8, gt=0, description="dopri5: relative tolerance")
    atol: float = Field(1e-10, gt=0, description="dopri5: absolute tolerance")

    version = "1"

    @model_validator(mode="after")
    def _check_fractions(self):
        if self.split == "time":
            if any(f <= 0 for f in self.fractions) or abs(sum(self.fractions) - 1.0) > 1e-9:
                raise ValueError(f"fractions: three positive shares summing to 1, got {list(self.fractions)}")
            if min(self.segment_lengths().values()) < 2:
                raise ValueError(f"steps: {self.steps} is too short to cut into fractions {list(self.fractions)}")
        return self

    def flow(self) -> Flow:
        """The system (parameters, right-hand side, Jacobian)."""
        raise NotImplementedError

    def split_sizes(self) -> dict[str, int]:
        if self.split == "time":
            return {"train": self.train, "val": self.train, "test": self.train}
        return {"train": self.train, "val": self.val, "test": self.test}

    def series_lengths(self) -> dict[str, int]:
        if self.split == "time":
            return self.segment_lengths()
        return {"train": self.steps, "val": self.steps, "test": self.test_steps or self.steps}

    def segment_lengths(self) -> dict[str, int]:
        """split=time: time points of each split's segment."""
        n_train = int(round(self.fractions[0] * self.steps))
        n_val = int(round(self.fractions[1] * self.steps))
        return {"train": n_train, "val": n_val, "test": self.steps - n_train - n_val}

    def integrate(self, rngs: Sequence[np.random.Generator], steps: int) -> np.ndarray:
        """Trajectories (len(rngs), steps, dim) in the system's units, one initial state per generator.

        Each initial state is ``flow.center() + N(0, I)`` drawn from its own generator; the
        transient is integrated and dropped; all trajectories are integrated in one batched call.
        """
        import torch

        from sciml.components.solvers.ode import dopri5, rk4

        flow = self.flow()
        y0 = np.stack([np.asarray(flow.center()) + rng.standard_normal(flow.dim) for rng in rngs])
        y0 = torch.as_tensor(y0, dtype=torch.float64)
        discard = int(round(self.transient / self.dt))
        if self.integrator == "rk4":
            out = rk4(
                flow.rhs, y0, self.dt, steps - 1, substeps=self.substeps, discard=discard, compiled=self.compile
            )
        else:
            out = dopri5(flow.rhs, y0, self.dt, steps - 1, rtol=self.rtol, atol=self.atol, discard=discard)
        return out.numpy()

    def setup(self, seed: int) -> dict[str, np.ndarray]:
        """``mean`` and ``std`` (dim,) of the attractor, from 64 independent reference trajectories.

        Each has ``min(steps, 2000)`` points: the batch, not the length, buys the accuracy (a batched
        step costs about the same for 1 or 64 trajectories).
        """
        root = np.random.SeedSequence(seed, spawn_key=(_REFERENCE_KEY,))
        ref = self.integrate([np.random.default_rng(s) for s in root.spawn(64)], min(self.steps, 2000))
        return {"mean": ref.mean(axis=(0, 1)), "std": ref.std(axis=(0, 1))}

    def _scale(self, shared: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Offset and scale of the stored values: (mean, std) when standardizing, else (0, 1)."""
        if self.standardize:
            return shared["mean"], shared["std"]
        return np.zeros_like(shared["mean"]), np.ones_like(shared["std"])

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.split == "time":
            # The same whole trajectory for sample i of every split: seeded by (spec seed, i), not by split.
            whole = [np.random.SeedSequence(s.entropy, spawn_key=(_TIME_SPLIT_KEY, s.spawn_key[-1])) for s in seeds]
            rngs = [np.random.default_rng(s) for s in whole]
            lengths = self.segment_lengths()
            start = {"train": 0, "val": lengths["train"], "test": lengths["train"] + lengths["val"]}[split]
            x = self.integrate(rngs, self.steps)[:, start : start + lengths[split]]
        else:
            rngs = [np.random.default_rng(s) for s in seeds]
            steps = (self.test_steps or self.steps) if split == "test" else self.steps
            x = self.integrate(rngs, steps)
        offset, scale = self._scale(shared)
        if self.noise > 0 and split != "test":
            # per split and sample: the first child of the sample's seed (not its own stream)
            children = [np.random.SeedSequence(s.entropy, spawn_key=(*s.spawn_key, 0)) for s in seeds]
            eps = np.stack([np.random.default_rng(c).standard_normal(x.shape[1:]) for c in children])
            x = x + self.noise * shared["std"] * eps
        x = (x - offset) / scale
        return {"x": x.astype(np.float32)}

    def describe_arrays(self) -> dict[str, str]:
        scale = "z-scored with the attractor's mean and std (shared/mean, shared/std)" if self.standardize else "system units"
        return {"x": f"observed states, (trajectory, time, dim), every dt = {self.dt} time units, {scale}"}

    def to_units(self, x: np.ndarray, shared: dict[str, np.ndarray]) -> np.ndarray:
        """Undo the standardization: stored values -> the system's units."""
        offset, scale = self._scale(shared)
        return x * scale + offset

    def propagate(self, x: torch.Tensor, n: int, shared: dict[str, np.ndarray]) -> torch.Tensor:
        """The true system's state ``n`` observation steps after ``x`` (batch, dim), in stored units."""
        import torch

        from sciml.components.solvers.ode import rk4

        mean, std = (torch.as_tensor(a, dtype=torch.float64, device=x.device) for a in self._scale(shared))
        y = x.double() * std + mean
        y = rk4(self.flow().rhs, y, self.dt, n, substeps=max(self.substeps, 4))[:, -1]
        return ((y - mean) / std).to(x.dtype)


class Lorenz63Data(ChaoticSystemData):
    """Lorenz-63 trajectories (sigma, rho, beta), batched RK4 or Dormand-Prince, z-scored, optional observation noise."""

    kind: Literal["lorenz63"] = "lorenz63"
    sigma: float = 10.0
    rho: float = 28.0
    beta: float = 8.0 / 3.0

    def series_dim(self) -> int:
        return 3

    def flow(self):
        from sciml.components.solvers.flows import Lorenz63

        return Lorenz63(self.sigma, self.rho, self.beta)


class RoesslerData(ChaoticSystemData):
    """Roessler trajectories (a, b, c), batched RK4 or Dormand-Prince, z-scored, optional observation noise."""

    kind: Literal["roessler"] = "roessler"
    a: float = 0.2
    b: float = 0.2
    c: float = 5.7
    dt: float = Field(0.05, gt=0, description="time between observations (time units of the system)")
    transient: float = Field(200.0, ge=0, description="time units integrated and discarded before observing")

    def series_dim(self) -> int:
        return 3

    def flow(self):
        from sciml.components.solvers.flows import Roessler

        return Roessler(self.a, self.b, self.c)


class Lorenz96Data(ChaoticSystemData):
    """Lorenz-96 trajectories on a ring of n sites with forcing F, batched RK4 or Dormand-Prince, z-scored."""

    kind: Literal["lorenz96"] = "lorenz96"
    n: int = Field(10, ge=4, description="sites on the ring (state dimension)")
    forcing: float = Field(8.0, description="forcing F")

    def series_dim(self) -> int:
        return self.n

    def flow(self):
        from sciml.components.solvers.flows import Lorenz96

        return Lorenz96(self.n, self.forcing)
