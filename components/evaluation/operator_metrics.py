"""Evaluation kind ``operator_metrics``: errors of a trained operator model on held-out splits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sciml.components.base import EvaluationConfig, EvaluationContext


class OperatorMetricsConfig(EvaluationConfig):
    """Relative L2 error per split (mean, median, max) and a figure of input, truth, prediction and error."""

    kind: Literal["operator_metrics"] = "operator_metrics"
    splits: list[str] = Field(["test"], min_length=1, description="splits to evaluate")
    batch_size: int = Field(64, gt=0)
    plot_samples: int = Field(3, ge=0, description="samples shown in the figure (2D fields and 1D curves)")

    def evaluate(self, context: EvaluationContext) -> dict[str, float]:
        import numpy as np
        import torch
        from torch.utils.data import DataLoader

        from sciml.components.evaluation.plots import write_csv
        from sciml.components.tasks.module import relative_l2

        task, metrics = context.task, {}
        keys = (task.config.input_key, task.config.output_key)
        for split in self.splits:
            errors, shown = [], None
            for batch in DataLoader(task.dataset(split), batch_size=self.batch_size):
                x, y = (batch[k].to(context.device) for k in keys)
                pred = task(x)
                errors.append(relative_l2(pred, y).cpu())
                if shown is None:
                    shown = [t[: self.plot_samples].cpu().numpy() for t in (x, y, pred)]
            err = torch.cat(errors).numpy()
            metrics.update(
                {
                    f"{split}/rel_l2": float(err.mean()),
                    f"{split}/rel_l2_median": float(np.median(err)),
                    f"{split}/rel_l2_max": float(err.max()),
                }
            )
            write_csv(context.plots_dir / f"{self.prefix}_{split}_errors.csv", ["sample", "rel_l2"], enumerate(err.tolist()))
            if shown is not None and self.plot_samples:
                _plot_fields(*shown, context.plots_dir / f"{self.prefix}_{split}.png")
        return metrics


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
