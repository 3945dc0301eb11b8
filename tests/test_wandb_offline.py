"""W&B in offline mode: each stage's run files appear in the run directory, with no network.

The ``.wandb`` files are read back with a small reader of their record log (LevelDB log format:
32 KiB blocks of records with a 7-byte header, after a 7-byte file header), so the test checks what
``wandb sync`` would upload: the run id, group, job type, tags, config and logged metrics.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import yaml

from sciml_testing import TINY_SPEC, sciml

pytestmark = pytest.mark.slow

_BLOCK, _HEADER = 32768, 7
_FULL, _LAST = 1, 4


def wandb_records(path: Path) -> list:
    """The protobuf records of one ``run-<id>.wandb`` file."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B record log"
    records, pos, chunks = [], _HEADER, b""
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # a block's tail too short for a record header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        chunks += data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind in (_FULL, _LAST):
            record = pb.Record()
            record.ParseFromString(chunks)
            records.append(record)
            chunks = b""
    return records


def _of_type(records: list, kind: str) -> list:
    return [getattr(r, kind) for r in records if r.WhichOneof("record_type") == kind]


def _logged(records: list) -> dict[str, float]:
    """Every history item and summary update, last value wins."""
    values: dict[str, float] = {}
    for history in _of_type(records, "history"):
        values.update({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in history.item})
    for summary in _of_type(records, "summary"):
        values.update({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in summary.update})
    return values


@pytest.fixture
def offline(tmp_path: Path) -> dict[str, str]:
    """W&B offline with every directory under tmp_path; any network use would hit a closed port."""
    dead = "http://127.0.0.1:9"
    return {
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tmp_path / "wandb-dir"),
        "WANDB_CONFIG_DIR": str(tmp_path / "wandb-config"),
        "WANDB_CACHE_DIR": str(tmp_path / "wandb-cache"),
        "WANDB_DATA_DIR": str(tmp_path / "wandb-data"),
        "WANDB_BASE_URL": dead,
        "WANDB_API_KEY": "",
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "NO_PROXY": "",
    }


def _one(pattern: str, root: Path) -> Path:
    found = sorted(root.glob(pattern))
    assert len(found) == 1, f"{pattern}: {found}"
    return found[0]


def test_stages_log_offline_runs_and_resume_keeps_the_id(tmp_path: Path, offline: dict[str, str]) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "tags: [poisson, offline-test]\n")
    run = tmp_path / "r"
    trained = sciml("train", spec, "--run-dir", run, env=offline)
    assert trained.returncode == 0, trained.stderr[-3000:]
    run_id = json.loads((run / "run.json").read_text())["wandb_id"]
    train_file = _one(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb", run)
    records = wandb_records(train_file)
    (header,) = _of_type(records, "run")[:1]
    assert (header.run_id, header.run_group, header.job_type) == (run_id, "tiny", "train")
    assert list(header.tags) == ["poisson", "offline-test"]
    config = {item.key: json.loads(item.value_json) for item in header.config.update}
    assert config["model"]["width"] == 8 and config["train"]["optimizer"]["lr"] == 0.005, "config = the resolved spec"
    assert config["task"] == yaml.safe_load((run / "spec.resolved.yaml").read_text())["task"]
    assert "val/loss" in _logged(records)

    evaluated = sciml("evaluate", spec, "--run-dir", run, env=offline)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    eval_file = _one(f"wandb/offline-run-*-{run_id}-evaluate/run-{run_id}-evaluate.wandb", run)
    records = wandb_records(eval_file)
    (header,) = _of_type(records, "run")[:1]
    assert (header.run_group, header.job_type) == ("tiny", "evaluate")
    metrics = json.loads((run / "metrics.json").read_text())["operator_metrics"]
    assert _logged(records)["operator_metrics/test/rel_l2"] == pytest.approx(metrics["test/rel_l2"], rel=1e-12)
    assert list(eval_file.parent.glob("files/media/images/plots/operator_metrics_test_*.png")), "plot images logged"

    # Resume: the run continues its W&B run (same id, a second offline session of it).
    resolved = run / "spec.resolved.yaml"
    resolved.write_text(resolved.read_text().replace("max_epochs: 2", "max_epochs: 3"))
    resumed = sciml("train", "--resume", run, env=offline)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run / "run.json").read_text())["wandb_id"] == run_id
    sessions = sorted(run.glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb"))
    assert len(sessions) == 2
    assert [_of_type(wandb_records(s), "run")[0].run_id for s in sessions] == [run_id, run_id]
    assert not list((tmp_path / "wandb-config").glob("**/*netrc*")), "no credentials were needed"


def test_run_in_one_process_writes_a_separate_evaluate_run(tiny_spec: Path, tmp_path: Path, offline: dict[str, str]) -> None:
    run = tmp_path / "one"
    result = sciml("run", tiny_spec, "--run-dir", run, env=offline)
    assert result.returncode == 0, result.stderr[-3000:]
    run_id = json.loads((run / "run.json").read_text())["wandb_id"]
    eval_file = _one(f"wandb/offline-run-*-{run_id}-evaluate/run-{run_id}-evaluate.wandb", run)
    assert _of_type(wandb_records(eval_file), "run")[0].job_type == "evaluate"
