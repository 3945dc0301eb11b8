"""Data kind ``trajectory_file``: a measured multivariate time series read from a file, split by time.

Formats, by suffix (:func:`~sciml.components.data.array_files.read_array`): ``.npy``; ``.npz``,
``.h5``/``.hdf5`` and ``.pt``/``.pth`` (array ``key``, default the first); ``.csv``/``.txt`` (comma-separated
numbers, a non-numeric header row is skipped). The array is (time, dim); ``columns`` picks dimensions.

Splits are consecutive segments in time: train, then val (``val_fraction``), then test
(``test_fraction``). With ``test_path`` the whole of that file is the test split and the first file
only gives train and val. Each split is one sample ``x`` (1, time, dim). Standardization uses the
train segment's mean and std (stored in ``shared/``).

Example, the ECG data of Hess et al. (ICML 2023), a 5-d delay embedding (see specs/ecg-gtf.yaml)::

    data:
      kind: trajectory_file
      path: ../shared/data/dsr/ECG_pecuzal_5d_train.npy
      test_path: ../shared/data/dsr/ECG_pecuzal_5d_test.npy

The files' contents are part of the dataset's cache key: a file changed in place is read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sciml.components.base import DataConfig
from sciml.components.data.array_files import read_array
from sciml.pipelines.errors import SpecError, user_file


def read_trajectory(path: str | Path, key: str | None = None, spec_path: str = "data.path") -> np.ndarray:
    """The (time, dim) float64 array stored in ``path``; errors name ``spec_path``."""
    with user_file(spec_path, path) as path:
        array = read_array(path, key, spec_path).astype(np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise SpecError(f"{spec_path}: expected a (time, dim) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise SpecError(f"{spec_path}: {path} contains NaN or infinite values")
    return array


class TrajectoryFileData(DataConfig):
    """A measured time series from a .npy/.npz/.csv/HDF5/.pt file, split by time into train/val/test, z-scored with train statistics."""

    kind: Literal["trajectory_file"] = "trajectory_file"
    role = "trajectories"
    path: str = Field(description="the (time, dim) array; relative paths are from the working directory")
    key: str | None = Field(None, description="array name inside .npz / HDF5 / .pt files (default: the first)")
    test_path: str | None = Field(None, description="optional separate file for the test split")
    columns: list[int] | None = Field(None, description="dimensions to keep (default: all)")
    max_steps: int | None = Field(None, ge=2, description="use only the first max_steps time points of each file")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of the (first) file for val")
    test_fraction: float = Field(0.1, ge=0, lt=1, description="share of the file for test (ignored with test_path)")
    dt: float = Field(1.0, gt=0, description="time between samples, for exponents per unit time")
    standardize: bool = Field(True, description="z-score with the train segment's mean and std")

    version = "1"

    @model_validator(mode="after")
    def _check_shares(self):
        test = 0.0 if self.test_path else self.test_fraction
        if self.test_path is None and self.test_fraction == 0:
            raise ValueError("test_fraction: must be > 0 without a test_path")
        if self.val_fraction + test >= 1:
            raise ValueError(f"val_fraction + test_fraction must leave a training share, got {self.val_fraction} + {test}")
        return self

    def split_sizes(self) -> dict[str, int]:
        return {"train": 1, "val": 1, "test": 1}

    def input_files(self) -> list[str]:
        return [path for path in (self.path, self.test_path) if path]

    def _read(self, path: str, spec_path: str) -> np.ndarray:
        array = read_trajectory(path, self.key, spec_path)[: self.max_steps]
        if self.columns is not None:
            bad = [c for c in self.columns if not -array.shape[1] <= c < array.shape[1]]
            if bad:
                raise SpecError(f"data.columns: {bad} out of range for {array.shape[1]} dimensions")
            array = array[:, self.columns]
        return array

    def segments(self) -> dict[str, np.ndarray]:
        """The raw (time, dim) segment of each split."""
        x = self._read(self.path, "data.path")
        n = x.shape[0]
        n_test = 0 if self.test_path else int(round(self.test_fraction * n))
        n_val = int(round(self.val_fraction * n))
        n_train = n - n_val - n_test
        if min(n_train, n_val) < 2 or (not self.test_path and n_test < 2):
            raise SpecError(f"data.path: {n} time points are too few to split into train/val/test")
        test = self._read(self.test_path, "data.test_path") if self.test_path else x[n_train + n_val :]
        return {"train": x[:n_train], "val": x[n_train : n_train + n_val], "test": test}

    def setup(self, seed: int) -> dict[str, np.ndarray]:
        """``mean`` and ``std`` (dim,) of the train segment (zeros/ones without standardization)."""
        train = self.segments()["train"]
        if not self.standardize:
            return {"mean": np.zeros(train.shape[1]), "std": np.ones(train.shape[1])}
        std = train.std(axis=0)
        return {"mean": train.mean(axis=0), "std": np.where(std > 0, std, 1.0)}

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = (self.segments()[split] - shared["mean"]) / shared["std"]
        return {"x": np.repeat(x[None].astype(np.float32), len(seeds), axis=0)}

    def describe_arrays(self) -> dict[str, str]:
        return {"x": f"observed series, (1, time, dim), segment of {self.path}, every dt = {self.dt}, z-scored with train statistics"}

    def to_units(self, x: np.ndarray, shared: dict[str, np.ndarray]) -> np.ndarray:
        """Undo the standardization."""
        return x * shared["std"] + shared["mean"]
