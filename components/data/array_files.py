"""Reading one named numeric array from a user's file, by suffix, for the data kinds that read files.

``.npy``; ``.npz`` (array ``key``, default the first); ``.csv``/``.txt`` (comma-separated numbers, a
non-numeric header row skipped); ``.h5``/``.hdf5`` (dataset ``key``, default the first); ``.pt``/``.pth``
(a dict of tensors saved by ``torch.save``, loaded with ``weights_only=True`` so no code runs; entry
``key``, default the first). Errors are one line naming the spec key that gave the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sciml.pipelines.errors import SpecError

SUFFIXES = (".npy", ".npz", ".csv", ".txt", ".h5", ".hdf5", ".pt", ".pth")


def read_array(path: Path, key: str | None, spec_path: str) -> np.ndarray:
    """The array ``key`` in ``path`` (any shape, its own real dtype; booleans as they are)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            array = archive[_chosen(list(archive.files), key, path, spec_path)]
    elif suffix in (".csv", ".txt"):
        array = np.genfromtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
        if array.shape[0] and np.isnan(array[0]).all():
            array = array[1:]  # a header row
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as handle:
            names = [n for n in handle if isinstance(handle[n], h5py.Dataset)]
            array = handle[_chosen(names, key, path, spec_path)][...]
    elif suffix in (".pt", ".pth"):
        import torch

        content = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(content, torch.Tensor):
            content = {"": content}
        if not isinstance(content, dict):
            raise SpecError(f"{spec_path}: {path} holds a {type(content).__name__}, not a tensor or a dict of tensors")
        names = [n for n, v in content.items() if isinstance(v, torch.Tensor)]
        array = content[_chosen(names, key, path, spec_path)].numpy()
    else:
        raise SpecError(f"{spec_path}: unsupported file type {suffix!r}; use {', '.join(SUFFIXES)}")
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise SpecError(f"{spec_path}: {path} holds {array.dtype} values, not real numbers")
    return array


def _chosen(names: list[str], key: str | None, path: Path, spec_path: str) -> str:
    name = key if key is not None else (names[0] if names else None)
    if name is None or name not in names:
        raise SpecError(f"{spec_path}: {path} has no array {name!r}; it has {names}")
    return name
