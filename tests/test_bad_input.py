"""Every kind of bad input: exit code 2, one line naming the file and the YAML path, no traceback."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sciml_testing import sciml

BAD = Path(__file__).parent / "bad_specs"

CASES = [
    # (spec file, extra args, words the one-line message must contain)
    ("yaml_syntax.yaml", [], ["yaml_syntax.yaml:3:", "YAML syntax error"]),
    ("duplicate_key.yaml", [], ["duplicate_key.yaml:7:3", "duplicate key 'max_epochs'"]),
    ("unknown_key.yaml", [], ["model.widht", "unknown key", "did you mean 'width'"]),
    ("wrong_type.yaml", [], ["train.batch_size", "integer", "'many'"]),
    ("out_of_range.yaml", [], ["train.optimizer.lr", "must be > 0", "-0.01"]),
    ("unknown_kind.yaml", [], ["model.kind", "unknown 'fno2'", "did you mean 'fno'", "known:"]),
    ("missing_kind.yaml", [], ["data.kind", "missing"]),
    ("not_a_mapping.yaml", [], ["not_a_mapping.yaml", "must be a YAML mapping"]),
    ("bad_interpolation.yaml", [], ["description", "missing.key"]),
    ("missing_name.yaml", [], ["name", "required"]),
    ("bad_evaluator.yaml", [], ["evaluate[0].splits"]),
    ("bad_trainer_value.yaml", [], ["trainer.strategy", "'dpp'", "'ddp'"]),
    ("unknown_key.yaml", ["model.width"], ["override 'model.width'", "KEY=VALUE"]),
    ("unknown_key.yaml", ["model.widht=8", "model.kind=fno3"], ["model.kind", "unknown 'fno3'"]),
]


@pytest.mark.parametrize(("name", "extra", "words"), CASES, ids=[f"{c[0]}{'+' if c[1] else ''}" for c in CASES])
def test_bad_spec_exits_2_with_one_line(name: str, extra: list[str], words: list[str], tmp_path: Path) -> None:
    for command in ("validate", "run"):
        result = sciml(command, BAD / name, *extra)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "Traceback" not in result.stderr
        for word in words:
            assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "bad input must write nothing"


OVERRIDE_CASES = [
    # (overrides of the tiny spec, words the one-line message must contain)
    (["evaluate=[{kind: dsr}]"], ["evaluate[0].kind", "'dsr' measures 'dsr' tasks", "task 'operator'", "operator_metrics"]),
    (["evaluate=[{kind: krylov}]"], ["evaluate[0].kind", "'krylov' measures 'dcdm' tasks"]),
    (["evaluate.0.splits=[test, test_99]"], ["evaluate[0].splits", "no split 'test_99'", "train, val, test"]),
    (["task.kind=dcdm"], ["data.kind", "'poisson_field' generates 'fields'", "'dcdm' trains on 'linear_system'", "poisson"]),
    (["data.kind=lorenz63"], ["data.kind", "'lorenz63' generates 'trajectories'", "'operator' trains on 'fields'", "darcy"]),
    (["model={kind: shplrnn}", "task={kind: gtf}", "evaluate=[{kind: dsr}]"],
     ["data.kind", "'poisson_field' generates 'fields'", "'gtf' trains on 'trajectories'", "lorenz63, lorenz96"]),
    (["task.output_key=u"], ["task.output_key", "data kind 'poisson_field' has no array 'u'", "it has x, y"]),
    (["data.kind=darcy", "data.test_resolutions=[24, 2]"], ["data.test_resolutions[1]", ">= 4"]),
    (["train.max_epochs=true"], ["train.max_epochs", "true/false"]),
    (["model.width=false"], ["model.width", "true/false"]),
    (["evaluate.0.band_edges=[4, true]"], ["evaluate[0].band_edges[1]", "true/false", "got true"]),
    (["trainer.limit_train_batches=2.5"], ["trainer.limit_train_batches", "fraction <= 1.0", "2.5"]),
    (["data.alpha=.inf"], ["data.alpha", "must be a finite number, got inf"]),
    (["train.optimizer.lr=.nan"], ["train.optimizer.lr", "finite number"]),
    (["seed=4294967296"], ["seed", "must be <= 4294967295"]),
    (["data.dim=3", "model={kind: mgno}"], ["model.kind", "'mgno' takes fields on 1D and 2D grids, the data's are 3D"]),
    (["model.modes=[4, 4, 4]"], ["model.modes", "3 values for fields on 2D grids"]),
    (["model.modes=-3"], ["model.modes: must be >= 1, got -3"]),
    (["model.modes=[4, 0]"], ["model.modes[1]: must be >= 1, got 0"]),
    (["trainer.devices=abc"], ["trainer.devices: must be an integer, a list or 'auto', got 'abc'"]),
    (["trainer.devices=[0, 0]"], ["trainer.devices: a list of device indices must name each device once, from 0, got [0, 0]"]),
    (["evaluate.0.band_edges=[12, 4]"], ["evaluate[0].band_edges", "must increase", "[12, 4]"]),
    (["evaluate.0.name=../escaped"], ["evaluate[0].name", "must match pattern", "'../escaped'"]),
    (["evaluate=[{kind: operator_metrics}, {kind: operator_metrics, splits: [val]}]"],
     ["evaluate[1].name", "writes metrics and plots as 'operator_metrics'"]),
    (["data.dim=1", "task.transpose=true"], ["task.transpose", "square 2D grids", "'poisson_field' makes 1D fields"]),
    (["evaluate.0.splt=[test]"], ["evaluate[0].splt", "did you mean 'splits'", "allowed: kind, name, splits"]),
    (["data.kind=poisson", "data.grid=8", "task.kind=dcdm", "model={kind: dcdm}", "evaluate=[{kind: krylov, generalize: [{name: g, grdi: 16}]}]"],
     ["evaluate[0].generalize[0].grdi", "did you mean 'grid'"]),
]


@pytest.mark.parametrize(("overrides", "words"), OVERRIDE_CASES, ids=[c[0][0] for c in OVERRIDE_CASES])
def test_components_that_do_not_fit_are_refused_before_any_work(
    overrides: list[str], words: list[str], tiny_spec: Path, tmp_path: Path
) -> None:
    for command in ("validate", "run"):
        result = sciml(command, tiny_spec, *overrides)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        for word in words:
            assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"], "bad input must write nothing"


def test_booleans_and_whole_number_limits_are_still_read_where_a_field_takes_them(tiny_spec: Path) -> None:
    result = sciml(
        "validate", tiny_spec, "train.shuffle=false", "task.normalize=false", "trainer.deterministic=true",
        "trainer.limit_train_batches=0.5", "trainer.limit_val_batches=2.0",
    )
    assert result.returncode == 0, result.stderr


def test_every_registered_boolean_field_takes_true() -> None:
    from sciml.components.base import _admits_bool
    from sciml.pipelines import registry

    for group in registry.GROUPS:
        for kind, cls in registry.kinds(group).items():
            for name, field in cls.model_fields.items():
                if isinstance(field.default, bool):
                    assert _admits_bool(field.annotation), (group, kind, name)


def test_yaml_merge_keys_may_be_overridden_once(tmp_path: Path) -> None:
    spec = tmp_path / "merge.yaml"
    spec.write_text(
        "name: merged\ndata: {kind: poisson_field, resolution: 8, train: 4, val: 2, test: 2}\n"
        "model: {kind: fno, width: 4, modes: 2, layers: 1}\ntask: {kind: operator}\n"
        "train: {optimizer: {<<: {kind: sgd, lr: 0.1}, lr: 0.003}}\n"
    )
    result = sciml("show", spec)
    assert result.returncode == 0, result.stderr
    assert "kind: sgd" in result.stdout and "lr: 0.003" in result.stdout and "lr: 0.1" not in result.stdout


def test_spec_that_is_not_utf8_text(tmp_path: Path) -> None:
    spec = tmp_path / "binary.yaml"
    spec.write_bytes(b"name: x\n\xff\xfe")
    result = sciml("validate", spec)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {spec}: not UTF-8 text (byte 8); a spec is a YAML text file"


def test_unwritable_output_path_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "schema.json"
    result = sciml("schema", "--output", target)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: --output: {target}: No such file or directory"


def test_missing_spec_file(tmp_path: Path) -> None:
    result = sciml("run", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: spec file not found"
    result = sciml("validate", "/dev/null")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: /dev/null: not a regular file"


def test_debug_shows_the_traceback() -> None:
    result = sciml("--debug", "validate", BAD / "unknown_kind.yaml")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "SpecError" in result.stderr


def test_existing_run_dir_is_never_overwritten(tiny_spec: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "taken"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("mine")
    result = sciml("run", tiny_spec, "--run-dir", run_dir)
    assert result.returncode == 2
    assert "already exists" in result.stderr and "--resume" in result.stderr
    assert [p.name for p in run_dir.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "cache").exists(), "nothing generated before the input was checked"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_run_directory_where_nothing_can_be_made_is_refused_even_for_root(tiny_spec: Path, tmp_path: Path) -> None:
    # /proc refuses new directories whatever the permission bits say (root passes os.access there)
    result = sciml("run", tiny_spec, "--run-dir", "/proc/sciml-run")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().startswith("error: --run-dir /proc/sciml-run: cannot be made, nothing can be created in /proc ("), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "cache").exists(), "nothing generated before the input was checked"


def test_booleans_are_refused_inside_lists_tuples_and_mappings_unless_the_items_take_them() -> None:
    from pydantic import ValidationError

    from sciml.components.base import NoBooleanNumbers

    class Fields(NoBooleanNumbers):
        edges: list[int] = []
        pair: tuple[float, bool] = (0.0, False)
        nested: list[list[float]] = []
        either: int | list[int] = 0
        flags: list[bool] = []
        mixed: list[int] | list[bool] = []
        weights: dict[str, float] = {}
        switches: dict[str, bool] = {}
        grouped: dict[str, list[int]] | None = None

    fields = Fields(pair=(1.5, True), flags=[True, False], either=[2, 3], mixed=[True], switches={"a": True})
    assert fields.flags == [True, False] and fields.mixed == [True] and fields.switches == {"a": True}
    for values, where in [
        ({"edges": [4, False]}, "edges[1]: must not be true/false, got false"),
        ({"pair": [True, True]}, "pair[0]: must not be true/false, got true"),
        ({"nested": [[1.0], [2.0, True]]}, "nested[1][1]: must not be true/false, got true"),
        ({"either": [1, True]}, "either[1]: must not be true/false, got true"),
        ({"either": True}, "either: must not be true/false, got true"),
        ({"weights": {"a": 0.5, "b": False}}, "weights[b]: must not be true/false, got false"),
        ({"grouped": {"x": [1, True]}}, "grouped[x][1]: must not be true/false, got true"),
    ]:
        with pytest.raises(ValidationError, match=re.escape(where)):
            Fields(**values)


TRAJECTORY_SPEC = """\
name: measured
data: {kind: trajectory_file, path: series.npy}
model: {kind: shplrnn, hidden: 8}
task: {kind: gtf, seq_len: 20}
train: {max_epochs: 1, batch_size: 8}
trainer: {accelerator: cpu, devices: 1}
evaluate: [{kind: dsr}]
"""


def _write_bad_file(path: Path, content: str) -> None:
    import numpy as np

    if content == "directory":
        path.mkdir()
    elif content == "fifo":
        os.mkfifo(path)
    elif content == "truncated":
        np.save(path, np.zeros((100, 3)))
        path.write_bytes(path.read_bytes()[:90])
    elif content == "strings":
        np.save(path, np.array([["a", "b"], ["c", "d"]]))
    elif content == "complex":
        np.save(path, np.ones((50, 2)) * 1j)
    elif content == "ragged":
        path.write_text("1,2,3\n4,5\n")
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("series.npy", "empty", ["cannot read 'series.npy'"]),
    ("series.npy", "truncated", ["cannot read 'series.npy'"]),
    ("series.npy", "strings", ["series.npy holds <U1 values, not real numbers"]),
    ("series.npy", "complex", ["series.npy holds complex128 values, not real numbers"]),
    ("series.npy", "directory", ["'series.npy' is not a regular file"]),
    ("series.npy", "fifo", ["'series.npy' is not a regular file"]),
    ("series.csv", "ragged", ["cannot read 'series.csv'", "got 2 columns instead of 3"]),
])
def test_a_data_file_that_cannot_be_read_is_one_line_and_leaves_nothing(name: str, content: str, words: list[str], tmp_path: Path) -> None:
    _write_bad_file(tmp_path / name, content)
    spec = tmp_path / "measured.yaml"
    spec.write_text(TRAJECTORY_SPEC.replace("series.npy", name))
    result = sciml("run", spec, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and result.stderr.startswith("error: data.path: "), result.stderr  # no blank line before it
    assert all(word in lines[0] for word in words), lines[0]
    assert not (tmp_path / "runs").exists()
    assert not any(p.is_dir() for p in (tmp_path / "cache").glob("*")), "no empty dataset directory"


@pytest.mark.parametrize(("mask", "words"), [(None, ["no such file 'mask.npy'"]), ((4, 4), ["has shape (4, 4), expected (8, 8)"])])
def test_an_obstacle_mask_file_that_does_not_fit_is_one_line(mask, words: list[str], tmp_path: Path) -> None:
    import numpy as np

    if mask is not None:
        np.save(tmp_path / "mask.npy", np.ones(mask, dtype=bool))
    spec = tmp_path / "poisson.yaml"
    spec.write_text(
        "name: masked\ndata: {kind: poisson, grid: 8, dim: 2, lanczos_steps: 20, theta: 2, train: 8, val: 2, test: 2, "
        "obstacle: {kind: file, path: mask.npy}}\nmodel: {kind: dcdm, channels: 4}\ntask: {kind: dcdm}\n"
        "evaluate: [{kind: krylov, rhs: 1}]\n"
    )
    result = sciml("run", spec, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: obstacle.path: ") and all(w in lines[0] for w in words), result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_run_directory_that_cannot_be_made_is_refused_before_generating(tiny_spec: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    for args in (["--run-dir", tmp_path / "afile" / "run"], [f"paths.runs={tmp_path / 'afile'}"]):
        result = sciml("run", tiny_spec, *args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().endswith(f"cannot be made, {tmp_path / 'afile'} is a file"), result.stderr
    assert not (tmp_path / "cache").exists(), "nothing generated before the input was checked"


@pytest.mark.parametrize(("content", "words"), [("{not json", "unreadable"), ("[1, 2]", "not a run record")])
def test_a_damaged_run_record_is_one_line_on_resume(content: str, words: str, tmp_path: Path) -> None:
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "run.json").write_text(content)
    result = sciml("run", "--resume", tmp_path / "damaged")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {tmp_path / 'damaged' / 'run.json'}: {words}"), result.stderr


def test_resume_refuses_another_run_dir(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text('{"stages": {}}')
    result = sciml("run", "--resume", tmp_path / "old", "--run-dir", tmp_path / "new")
    assert result.returncode == 2
    assert "a resumed run continues in its own directory" in result.stderr
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA device is visible")
def test_a_gpu_run_without_a_gpu_is_refused_before_generating(tiny_spec: Path, tmp_path: Path) -> None:
    result = sciml("run", tiny_spec, "trainer.accelerator=gpu")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: trainer.accelerator: 'gpu', but torch"), result.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()


def test_a_spec_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text("name: x\ndata: " + "[" * 5000 + "]" * 5000 + "\n")
    result = sciml("validate", spec)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {spec}: nested too deeply to read"


def test_a_spec_whose_aliases_expand_beyond_reason_is_refused_at_once(tmp_path: Path) -> None:
    levels = ["_a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"_a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    spec = tmp_path / "bomb.yaml"
    spec.write_text("name: bomb\n" + "\n".join(levels) + "\n")
    result = sciml("validate", spec, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {spec}: expands to more than 1,000,000 values (aliases of aliases?); a spec is not that large"


def test_a_run_directory_in_use_by_another_process_is_refused(tiny_spec: Path, tmp_path: Path) -> None:
    from sciml.pipelines import rundir

    run_dir = tmp_path / "run"
    assert sciml("run", tiny_spec, "--run-dir", run_dir).returncode == 0
    before = (run_dir / "run.json").read_text()
    with rundir.exclusive(run_dir):  # as a training or evaluating sciml process holds it
        for args in (["run", "--resume", run_dir], ["evaluate", tiny_spec, "--run-dir", run_dir]):
            result = sciml(*args)
            assert result.returncode == 2, result.stderr
            assert result.stderr.strip() == f"error: {run_dir}: another sciml process is using this run directory; wait for it or stop it"
    assert (run_dir / "run.json").read_text() == before
    assert sciml("evaluate", tiny_spec, "--run-dir", run_dir).returncode == 0, "released when its holder ends"


def test_an_unknown_wandb_mode_in_the_environment_is_refused_before_generating(tiny_spec: Path, tmp_path: Path) -> None:
    result = sciml("run", tiny_spec, env={"WANDB_MODE": "bogus"})
    assert result.returncode == 2
    assert result.stderr.strip() == "error: WANDB_MODE=bogus in the environment: must be offline, online or disabled (it overrides logging.wandb.mode)"
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()


def test_online_wandb_without_an_api_key_is_refused_before_generating(tiny_spec: Path, tmp_path: Path) -> None:
    no_credentials = {
        "WANDB_MODE": "online",
        "WANDB_API_KEY": "",
        "HOME": str(tmp_path / "home"),  # no ~/.netrc
        "NETRC": str(tmp_path / "home" / "no-netrc"),
        "WANDB_CONFIG_DIR": str(tmp_path / "wandb-config"),
        "WANDB_BASE_URL": "http://127.0.0.1:9",  # any network use would hit a closed port
    }
    result = sciml("run", tiny_spec, env=no_credentials)
    assert result.returncode == 2, result.stderr[-2000:]
    message = result.stderr.strip()
    assert message.startswith("error: logging.wandb.mode: online") and "wandb login" in message and "\n" not in message
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()


def test_a_wandb_key_in_netrc_counts_as_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import urlsplit

    import wandb

    from sciml.pipelines import tracking

    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    monkeypatch.setenv("NETRC", str(netrc))
    assert not tracking._has_api_key(), "no netrc file"
    netrc.write_text("machine example.org login user password " + "a" * 40 + "\n")
    netrc.chmod(0o600)
    assert not tracking._has_api_key(), "an entry for another host"
    host = urlsplit(wandb.Settings().base_url).netloc
    netrc.write_text(f"machine {host} login user password " + "a" * 40 + "\n")
    assert tracking._has_api_key()
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    assert tracking._has_api_key()


def test_a_latent_below_a_data_files_dimension_is_one_line_at_training_start(tmp_path: Path) -> None:
    # a file's dimension is known only once it is read: the GTF task checks the model before building it
    import numpy as np

    np.save(tmp_path / "series.npy", np.random.default_rng(0).standard_normal((400, 3)))
    spec = tmp_path / "measured.yaml"
    spec.write_text(TRAJECTORY_SPEC.replace("model: {kind: shplrnn, hidden: 8}", "model: {kind: shplrnn, hidden: 8, latent: 2}"))
    result = sciml("run", spec, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "error: model.latent: the identity observation needs latent >= the data dimension 3, got 2", result.stderr
