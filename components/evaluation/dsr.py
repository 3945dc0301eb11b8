"""Evaluation kind ``dsr``: does the trained model reproduce the system's geometry and long-term statistics?

The model runs freely from the first state of test trajectory 0 for as many steps as that
trajectory has; the metrics of ``sciml.components.evaluation.dsr_metrics`` compare the two:

- ``dstsp``: state-space divergence (binned KL, 30 bins per dimension, up to 5 dims; GMM above);
- ``dh``: Hellinger distance of Gaussian-smoothed power spectra, mean over dimensions;
- ``pe``: ``PE(n)``, the MSE of ``n``-step predictions from every test state;
- ``lyap_max``: the model's maximal Lyapunov exponent (QR method on its Jacobians, per unit time,
  one step = ``data.dt``).

Each is also reported as ``floor/<metric>``, the value for an independent trajectory of the true
system (a perfect model would reach it): test trajectory 1 (or, for a single test trajectory or a
file, the train series) in place of the free run; for simulated systems ``floor/pe`` is the true
flow's own prediction error and ``floor/lyap_max`` the flow's exponent (QR on the variational
equation). Writes ``<prefix>_attractor.png``, ``<prefix>_spectrum.png`` and CSVs of the metrics,
spectra (lowest quarter of the frequencies) and the first ``plot_steps`` points of both trajectories.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sciml.components.base import EvaluationConfig, EvaluationContext


class DSREvaluationConfig(EvaluationConfig):
    """Free-run reconstruction metrics D_stsp, D_H, PE(n), max Lyapunov exponent, each with the true system's floor; attractor and spectrum plots."""

    task_roles = ("dsr",)

    kind: Literal["dsr"] = "dsr"
    steps: int | None = Field(None, ge=100, description="free-run length (default: the test trajectory's length)")
    n_bins: int = Field(30, gt=1, description="D_stsp bins per dimension")
    gmm_variance: float = Field(1.0, gt=0, description="D_stsp above 5 dims: variance of the mixture components")
    spectrum_sigma: float = Field(20.0, ge=0, description="D_H: Gaussian smoothing of the spectra, in frequency bins")
    pe_steps: int = Field(20, gt=0, description="n of PE(n)")
    lyapunov_trajectories: int = Field(16, gt=0, description="independent estimates averaged")
    lyapunov_steps: int = Field(5000, gt=0, description="map steps per estimate")
    lyapunov_transient: int = Field(500, ge=0, description="steps discarded before estimating")
    plot_steps: int = Field(5000, gt=1, description="time points drawn and written to CSV")

    def plot_tables(self) -> list[tuple[str, str, str | list[str]]]:
        return [
            (f"{self.prefix}_spectrum.csv", "bin", ["true_0", "model_0", "floor_0"]),
            (f"{self.prefix}_trajectories.csv", "t", ["true_0", "model_0"]),
        ]

    def evaluate(self, context: EvaluationContext) -> dict[str, float]:
        from sciml.components.tasks.gtf_module import single_cpu_thread

        with single_cpu_thread(context.device):
            return self._evaluate(context)

    def _evaluate(self, context: EvaluationContext) -> dict[str, float]:
        import copy

        import h5py
        import numpy as np
        import torch

        from sciml.components.evaluation import dsr_metrics as dm
        from sciml.pipelines.datasets import read_shared

        data, net = context.spec.data, context.task.net
        with h5py.File(context.dataset.path("test"), "r") as handle:
            test = handle["x"][...].astype(np.float64)
        shared = read_shared(context.dataset.path("test"))
        truth = test[0, : self.steps]
        steps = truth.shape[0]
        if test.shape[0] > 1:
            other = test[1, :steps]
        else:
            with h5py.File(context.dataset.path("train"), "r") as handle:
                other = handle["x"][0, :steps].astype(np.float64)
        n = min(steps, other.shape[0])

        device, dtype = context.device, next(net.parameters()).dtype
        x0 = torch.as_tensor(truth[:1], dtype=dtype, device=device)
        generated = net.generate(x0, steps)[0].double().cpu().numpy()
        finite = np.isfinite(generated).all()

        def stsp(a, b):
            return dm.state_space_divergence(a, b, self.n_bins, self.gmm_variance, seed=context.spec.seed)

        def dh(a, b):
            return dm.power_spectrum_distance(a, b, self.spectrum_sigma)

        truth_t = torch.as_tensor(truth, dtype=dtype, device=device)
        pe_n = min(self.pe_steps, steps - 1)
        metrics = {
            "dstsp": stsp(truth, generated) if finite else float("nan"),
            "dh": dh(truth, generated) if finite else float("nan"),
            f"pe{pe_n}": dm.prediction_error(net.predict, truth_t, pe_n),
            "floor/dstsp": stsp(truth, other),
            "floor/dh": dh(truth[:n], other[:n]),
        }

        gen = torch.Generator().manual_seed(context.spec.seed)
        picks = torch.randint(0, steps, (self.lyapunov_trajectories,), generator=gen)
        model64 = copy.deepcopy(net).double()
        z0 = model64.encode(torch.as_tensor(truth, dtype=torch.float64, device=device)[picks])
        metrics["lyap_max"] = float(
            dm.lyapunov_spectrum_map(
                model64.step, model64.jacobian, z0, self.lyapunov_steps, data.dt, self.lyapunov_transient, generator=gen
            ).mean()
        )
        if hasattr(data, "flow"):
            flow_truth = torch.as_tensor(data.to_units(truth, shared), dtype=torch.float64, device=device)
            metrics[f"floor/pe{pe_n}"] = dm.prediction_error(lambda x, k: data.propagate(x, k, shared), truth_t.double(), pe_n)
            metrics["floor/lyap_max"] = float(
                dm.lyapunov_spectrum_flow(
                    data.flow(), flow_truth[picks], data.dt, self.lyapunov_steps, self.lyapunov_transient, generator=gen
                ).mean()
            )
        self._write(context, truth, generated, other[:n], metrics)
        return metrics

    def _write(self, context, truth, generated, other, metrics) -> None:
        import numpy as np

        from sciml.components.evaluation.dsr_metrics import power_spectra
        from sciml.components.evaluation.plots import figure, save, write_csv

        out, k = context.plots_dir, self.plot_steps
        names = {key: value for key, value in metrics.items() if not key.startswith("floor/")}
        write_csv(
            out / f"{self.prefix}_metrics.csv",
            ["metric", "model", "floor"],
            [[key, value, metrics.get(f"floor/{key}", "")] for key, value in names.items()],
        )
        dims = truth.shape[1]
        write_csv(
            out / f"{self.prefix}_trajectories.csv",
            ["t"] + [f"true_{d}" for d in range(dims)] + [f"model_{d}" for d in range(dims)],
            np.column_stack([np.arange(min(k, truth.shape[0])), truth[:k], generated[:k]]).tolist(),
        )
        fig, axes = figure(1, 2, size=4.5)
        shown = min(dims, 3)
        for ax, x, title in ((axes[0, 0], truth, "true (test)"), (axes[0, 1], generated, "model (free run)")):
            if shown >= 2:
                ax.plot(x[:k, 0], x[:k, shown - 1], lw=0.3)
                ax.set_xlabel("x0"), ax.set_ylabel(f"x{shown - 1}")
            else:
                ax.plot(x[:k, 0], lw=0.5)
            ax.set_title(title)
        save(fig, out / f"{self.prefix}_attractor.png")

        spectra = {name: power_spectra(x, self.spectrum_sigma) for name, x in (("true", truth), ("model", generated), ("floor", other))}
        n_freq = min(s.shape[0] for s in spectra.values()) // 4  # the lowest quarter holds the structure
        write_csv(
            out / f"{self.prefix}_spectrum.csv",
            ["bin"] + [f"{name}_{d}" for name in spectra for d in range(dims)],
            np.column_stack([np.arange(n_freq)] + [s[:n_freq] for s in spectra.values()]).tolist(),
        )
        fig, axes = figure(1, min(dims, 3), size=4.0)
        for d in range(min(dims, 3)):
            ax = axes[0, d]
            for name, s in spectra.items():
                ax.semilogy(s[:n_freq, d], label=name, lw=0.8)
            ax.set_title(f"power spectrum, dim {d}")
            ax.set_xlabel("frequency bin")
        axes[0, 0].legend()
        save(fig, out / f"{self.prefix}_spectrum.png")
