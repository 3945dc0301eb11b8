"""Reading named numeric arrays from a user's file, by suffix, for the data kinds that read files.

``.npy``; ``.npz`` (arrays by name, default the first); ``.csv``/``.txt`` (comma-separated numbers, a
non-numeric header row skipped); ``.h5``/``.hdf5`` (datasets by path, default the first top-level one);
``.pt``/``.pth`` (a tensor, or a dict of tensors saved by ``torch.save``, loaded with ``weights_only=True``
so that no code runs; entries by name, default the first). Errors are one line naming the spec key
that gave the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sciml.pipelines.errors import SpecError

SUFFIXES = (".npy", ".npz", ".csv", ".txt", ".h5", ".hdf5", ".pt", ".pth")
NAMED = (".npz", ".h5", ".hdf5", ".pt", ".pth")
"""The formats that hold several arrays by name."""


def read_array(path: Path, key: str | None, spec_path: str) -> np.ndarray:
    """The array ``key`` in ``path`` (any shape, its own real dtype; booleans as they are)."""
    return read_arrays(path, [key], spec_path)[0]


def read_arrays(path: Path, keys: list[str | None], spec_path: str) -> list[np.ndarray]:
    """The arrays ``keys`` in ``path``, the file opened once (``None``: the first array)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arrays = [np.load(path, allow_pickle=False) for _ in keys]
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[_chosen(list(archive.files), key, path, spec_path)] for key in keys]
    elif suffix in (".csv", ".txt"):
        array = np.genfromtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
        if array.shape[0] and np.isnan(array[0]).all():
            array = array[1:]  # a header row
        arrays = [array for _ in keys]
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as handle:
            names = [n for n in handle if isinstance(handle[n], h5py.Dataset)]
            arrays = []
            for key in keys:
                if key is not None and isinstance(handle.get(key), h5py.Dataset):  # a path into groups too
                    arrays.append(handle[key][...])
                else:
                    arrays.append(handle[_chosen(names, key, path, spec_path)][...])
    elif suffix in (".pt", ".pth"):
        content = _torch_load(path, spec_path)
        names = list(content)
        arrays = [content[_chosen(names, key, path, spec_path)] for key in keys]
    else:
        raise SpecError(f"{spec_path}: unsupported file type {suffix!r}; use {', '.join(SUFFIXES)}")
    for array in arrays:
        if np.asarray(array).dtype.kind not in "biuf":
            raise SpecError(f"{spec_path}: {path} holds {np.asarray(array).dtype} values, not real numbers")
    return [np.asarray(array) for array in arrays]


def _torch_load(path: Path, spec_path: str) -> dict[str, np.ndarray]:
    """The tensors of a ``torch.save`` file as numpy arrays by name (a lone tensor under ``""``)."""
    import torch

    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many kinds (RuntimeError, UnpicklingError, ...)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpecError(f"{spec_path}: {path} is not a file torch.load reads with weights_only=True: {reason[:200]}") from None
    if isinstance(content, torch.Tensor):
        content = {"": content}
    if not isinstance(content, dict):
        raise SpecError(f"{spec_path}: {path} holds a {type(content).__name__}, not a tensor or a dict of tensors")
    return {str(k): v.detach().cpu().numpy() for k, v in content.items() if isinstance(v, torch.Tensor)}


def _chosen(names: list[str], key: str | None, path: Path, spec_path: str) -> str:
    if not names:
        raise SpecError(f"{spec_path}: {path} holds no arrays")
    name = key if key is not None else names[0]
    if name not in names:
        raise SpecError(f"{spec_path}: {path} has no array {name!r}; it has {names}")
    return name
