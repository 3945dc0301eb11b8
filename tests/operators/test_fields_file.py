"""The ``fields_file`` data kind: pairs read from .npz / .h5 / .pt files, their splits, and one-line refusals."""

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from sciml.components.data.fields_file import FieldsFileData
from sciml.pipelines.datasets import ensure_dataset, read_arrays
from sciml.pipelines.errors import SpecError


def pairs(count: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((count, n, n)) > 0.5
    return x, rng.standard_normal((count, n, n)).astype(np.float32)


def write(path: Path, x: np.ndarray, y: np.ndarray, keys=("x", "y")) -> str:
    if path.suffix == ".npz":
        np.savez(path, **dict(zip(keys, (x, y))))
    elif path.suffix == ".h5":
        with h5py.File(path, "w") as handle:
            for key, array in zip(keys, (x, y)):
                handle[key] = array
    else:
        torch.save(dict(zip(keys, (torch.as_tensor(x), torch.as_tensor(y)))), path)
    return str(path)


@pytest.mark.parametrize("suffix", [".npz", ".h5", ".pt"])
def test_splits_hold_the_files_pairs_in_order(tmp_path: Path, suffix: str) -> None:
    x, y = pairs(20, 8, 0)
    tx, ty = pairs(5, 8, 1)
    fx, fy = pairs(3, 16, 2)
    data = FieldsFileData(
        path=write(tmp_path / f"train{suffix}", x, y), test_path=write(tmp_path / f"test{suffix}", tx, ty),
        extra_tests={"test_16": write(tmp_path / f"fine{suffix}", fx, fy)}, val_fraction=0.2,
    )
    assert data.split_names() == ["train", "val", "test", "test_16"]
    assert data.split_sizes() == {"train": 16, "val": 4, "test": 5, "test_16": 3}
    files, made = ensure_dataset(data, 0, tmp_path / "cache", workers=2)
    assert made
    expected = {"train": (x[:16], y[:16]), "val": (x[16:], y[16:]), "test": (tx, ty), "test_16": (fx, fy)}
    for split, (ex, ey) in expected.items():
        arrays = read_arrays(files.path(split))
        assert arrays["x"].dtype == np.float32 and arrays["x"].shape == (len(ex), 1, *ex.shape[1:])
        np.testing.assert_array_equal(arrays["x"][:, 0], ex.astype(np.float32))
        np.testing.assert_array_equal(arrays["y"][:, 0], ey)


def test_without_a_test_file_the_test_split_comes_before_val(tmp_path: Path) -> None:
    x, y = pairs(10, 4, 0)
    data = FieldsFileData(path=write(tmp_path / "all.npz", x[:, None], y[:, None]), val_fraction=0.2, test_fraction=0.3)
    assert data.split_sizes() == {"train": 5, "val": 2, "test": 3}
    x5 = data.sample("test", [np.random.SeedSequence(0, spawn_key=(2, i)) for i in range(3)], {})["x"]
    np.testing.assert_array_equal(x5[:, 0], x[5:8].astype(np.float32))  # channel axis kept as given


def test_the_declared_boundary_and_grid_axes(tmp_path: Path) -> None:
    x, y = pairs(10, 4, 0)
    path = write(tmp_path / "a.npz", x, y)
    assert FieldsFileData(path=path, dirichlet="cell").dirichlet_arrays() == {"y": "cell"}
    assert FieldsFileData(path=path).dirichlet_arrays() == {}
    assert FieldsFileData(path=path, dims=1).grid_dims() == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"x_key": "a"}, "data.path: .* has no array 'a'; it has \\['x', 'y', 'short'\\]"),
        ({"dims": 3}, "data.path: 'x' in .* has shape \\(10, 4, 4\\); with data.dims = 3 it must be"),
        ({"test_path": "missing.npz"}, "data.test_path: no such file 'missing.npz'"),
        ({"extra_tests": {"fine": "bad.npz"}}, "data.extra_tests.fine: cannot read"),
        ({"y_key": "short"}, "data.path: .* has 10 samples of 'x' but 3 of 'short'"),
    ],
)
def test_bad_files_are_one_line_naming_the_spec_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict, words: str) -> None:
    monkeypatch.chdir(tmp_path)
    x, y = pairs(10, 4, 0)
    np.savez("a.npz", x=x, y=y, short=y[:3])
    Path("bad.npz").write_text("not an archive")
    with pytest.raises(SpecError, match=words):
        FieldsFileData(path="a.npz", **change).split_sizes()


def test_unreadable_or_wrong_files_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    x, y = pairs(10, 4, 0)
    np.savez("a.npz", x=x, y=y)
    Path("text.pt").write_text("not a torch file")
    Path("renamed.pt").write_bytes(Path("a.npz").read_bytes())
    Path("truncated.npz").write_bytes(Path("a.npz").read_bytes()[:200])
    torch.save({"x": x, "y": y}, "numpy.pt")  # numpy arrays, which weights_only refuses to unpickle
    y_nan = y.copy()
    y_nan[3, 1, 1] = np.nan
    np.savez("nan.npz", x=x, y=y_nan)
    np.savez("wide.npz", x=np.stack([x, x], 1), y=y)
    cases = {
        "text.pt": "data.test_path: text.pt is not a file torch.load reads with weights_only=True",
        "renamed.pt": "data.test_path: renamed.pt is not a file torch.load reads with weights_only=True",
        "numpy.pt": "data.test_path: numpy.pt is not a file torch.load reads with weights_only=True",
        "truncated.npz": "data.test_path: cannot read 'truncated.npz'",
        "nan.npz": "data.test_path: 'y' in nan.npz contains NaN or infinite values",
        "wide.npz": "data: split 'test' has 2 input and 1 output channels, data.path has 1 and 1",
    }
    for name, words in cases.items():
        with pytest.raises(SpecError) as raised:
            FieldsFileData(path="a.npz", test_path=name).split_sizes()
        message = str(raised.value)
        assert message.startswith(words) and "\n" not in message, message


