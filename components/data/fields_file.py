"""Data kind ``fields_file``: pairs of fields ``x -> y`` made elsewhere, read from files, for the operator task.

Each file holds an input array ``x_key`` and an output array ``y_key`` with the same number of samples,
shaped (sample, *grid) or (sample, channel, *grid) with ``dims`` grid axes; a missing channel axis
is added. Formats by suffix: ``.npz``, ``.h5``/``.hdf5``, ``.pt``/``.pth`` (a dict of tensors), the ones
that hold arrays by name (:mod:`~sciml.components.data.array_files`). Arrays are stored as float32; every
file must give the same channel counts.

Splits: ``train`` is the first samples of ``path`` and ``val`` its last ``val_fraction``; ``test`` is
``test_path``, or the last ``test_fraction`` of ``path`` before ``val`` without it. ``extra_tests`` adds
named test splits from more files, e.g. the same problem on a finer grid, for zero-shot evaluation
(``operator_metrics`` ``splits: [test, test_32]``). ``dirichlet`` declares that ``y`` vanishes on the
unit box's boundary and where the grid's points lie, which ``task.hard_dirichlet`` needs.

Example, neuraloperator's small Darcy set (train at 16x16, zero-shot at 32x32)::

    data:
      kind: fields_file
      path: ../shared/data/darcy-neuralop/darcy_train_16.pt
      test_path: ../shared/data/darcy-neuralop/darcy_test_16.pt
      extra_tests: {test_32: ../shared/data/darcy-neuralop/darcy_test_32.pt}
      dirichlet: cell

The files' contents are part of the dataset's cache key: a file changed in place is read again.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sciml.components.base import DataConfig, PointLayout
from sciml.components.data.array_files import NAMED, read_arrays
from sciml.pipelines.errors import SpecError, user_file

_SPLITS = ("train", "val", "test")


class FieldsFileData(DataConfig):
    """Pairs of fields x -> y read from .npz/.h5/.pt files: train and val from one file, test and extra
    test splits (other resolutions) from others."""

    kind: Literal["fields_file"] = "fields_file"
    role = "fields"
    path: str = Field(description="file with the training pairs (and val); relative paths are from the working directory")
    test_path: str | None = Field(None, description="file with the test pairs (default: test_fraction of path)")
    extra_tests: dict[str, str] = Field(
        {}, description="more test splits, name -> file (e.g. test_32: pairs on a finer grid, for zero-shot evaluation)"
    )
    x_key: str = Field("x", description="name of the input array in each file")
    y_key: str = Field("y", description="name of the output array in each file")
    dims: int = Field(2, ge=1, le=3, description="grid axes of the fields (after the sample and optional channel axes)")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of path's samples for val (its last ones)")
    test_fraction: float = Field(0.1, ge=0, lt=1, description="share of path's samples for test (ignored with test_path)")
    dirichlet: PointLayout | None = Field(
        None,
        description="y vanishes on the boundary of the unit box, with grid points at i/(n-1) (vertex), i/n (cell) "
        "or (i+1)/(n+1) (interior); enables task.hard_dirichlet",
    )

    version = "1"

    @field_validator("extra_tests")
    @classmethod
    def _check_names(cls, tests: dict[str, str]) -> dict[str, str]:
        for name in tests:  # lower case: split files are named after them, on case-insensitive disks too
            if name in _SPLITS or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"{name!r}: a split name of lower-case letters, digits and '_', other than {', '.join(_SPLITS)}")
        return tests

    @field_validator("path", "test_path")
    @classmethod
    def _check_format(cls, path: str | None) -> str | None:
        return path if path is None else _named_format(path)

    @model_validator(mode="after")
    def _check_shares(self):
        if self.x_key == self.y_key:
            raise ValueError(f"y_key: the output array must differ from the input array {self.x_key!r}")
        for path in self.extra_tests.values():
            _named_format(path)
        if self.test_path is None and self.test_fraction == 0:
            raise ValueError("test_fraction: must be > 0 without a test_path")
        if self.val_fraction + (0.0 if self.test_path else self.test_fraction) >= 1:
            raise ValueError("val_fraction + test_fraction must leave a training share")
        return self

    def grid_dims(self) -> int:
        return self.dims

    def input_files(self) -> list[str]:
        return [self.path, *([self.test_path] if self.test_path else []), *self.extra_tests.values()]

    def split_sizes(self) -> dict[str, int]:
        return {name: len(pairs[0]) for name, pairs in self._splits().items()}

    def split_names(self) -> list[str]:
        return [*_SPLITS, *self.extra_tests]

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        index = [s.spawn_key[-1] for s in seeds]  # sample i of a split has spawn key (split, i)
        x, y = self._splits()[split]
        return {"x": x[index], "y": y[index]}

    def snapshot_arrays(self) -> tuple[str, ...] | None:
        return None  # the files do not say whether x and y are snapshots of one field

    def dirichlet_arrays(self) -> dict[str, PointLayout]:
        return {"y": self.dirichlet} if self.dirichlet else {}

    def describe_arrays(self) -> dict[str, str]:
        return {
            "x": f"input fields {self.x_key!r} of {self.path} (and the test files), (sample, channel, *grid), float32",
            "y": f"output fields {self.y_key!r}, (sample, channel, *grid), float32",
        }

    def _splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``(x, y)`` of every split, read once per process for these settings and these files' versions."""
        return _read_splits(self.model_dump_json(), tuple(_version(path) for path in self.input_files()))


