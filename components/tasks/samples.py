"""A torch ``Dataset`` over the per-sample arrays of one HDF5 split file.

Small files are read into memory once; larger ones are read sample by sample through a handle
opened lazily in each process (DataLoader workers and DDP ranks each open their own).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import torch
from torch.utils.data import Dataset

IN_MEMORY_BYTES = 2 * 1024**3


class H5Samples(Dataset):
    """Samples ``{name: tensor}`` of ``names`` from ``path``; float64 arrays become float32."""

    def __init__(self, path: str | Path, names: list[str], in_memory: bool | None = None):
        self.path, self.names = Path(path), list(names)
        with h5py.File(self.path, "r") as handle:
            missing = [name for name in self.names if name not in handle]
            if missing:
                raise KeyError(f"{self.path}: no arrays {missing}; it has {sorted(handle)}")
            self.length = handle[self.names[0]].shape[0]
            size = sum(handle[name].nbytes for name in self.names)
            self.arrays = {name: _tensor(handle[name][...]) for name in self.names} if (
                in_memory if in_memory is not None else size <= IN_MEMORY_BYTES
            ) else None
        self._handle: h5py.File | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.arrays is not None:
            return {name: array[index] for name, array in self.arrays.items()}
        if self._handle is None:
            self._handle = h5py.File(self.path, "r")
        return {name: _tensor(self._handle[name][index]) for name in self.names}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_handle"] = None  # h5py handles do not cross process boundaries
        return state


def _tensor(array) -> torch.Tensor:
    tensor = torch.as_tensor(array)
    return tensor.float() if tensor.dtype == torch.float64 else tensor