def test_tensors_that_require_grad_and_datasets_in_hdf5_groups_are_read(tmp_path: Path) -> None:
    x, y = pairs(10, 4, 0)
    torch.save({"x": torch.as_tensor(x), "y": torch.as_tensor(y).requires_grad_()}, tmp_path / "a.pt")
    np.testing.assert_array_equal(FieldsFileData(path=str(tmp_path / "a.pt"))._splits()["val"][1][:, 0], y[9:])
    with h5py.File(tmp_path / "g.h5", "w") as handle:
        handle["pairs/a"], handle["pairs/u"] = x, y
    data = FieldsFileData(path=str(tmp_path / "g.h5"), x_key="pairs/a", y_key="pairs/u")
    np.testing.assert_array_equal(data._splits()["train"][1][:, 0], y[:8])


def test_a_file_replaced_with_its_modification_time_kept_is_read_again(tmp_path: Path) -> None:
    import os

    x, y = pairs(10, 4, 0)
    path = write(tmp_path / "a.npz", x, y)
    before = os.stat(path)
    assert FieldsFileData(path=path)._splits()["train"][1][0, 0, 0, 0] == y[0, 0, 0]
    write(tmp_path / "a.npz", x, y + 1)  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p or rsync -a leave it
    assert os.stat(path).st_size == before.st_size and os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert FieldsFileData(path=path)._splits()["train"][1][0, 0, 0, 0] == y[0, 0, 0] + 1


def test_split_names_and_formats_are_checked_and_validation_reads_no_file() -> None:
    for name in ("val", "Test_32", "test-32"):
        with pytest.raises(ValueError, match="lower-case letters, digits and '_', other than train, val, test"):
            FieldsFileData(path="a.npz", extra_tests={name: "b.npz"})
    for change in ({"path": "a.npy"}, {"test_path": "b.csv"}, {"extra_tests": {"fine": "c.txt"}}):
        with pytest.raises(ValueError, match="use a file that holds arrays by name"):
            FieldsFileData(**{"path": "a.npz", **change})
    with pytest.raises(ValueError, match="y_key: the output array must differ"):
        FieldsFileData(path="a.npz", y_key="x")
    assert FieldsFileData(path="nowhere.npz", extra_tests={"test_32": "x.pt"}).split_names() == ["train", "val", "test", "test_32"]


def test_a_file_rewritten_in_place_is_read_again_in_the_same_process(tmp_path: Path) -> None:
    x, y = pairs(10, 4, 0)
    path = write(tmp_path / "a.npz", x, y)
    first, _ = ensure_dataset(FieldsFileData(path=path), 0, tmp_path / "cache")
    write(tmp_path / "a.npz", x[::-1], y[::-1])
    second, made = ensure_dataset(FieldsFileData(path=path), 0, tmp_path / "cache")
    assert made and second.key != first.key
    np.testing.assert_array_equal(read_arrays(second.path("train"))["x"][:, 0], x[::-1][:8].astype(np.float32))


def test_a_spec_on_a_users_files_runs_end_to_end_with_a_zero_shot_split(tmp_path: Path) -> None:
    import json

    from sciml_testing import ROOT, sciml

    # smooth pairs vanishing on the boundary of a cell grid (points i / n): y = sin(pi x) sin(pi y) * (1 + a)
    def make(count: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(n) / n
        envelope = np.outer(np.sin(np.pi * t), np.sin(np.pi * t))
        a = np.random.default_rng(seed).random((count, 1, 1)) * np.ones((1, n, n))
        return a.astype(np.float32), (envelope * (1 + a)).astype(np.float32)

    write(tmp_path / "train.npz", *make(40, 8, 0))
    write(tmp_path / "test.npz", *make(6, 8, 1))
    write(tmp_path / "fine.npz", *make(6, 16, 2))
    spec = (ROOT / "specs" / "darcy-neuralop-fno.yaml").read_text()
    overrides = [
        f"data.path={tmp_path / 'train.npz'}", f"data.test_path={tmp_path / 'test.npz'}",
        f"data.extra_tests={{test_16: {tmp_path / 'fine.npz'}}}", "train.max_epochs=2", "model.width=8",
        "model.lifting_width=8", "model.projection_width=8", "model.modes=3", f"paths.cache={tmp_path / 'cache'}",
        "evaluate.0.splits=[test,test_16]",
    ]
    (tmp_path / "spec.yaml").write_text(spec)
    result = sciml("run", tmp_path / "spec.yaml", *overrides, "--run-dir", tmp_path / "run", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["operator_metrics"]
    for split in ("test", "test_16"):  # the zero-shot split from its own file, on a grid twice as fine
        assert 0 <= metrics[f"{split}/rel_l2"] < 1, metrics
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "complete"


def test_a_cached_data_set_is_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sciml.components.data.fields_file as fields_file

    x, y = pairs(10, 4, 0)
    data = FieldsFileData(path=write(tmp_path / "a.npz", x, y))
    first, made = ensure_dataset(data, 0, tmp_path / "cache")
    assert made

    def refuse(*_):
        raise AssertionError("the files were parsed for a data set already in the cache")

    monkeypatch.setattr(fields_file, "_read_splits", refuse)
    again, made_again = ensure_dataset(data, 0, tmp_path / "cache")
    assert not made_again and again.key == first.key