def _named_format(path: str) -> str:
    if Path(path).suffix.lower() not in NAMED:
        raise ValueError(f"{path!r}: use a file that holds arrays by name ({', '.join(NAMED)}), with x and y in it")
    return path


def _version(path: str) -> tuple | None:
    """Which file ``path`` is now and its last change: a file replaced or rewritten in place (even with
    its modification time kept, as ``cp -p`` does) is read again."""
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
    except OSError:
        return None  # reading it says what is wrong
    return str(resolved), stat.st_dev, stat.st_ino, stat.st_ctime_ns, stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=1)  # one data set in memory: it stays there while the process runs
def _read_splits(settings: str, versions: tuple) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    data = FieldsFileData.model_validate_json(settings)
    x, y = _read_pairs(data, data.path, "data.path")
    n = len(x)
    n_val = int(round(data.val_fraction * n))
    n_test = 0 if data.test_path else int(round(data.test_fraction * n))
    n_train = n - n_val - n_test
    if min(n_train, n_val) < 1 or (not data.test_path and n_test < 1):
        raise SpecError(f"data.path: {n} samples are too few to split into train, val and test")
    splits = {"train": (x[:n_train], y[:n_train]), "val": (x[n - n_val :], y[n - n_val :])}
    splits["test"] = _read_pairs(data, data.test_path, "data.test_path") if data.test_path else (x[n_train : n - n_val], y[n_train : n - n_val])
    for name, path in data.extra_tests.items():
        splits[name] = _read_pairs(data, path, f"data.extra_tests.{name}")
    channels = (x.shape[1], y.shape[1])
    for name, (sx, sy) in splits.items():
        if (sx.shape[1], sy.shape[1]) != channels:
            raise SpecError(
                f"data: split {name!r} has {sx.shape[1]} input and {sy.shape[1]} output channels, data.path has "
                f"{channels[0]} and {channels[1]}"
            )
    return splits


def _read_pairs(data: FieldsFileData, path: str, spec_path: str) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` of one file as float32 (sample, channel, *grid)."""
    with user_file(spec_path, path) as file:
        arrays = read_arrays(file, [data.x_key, data.y_key], spec_path)
        x, y = (_fields(array, data.dims, key, file, spec_path) for array, key in zip(arrays, (data.x_key, data.y_key)))
    if len(x) != len(y):
        raise SpecError(f"{spec_path}: {path} has {len(x)} samples of {data.x_key!r} but {len(y)} of {data.y_key!r}")
    return x, y


def _fields(array: np.ndarray, dims: int, key: str, path: Path, spec_path: str) -> np.ndarray:
    if array.ndim == dims + 1:
        array = array[:, None]
    if array.ndim != dims + 2:
        raise SpecError(
            f"{spec_path}: {key!r} in {path} has shape {array.shape}; with data.dims = {dims} it must be "
            f"(sample, *grid) or (sample, channel, *grid)"
        )
    if not np.isfinite(array).all():
        raise SpecError(f"{spec_path}: {key!r} in {path} contains NaN or infinite values")
    return array.astype(np.float32)
