"""The dataset cache: HDF5 files keyed by the resolved data section, written atomically.

A dataset lives in ``<paths.cache>/<kind>-<key>/`` with one file per split (``train.h5``, ...).
``key`` hashes the resolved ``data`` section, the spec's seed and the generator's ``version``, so a
second run with the same data section finds the files and generates nothing. Each split is written
to a temporary name in batches of ``DataConfig.batch_size`` samples (peak memory does not grow with
the number of samples) and renamed when complete: a file named ``<split>.h5`` is always whole, and
an interrupted generation resumes with the splits still missing.

Sample ``i`` of split ``s`` draws from ``SeedSequence(seed, spawn_key=(split_index(s), i))``, so a
sample does not depend on batching or on how generation is sharded over processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import sciml
from sciml.components.base import DataConfig, DatasetFiles

SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}


def dataset_key(data: DataConfig, seed: int) -> str:
    """Content hash of what determines the arrays: the data section, the seed and the generator version."""
    payload = {"data": data.model_dump(mode="json"), "seed": seed, "version": type(data).version}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return digest[:16]


def dataset_dir(cache: str | Path, data: DataConfig, seed: int) -> Path:
    """``<cache>/<kind>-<key>``."""
    return Path(cache) / f"{data.kind}-{dataset_key(data, seed)}"


def sample_seeds(seed: int, split: str, start: int, stop: int) -> list[np.random.SeedSequence]:
    """Seeds of samples ``start..stop-1`` of ``split``: independent of batching and sharding."""
    index = SPLIT_INDEX.get(split, int(hashlib.sha256(split.encode()).hexdigest()[:8], 16))
    return [np.random.SeedSequence(seed, spawn_key=(index, i)) for i in range(start, stop)]


Progress = Callable[[str, int, int], None]
"""``progress(split, done, total)``: called after each written batch."""


def ensure_dataset(data: DataConfig, seed: int, cache: str | Path, progress: Progress | None = None) -> tuple[DatasetFiles, bool]:
    """The dataset of ``data``: generated where a split is missing, else read from the cache.

    Returns the files and whether anything was generated.
    """
    root = dataset_dir(cache, data, seed)
    sizes = data.split_sizes()
    files = {split: root / f"{split}.h5" for split in sizes}
    missing = [split for split, path in files.items() if not path.exists()]
    if missing:
        root.mkdir(parents=True, exist_ok=True)
        shared = data.setup(seed)
        for split in missing:
            _write_split(data, seed, split, sizes[split], shared, files[split], progress)
    return DatasetFiles(root=root, splits=files, key=root.name), bool(missing)


def _write_split(
    data: DataConfig,
    seed: int,
    split: str,
    count: int,
    shared: dict[str, np.ndarray],
    path: Path,
    progress: Progress | None,
) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.h5")
    try:
        with h5py.File(tmp, "w") as handle:
            _write_attributes(handle, data, seed, split, count)
            for name, array in shared.items():
                handle.create_dataset(f"shared/{name}", data=array)
            docs = data.describe_arrays()
            for start in range(0, count, data.batch_size):
                stop = min(count, start + data.batch_size)
                batch = data.sample(split, sample_seeds(seed, split, start, stop), shared)
                for name, array in batch.items():
                    array = np.asarray(array)
                    if array.shape[0] != stop - start:
                        raise ValueError(
                            f"{type(data).__name__}.sample returned {name!r} with {array.shape[0]} rows for {stop - start} seeds"
                        )
                    if name not in handle:
                        chunk = (min(count, data.batch_size),) + array.shape[1:]
                        dataset = handle.create_dataset(name, shape=(count,) + array.shape[1:], dtype=array.dtype, chunks=chunk)
                        dataset.attrs["description"] = docs.get(name, "")
                    handle[name][start:stop] = array
                if progress:
                    progress(split, stop, count)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_attributes(handle: h5py.File, data: DataConfig, seed: int, split: str, count: int) -> None:
    handle.attrs.update(
        {
            "generator": data.kind,
            "generator_version": type(data).version,
            "parameters": json.dumps(data.model_dump(mode="json"), sort_keys=True),
            "seed": seed,
            "split": split,
            "samples": count,
            "sciml_version": sciml.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )


def read_arrays(path: str | Path, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Load whole arrays of a split file into memory (``names`` default: all per-sample arrays)."""
    with h5py.File(path, "r") as handle:
        names = names or [name for name in handle if isinstance(handle[name], h5py.Dataset)]
        return {name: handle[name][...] for name in names}


def read_shared(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays stored once per file under ``shared/``."""
    with h5py.File(path, "r") as handle:
        group = handle.get("shared")
        return {name: group[name][...] for name in group} if group is not None else {}


def read_attributes(path: str | Path) -> dict[str, Any]:
    """Provenance attributes of a split file (``parameters`` decoded from JSON)."""
    with h5py.File(path, "r") as handle:
        attrs = dict(handle.attrs)
    attrs["parameters"] = json.loads(attrs["parameters"])
    return attrs
