"""The dataset cache: keys, provenance, sharding-independent seeds, atomic files, resumable generation."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import ClassVar, Literal

import h5py
import numpy as np
import pytest

from sciml.components.base import DataConfig
from sciml.pipelines.datasets import dataset_key, ensure_dataset, read_arrays, read_attributes


class Counter(DataConfig):
    """Each sample: a draw from its own seed, plus how many samples were made in total (class-wide)."""

    kind: Literal["counter"] = "counter"
    n: int = 10
    made: ClassVar[list[int]] = []

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.n, "test": 3}

    def sample(self, split, seeds, shared):
        Counter.made.append(len(seeds))
        draws = np.stack([np.random.default_rng(s).standard_normal(4) for s in seeds])
        return {"x": draws, "offset": draws[:, :1] + shared["offset"]}

    def setup(self, seed):
        return {"offset": np.array([100.0])}

    def describe_arrays(self):
        return {"x": "standard normal draws, (sample, 4), no units"}


def _datasets(cache: Path) -> list[Path]:
    """What the cache holds besides the lock files kept beside each dataset directory."""
    return sorted(p for p in cache.iterdir() if not p.name.endswith(".lock"))


def test_key_follows_data_seed_and_version() -> None:
    base = dataset_key(Counter(), 0)
    assert dataset_key(Counter(), 0) == base
    assert dataset_key(Counter(n=11), 0) != base
    assert dataset_key(Counter(), 1) != base

    class Bumped(Counter):
        version = "2"

    assert dataset_key(Bumped(), 0) != base


def test_second_call_generates_nothing(tmp_path: Path) -> None:
    Counter.made.clear()
    files, made = ensure_dataset(Counter(), 0, tmp_path)
    assert made and sum(Counter.made) == 13
    again, made_again = ensure_dataset(Counter(), 0, tmp_path)
    assert not made_again and sum(Counter.made) == 13 and again == files


def test_files_carry_provenance_and_shared_arrays(tmp_path: Path) -> None:
    files, _ = ensure_dataset(Counter(n=5), 7, tmp_path)
    attrs = read_attributes(files.path("train"))
    assert attrs["generator"] == "counter" and attrs["seed"] == 7 and attrs["samples"] == 5
    assert attrs["parameters"] == {"kind": "counter", "n": 5}
    with h5py.File(files.path("train")) as handle:
        assert handle["shared/offset"][0] == 100.0
        assert "standard normal" in handle["x"].attrs["description"]
    arrays = read_arrays(files.path("train"))
    np.testing.assert_allclose(arrays["offset"][:, 0], arrays["x"][:, 0] + 100.0)


def test_samples_do_not_depend_on_batching(tmp_path: Path) -> None:
    class Small(Counter):
        batch_size = 3

    class Large(Counter):
        batch_size = 64

    a = read_arrays(ensure_dataset(Small(), 0, tmp_path / "a")[0].path("train"))["x"]
    b = read_arrays(ensure_dataset(Large(), 0, tmp_path / "b")[0].path("train"))["x"]
    np.testing.assert_array_equal(a, b)
    assert len({tuple(row) for row in a}) == len(a), "every sample has its own stream"


def test_interrupted_generation_leaves_nothing_complete_and_resumes(tmp_path: Path) -> None:
    class Flaky(Counter):
        crash: ClassVar[bool] = True

        def sample(self, split, seeds, shared):
            if Flaky.crash and split == "test":
                raise RuntimeError("generator crashed")
            return super().sample(split, seeds, shared)

    with pytest.raises(RuntimeError, match="crashed"):
        ensure_dataset(Flaky(), 0, tmp_path)
    (folder,) = _datasets(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["train.h5"], "the finished split only, no partial file"
    Flaky.crash = False
    Counter.made.clear()
    files, made = ensure_dataset(Flaky(), 0, tmp_path)
    assert made and sum(Counter.made) == 3, "only the missing split is generated"
    assert read_arrays(files.path("test"))["x"].shape == (3, 4)


@pytest.mark.parametrize("first_fails", [False, True], ids=["first-finishes", "first-fails"])
def test_runs_started_together_generate_a_dataset_once(first_fails: bool, tmp_path: Path) -> None:
    class Gated(Counter):
        started: ClassVar[threading.Event] = threading.Event()
        release: ClassVar[threading.Event] = threading.Event()
        calls: ClassVar[int] = 0

        def sample(self, split, seeds, shared):
            Gated.calls += 1
            if Gated.calls == 1:  # the first run's first batch: hold it until the second run waits
                Gated.started.set()
                assert Gated.release.wait(timeout=60)
                if first_fails:
                    raise RuntimeError("generator crashed")
            return super().sample(split, seeds, shared)

    def generate(name: str) -> None:
        try:
            results[name] = ensure_dataset(Gated(), 0, tmp_path)
        except RuntimeError as error:
            results[name] = error

    Counter.made.clear()
    results: dict[str, object] = {}
    first, second = (threading.Thread(target=generate, args=(name,)) for name in ("first", "second"))
    first.start()
    assert Gated.started.wait(timeout=60)
    second.start()
    second.join(timeout=1.0)
    assert second.is_alive(), "the second run waits while the first generates"
    Gated.release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    files, made = results["second"]
    assert sum(Counter.made) == 13 and read_arrays(files.path("train"))["x"].shape == (10, 4), "generated once"
    if first_fails:  # the second run generates it after all, in the directory the first removed
        assert isinstance(results["first"], RuntimeError) and made
    else:
        assert results["first"] == (files, True) and not made, "the second run generated nothing"


class Batched(Counter):
    batch_size = 3  # several batches per split, so that two workers share the work


def test_workers_write_the_same_arrays_as_one_process(tmp_path: Path) -> None:
    one, _ = ensure_dataset(Batched(n=10), 0, tmp_path / "one")
    two, _ = ensure_dataset(Batched(n=10), 0, tmp_path / "two", workers=2)
    assert one.key == two.key, "the number of workers is not part of the cache key"
    for split in ("train", "test"):
        a, b = read_arrays(one.path(split)), read_arrays(two.path(split))
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_worker_crash_leaves_nothing_complete(tmp_path: Path) -> None:
    class Unpicklable(Exception):  # a local class: pickle cannot send it back as it is
        pass

    class Crashing(Batched):
        error: ClassVar[type[Exception]] = RuntimeError

        def sample(self, split, seeds, shared):
            if split == "train" and seeds[0].spawn_key[-1] == 9:  # the last batch of the split, samples [9, 10)
                raise Crashing.error("worker crashed")
            return super().sample(split, seeds, shared)

    with pytest.raises(RuntimeError, match="worker crashed") as raised:
        ensure_dataset(Crashing(n=10), 0, tmp_path / "a", workers=2)
    assert 'raise Crashing.error("worker crashed")' in str(raised.value.__cause__), "the worker's traceback comes along"
    assert _datasets(tmp_path / "a") == [], "no dataset directory, split file or temporary file"
    Crashing.error = Unpicklable
    with pytest.raises(RuntimeError, match="^Unpicklable: worker crashed$"):
        ensure_dataset(Crashing(n=10), 0, tmp_path / "b", workers=2)


def test_a_worker_killed_while_sending_stops_generation_with_an_error(tmp_path: Path) -> None:
    # a shared result pipe (multiprocessing.Pool) stays locked by a worker that dies while sending, and
    # generation hangs: here worker 1 is killed halfway through sending a large batch while this
    # process still waits for worker 0's batch, as a SIGTERM to the process group or the OOM killer would
    parent = os.getpid()

    class KilledWhileSending(Batched):
        def sample(self, split, seeds, shared):
            first = seeds[0].spawn_key[-1]  # the index of the batch's first sample
            if os.getpid() != parent and split == "train" and first == 0:
                time.sleep(1.0)  # worker 0: this process waits here while worker 1 sends
            if os.getpid() != parent and split == "train" and first == 3:
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGKILL)).start()
                return {**super().sample(split, seeds, shared), "large": np.zeros((3, 1_000_000))}
            return super().sample(split, seeds, shared)

    outcome: list[BaseException | None] = []

    def generate() -> None:
        try:
            ensure_dataset(KilledWhileSending(n=10), 0, tmp_path, workers=2)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - inspected below
            outcome.append(error)

    thread = threading.Thread(target=generate, daemon=True)
    thread.start()
    thread.join(60)
    assert outcome, "generation hung after a worker died"
    assert isinstance(outcome[0], RuntimeError), outcome
    assert "generation worker 1 died (killed? out of memory?) while making samples [3, 6)" in str(outcome[0])
    assert _datasets(tmp_path) == [], "no dataset directory, split file or temporary file"


def test_a_data_file_changed_in_place_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sciml.components.data.trajectory_file import TrajectoryFileData

    monkeypatch.chdir(tmp_path)  # relative paths are from the working directory
    series = np.sin(np.linspace(0, 20, 200))[:, None] * np.array([1.0, 2.0])
    np.save("series.npy", series)
    data = TrajectoryFileData(path="series.npy")
    files, made = ensure_dataset(data, 0, "cache")
    again, made_again = ensure_dataset(data, 0, "cache")
    assert made and not made_again and again.root == files.root
    np.save("series.npy", series)  # rewritten, same bytes: still cached
    assert not ensure_dataset(data, 0, "cache")[1]

    np.save("series.npy", series[::-1])  # same name and shape, new content
    changed, made_changed = ensure_dataset(data, 0, "cache")
    assert made_changed and changed.root != files.root
    first, second = read_arrays(files.path("train"))["x"], read_arrays(changed.path("train"))["x"]
    assert first.shape == second.shape and not np.allclose(first, second)
    assert changed.key.endswith(dataset_key(TrajectoryFileData(path="series.npy"), 0))
    digest = hashlib.sha256(Path("series.npy").read_bytes()).hexdigest()
    assert read_attributes(changed.path("test"))["input_files"] == {"series.npy": digest}, "provenance: which bytes"


def test_a_split_file_damaged_in_the_cache_is_generated_again(tmp_path: Path) -> None:
    files, made = ensure_dataset(Counter(), 0, tmp_path)
    expected = read_arrays(files.path("train"))["x"]
    files.path("train").write_bytes(files.path("train").read_bytes()[:1000])  # truncated since it was written
    Counter.made.clear()
    again, made = ensure_dataset(Counter(), 0, tmp_path)
    assert made and again.root == files.root
    np.testing.assert_array_equal(read_arrays(again.path("train"))["x"], expected)
