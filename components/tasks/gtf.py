"""Task kind ``gtf``: train a latent dynamical model on trajectories with generalized teacher forcing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sciml.components.base import TaskConfig


class GTFTaskConfig(TaskConfig):
    """Generalized teacher forcing (constant or adaptive alpha, or sparse TF) on windows of trajectories; loss on unforced one-step predictions."""

    kind: Literal["gtf"] = "gtf"
    forcing: Literal["gtf", "sparse"] = Field(
        "gtf", description="gtf: z <- (1 - alpha) z + alpha D(x) every step; sparse: full forcing every `interval` steps"
    )
    alpha: float | Literal["adaptive"] = Field(
        "adaptive", description="forcing strength in [0, 1], or 'adaptive' (estimated from Jacobian norms)"
    )
    alpha_init: float = Field(1.0, ge=0, le=1, description="adaptive: starting alpha")
    alpha_interval: int = Field(5, gt=0, description="adaptive: optimizer steps between alpha estimates (k)")
    alpha_decay: float = Field(0.999, ge=0, le=1, description="adaptive: gamma of alpha <- gamma alpha + (1 - gamma) alpha_est")
    interval: int = Field(16, gt=0, description="sparse: steps between forcings (tau)")
    seq_len: int = Field(200, ge=2, description="time points per training window")
    window_stride: int = Field(1, gt=0, description="training windows start every `window_stride` time points")
    pe_steps: int = Field(20, gt=0, description="n of the validation prediction error PE(n) (the monitored val/pe)")

    model_roles = ("dsr",)
    role = "dsr"
    data_roles = ("trajectories",)

    @field_validator("alpha")
    @classmethod
    def _alpha_in_unit_interval(cls, value):
        if isinstance(value, float) and not 0.0 <= value <= 1.0:
            raise ValueError(f"must be in [0, 1] or 'adaptive', got {value}")
        return value

    def check(self, spec) -> None:
        lengths = spec.data.series_lengths() or {}
        for split in ("train", "val"):  # the splits cut into windows of seq_len points
            if split in lengths and lengths[split] < self.seq_len:
                raise ValueError(
                    f"seq_len: {self.seq_len} is longer than the {split} trajectories of data kind "
                    f"{spec.data.kind!r} ({lengths[split]} time points)"
                )

    def build(self, spec, dataset):
        from sciml.components.tasks.gtf_module import GTFModule

        return GTFModule(self, spec.model, spec.train, dataset, seed=spec.seed)
