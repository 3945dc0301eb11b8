"""Evaluation kind ``operator_metrics``: errors of a trained operator model on held-out splits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from sciml.components.base import EvaluationConfig, EvaluationContext

if TYPE_CHECKING:
    from sciml.pipelines.spec import SpecBase


class OperatorMetricsConfig(EvaluationConfig):
    """Relative L2 error per split (mean, median, max) and a figure of input, truth, prediction and error.

    Also, per split: the relative H1 error, PDEBench's nRMSE and its low/mid/high frequency-band errors
    (``frmse_low`` etc., shells ``floor(|k|)`` split at ``band_edges``; a band the grid does not reach
    is left out), see :mod:`sciml.components.evaluation.field_errors`. When the output has several
    channels (time steps of a trajectory, e.g. a ``rollout`` task) the relative L2 error of each
    channel is written as ``<prefix>_<split>_per_step.csv`` and plotted against the step (rollout
    error vs time), with the last step's error as ``<split>/rel_l2_last_step``. Zero-shot
    evaluation at other resolutions: list a generator's ``test_<n>`` splits in ``splits``.
    """

    kind: Literal["operator_metrics"] = "operator_metrics"
    splits: list[str] = Field(["test"], min_length=1, description="splits to evaluate")
    batch_size: int = Field(64, gt=0)
    plot_samples: int = Field(3, ge=0, description="samples shown in the figure (2D fields and 1D curves)")
    band_edges: list[int] = Field(
        [4, 12], min_length=1, description="shell edges of the frequency bands (low/mid/high), increasing, each >= 1"
    )

    task_roles = ("operator",)

    @field_validator("band_edges")
    @classmethod
    def _increasing(cls, edges: list[int]) -> list[int]:
        if edges[0] < 1 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"must increase from at least 1 (each edge starts a band), got {edges}")
        return edges

    def check(self, spec: SpecBase) -> None:
        known = spec.data.split_names()
        unknown = [split for split in self.splits if split not in known]
        if unknown:
            raise ValueError(f"splits: no split {unknown[0]!r} in data kind {spec.data.kind!r}; it has {', '.join(known)}")

    def plot_tables(self) -> list[tuple[str, str, str | list[str]]]:
        return [(f"{self.prefix}_{split}_errors.csv", "sample", "rel_l2") for split in self.splits]

    def evaluate(self, context: EvaluationContext) -> dict[str, float]:
        import numpy as np
        import torch
        from torch.utils.data import DataLoader

        from sciml.components.evaluation.field_errors import frequency_band_errors, nrmse, relative_h1
        from sciml.components.evaluation.plots import write_csv
        from sciml.components.tasks.module import relative_l2

        task, metrics = context.task, {}
        keys = (task.config.input_key, task.config.output_key)
        names = ["low", "mid", "high"] if len(self.band_edges) == 2 else [f"band{i}" for i in range(len(self.band_edges) + 1)]
        for split in self.splits:
            errors, shown = [], None
            extra = {"rel_h1": [], "nrmse": [], "bands": []}
            step_error, step_norm = 0.0, 0.0  # per output channel, summed over samples and space
            dataset = task.dataset(split)
            for batch in DataLoader(dataset, batch_size=self.batch_size):
                x, y = (batch[k].to(context.device) for k in keys)
                pred = task(x)
                errors.append(relative_l2(pred, y).cpu())
                context.progress(f"{self.prefix} {split}", sum(len(e) for e in errors), len(dataset))
                extra["rel_h1"].append(relative_h1(pred, y).cpu())
                extra["nrmse"].append(nrmse(pred, y).cpu())
                extra["bands"].append(frequency_band_errors(pred, y, tuple(self.band_edges)).cpu())
                channel_dims = [0] + list(range(2, y.ndim))
                step_error = step_error + (pred - y).square().sum(dim=channel_dims).cpu()
                step_norm = step_norm + y.square().sum(dim=channel_dims).cpu()
                if shown is None:
                    shown = [t[: self.plot_samples].cpu().numpy() for t in (x, y, pred)]
            err = torch.cat(errors).numpy()
            metrics.update(
                {
                    f"{split}/rel_l2": float(err.mean()),
                    f"{split}/rel_l2_median": float(np.median(err)),
                    f"{split}/rel_l2_max": float(err.max()),
                    f"{split}/rel_h1": float(torch.cat(extra["rel_h1"]).mean()),
                    f"{split}/nrmse": float(torch.cat(extra["nrmse"]).mean()),
                }
            )
            bands = torch.cat(extra["bands"]).mean(0)
            metrics.update({f"{split}/frmse_{n}": float(v) for n, v in zip(names, bands) if torch.isfinite(v)})
            # relative L2 of each output channel over the whole split (channels are time steps for trajectories)
            if shown is not None and shown[1].shape[1] > 1:
                per_step = (step_error / torch.where(step_norm > 0, step_norm, torch.ones_like(step_norm))).sqrt().numpy()
                metrics[f"{split}/rel_l2_last_step"] = float(per_step[-1])
                write_csv(context.plots_dir / f"{self.prefix}_{split}_per_step.csv", ["step", "rel_l2"], enumerate(per_step.tolist()))
                _plot_steps(per_step, context.plots_dir / f"{self.prefix}_{split}_per_step.png")
            write_csv(context.plots_dir / f"{self.prefix}_{split}_errors.csv", ["sample", "rel_l2"], enumerate(err.tolist()))
            if shown is not None and self.plot_samples:
                _plot_fields(*shown, context.plots_dir / f"{self.prefix}_{split}.png")
        return metrics


def _plot_steps(per_step, path) -> None:
    """Relative L2 error of each output channel (time step) of a split."""
    from sciml.components.evaluation.plots import figure, save

    fig, axes = figure(1, 1, size=4.0)
    ax = axes[0, 0]
    ax.plot(range(1, len(per_step) + 1), per_step, marker="o")
    ax.set_xlabel("output step")
    ax.set_ylabel("relative L2 error")
    ax.set_yscale("log")
    save(fig, path)


def _plot_fields(x, y, pred, path) -> None:
    """Rows of samples; columns input, truth, prediction, error (first channel; 1D as curves, 3D as mid slice)."""
    from sciml.components.evaluation.plots import figure, save

    fig, axes = figure(len(x), 4)
    for row in range(len(x)):
        fields = [x[row, 0], y[row, 0], pred[row, 0], pred[row, 0] - y[row, 0]]
        for col, (title, field) in enumerate(zip(("input", "truth", "prediction", "error"), fields)):
            ax = axes[row, col]
            while field.ndim > 2:
                field = field[field.shape[0] // 2]
            if field.ndim == 1:
                ax.plot(field)
            else:
                image = ax.imshow(field.T, origin="lower", cmap="RdBu_r" if col == 3 else "viridis")
                fig.colorbar(image, ax=ax, fraction=0.046)
                ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(title)
    save(fig, path)
