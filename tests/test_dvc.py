"""dvc.yaml from specs: the stages' params, deps and outs, the shipped file, and DVC itself in a temporary repo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sciml_testing import ROOT, TINY_SPEC, sciml, stop, wait_until
from sciml.pipelines import dvc
from sciml.pipelines.errors import SpecError

BIN = Path(sys.executable).parent


def _spec(tmp_path: Path, name: str = "tiny", text: str = TINY_SPEC) -> Path:
    (tmp_path / "specs").mkdir(exist_ok=True)
    path = tmp_path / "specs" / f"{name}.yaml"
    path.write_text(text)
    return path


def test_stages_read_exactly_their_sections(tmp_path: Path) -> None:
    _spec(tmp_path)
    text = dvc.render(["specs/tiny.yaml"])
    document = yaml.safe_load(text)
    stages = document["stages"]
    assert list(stages) == ["tiny-generate", "tiny-train", "tiny-evaluate"]
    assert stages["tiny-generate"]["params"] == [{"specs/tiny.yaml": ["data", "seed"]}]
    assert stages["tiny-train"]["params"] == [{"specs/tiny.yaml": ["model", "task", "train", "trainer", "seed"]}]
    assert stages["tiny-evaluate"]["params"] == [{"specs/tiny.yaml": ["evaluate"]}]
    # The dataset flows generate -> train -> evaluate through stable paths, the metric is not cached.
    data, train, evaluate = "results/tiny/data", "results/tiny/train", "results/tiny/evaluate"
    assert stages["tiny-generate"]["outs"] == [data]
    assert stages["tiny-train"]["deps"] == [data] and stages["tiny-train"]["outs"] == [train]
    assert stages["tiny-evaluate"]["deps"] == [data, train] and stages["tiny-evaluate"]["outs"] == [evaluate]
    assert stages["tiny-evaluate"]["metrics"] == [{"results/tiny/metrics.json": {"cache": False}}]
    assert stages["tiny-train"]["cmd"] == f"sciml train specs/tiny.yaml paths.cache={data} --run-dir {train}"
    assert all(stage["cmd"].startswith("sciml ") for stage in stages.values())
    assert document["plots"] == [
        {f"{train}/logs/metrics.csv": {"x": "step", "y": "val/loss"}},
        {f"{evaluate}/plots/operator_metrics_test_errors.csv": {"x": "sample", "y": "rel_l2"}},
    ]
    body = text.split("\n", 1)[1]
    assert "{" not in body and "[" not in body, "block-style YAML only"


def test_stages_depend_on_the_files_the_data_and_the_evaluators_read(tmp_path: Path) -> None:
    measured = (ROOT / "specs" / "ecg-gtf.yaml").read_text()
    measured = measured.replace("../shared/data/dsr/ECG_pecuzal_5d_train.npy", "data/series.npy")
    _spec(tmp_path, "measured", measured.replace("../shared/data/dsr/ECG_pecuzal_5d_test.npy", "../outside/test.npy"))
    _spec(tmp_path)
    stages = yaml.safe_load(dvc.render(["specs/measured.yaml", "specs/tiny.yaml"]))["stages"]
    assert stages["measured-generate"]["deps"] == ["data/series.npy", "../outside/test.npy"]
    assert "deps" not in stages["tiny-generate"], "generated data reads no file"

    # an obstacle mask file the Krylov evaluation generalizes to
    poisson = (ROOT / "specs" / "dcdm-poisson2d.yaml").read_text()
    poisson = poisson.replace("obstacle: {kind: blobs, count: 3, seed: 5}", "obstacle: {kind: file, path: masks/unseen.npy}")
    _spec(tmp_path, "poisson", poisson)
    evaluate = yaml.safe_load(dvc.render(["specs/poisson.yaml"]))["stages"]["poisson-evaluate"]
    assert evaluate["deps"] == ["results/poisson/data", "results/poisson/train", "masks/unseen.npy"]

    # the checkpoint a training starts from
    _spec(tmp_path, "tuned", TINY_SPEC.replace("train: {", "train: {init_from: pretrained/best.ckpt, "))
    train = yaml.safe_load(dvc.render(["specs/tuned.yaml"]))["stages"]["tuned-train"]
    assert train["deps"] == ["results/tuned/data", "pretrained/best.ckpt"]


def test_write_merges_and_check_detects_changes(tmp_path: Path) -> None:
    _spec(tmp_path)
    _spec(tmp_path, "other", TINY_SPEC.replace("name: tiny", "name: other").replace("splits: [test]", "splits: [val, test]"))
    hand_written = {"stages": {"mine": {"cmd": "echo hi", "outs": ["mine.txt"]}}, "plots": ["mine.png"]}
    Path("dvc.yaml").write_text(yaml.safe_dump(hand_written))
    dvc.write(["specs/tiny.yaml"])
    dvc.write(["specs/other.yaml"])
    document = yaml.safe_load(Path("dvc.yaml").read_text())
    assert list(document["stages"]) == ["mine"] + [f"{s}-{t}" for s in ("tiny", "other") for t in ("generate", "train", "evaluate")]
    assert document["plots"][0] == "mine.png"
    assert {"results/other/evaluate/plots/operator_metrics_val_errors.csv": {"x": "sample", "y": "rel_l2"}} in document["plots"]
    assert Path("dvc.yaml").read_text().startswith("# Written by `sciml dvc write`; regenerate with: sciml dvc write specs/tiny.yaml specs/other.yaml\n")

    before = Path("dvc.yaml").read_text()
    dvc.write([])  # no spec: the header's specs again
    assert Path("dvc.yaml").read_text() == before

    assert sciml("dvc", "check").returncode == 0
    _spec(tmp_path, "tiny", TINY_SPEC.replace("splits: [test]", "splits: [val]"))  # a plot CSV is renamed
    stale = sciml("dvc", "check")
    assert stale.returncode == 1 and "out of date" in stale.stderr
    assert sciml("dvc", "write").returncode == 0
    assert sciml("dvc", "check").returncode == 0
    # The re-written file keeps the hand-written stage and plot (the plots of `tiny` are replaced, not added).
    document = yaml.safe_load(Path("dvc.yaml").read_text())
    assert "mine" in document["stages"] and "mine.png" in document["plots"]
    paths = [next(iter(p)) if isinstance(p, dict) else p for p in document["plots"]]
    assert "results/tiny/evaluate/plots/operator_metrics_val_errors.csv" in paths
    assert "results/tiny/evaluate/plots/operator_metrics_test_errors.csv" not in paths


def test_bad_specs_and_names_are_refused(tmp_path: Path) -> None:
    _spec(tmp_path, "bad name")
    with pytest.raises(SpecError, match="file name must be letters"):
        dvc.render(["specs/bad name.yaml"])
    broken = sciml("dvc", "write", _spec(tmp_path, "broken", TINY_SPEC.replace("width: 8", "width: -8")))
    assert broken.returncode == 2 and "model.width: must be > 0" in broken.stderr
    assert not Path("dvc.yaml").exists(), "nothing written on bad input"
    missing = sciml("dvc", "check")
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_shipped_dvc_yaml_is_what_the_command_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    shipped = (ROOT / "dvc.yaml").read_text()
    _, specs = dvc._parse_existing(shipped)
    ci_sized = {"specs/quickstart.yaml", *(f"specs/{p.name}" for p in (ROOT / "specs").glob("*-small.yaml"))}
    assert ci_sized <= set(specs), f"add the CI-sized specs {sorted(ci_sized - set(specs))} with `sciml dvc write SPEC`"
    assert dvc.check(ROOT / "dvc.yaml"), "dvc.yaml is out of date: run `sciml dvc write` in the repository root"


# --- DVC itself -----------------------------------------------------------------------------------


def _run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # the stages call `sciml`
    out = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert out.returncode == 0, f"{' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _ran(output: str) -> set[str]:
    """The stages DVC says it ran (``Running stage 'x'``)."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


def _dvc_repo(tmp_path: Path, spec_text: str) -> tuple[Path, Path]:
    """A git + DVC repository holding ``specs/tiny.yaml`` and the dvc.yaml written from it; (repo, spec)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    spec = _spec(repo, "tiny", spec_text)
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")  # the project's: runs/ and .sciml/ are ignored
    _run(str(BIN / "sciml"), "dvc", "write", "specs/tiny.yaml", cwd=repo)
    _run("git", "init", "-q", cwd=repo)
    _run("git", "config", "user.email", "test@example.com", cwd=repo)
    _run("git", "config", "user.name", "test", cwd=repo)
    _run(str(BIN / "dvc"), "init", "-q", cwd=repo)
    _run("git", "add", "-A", cwd=repo)
    _run("git", "commit", "-qm", "pipeline", cwd=repo)
    return repo, spec


@pytest.mark.slow
def test_dvc_repro_follows_the_spec_sections(tmp_path: Path) -> None:
    repo, spec = _dvc_repo(tmp_path, TINY_SPEC.replace("max_epochs: 2", "max_epochs: 1"))
    dvc_bin = str(BIN / "dvc")
    all_stages = {"tiny-generate", "tiny-train", "tiny-evaluate"}

    first = _run(dvc_bin, "repro", cwd=repo)
    assert _ran(first.stdout) == all_stages
    metrics_file = repo / "results/tiny/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    assert 0 < metrics["operator_metrics"]["test/rel_l2"] and metrics["train"]["epochs"] == 1
    train, evaluate = repo / "results/tiny/train", repo / "results/tiny/evaluate"
    assert json.loads((train / "run.json").read_text())["status"] == "trained", "evaluate leaves the train output alone"
    assert json.loads((evaluate / "run.json").read_text())["status"] == "complete"
    assert (evaluate / "metrics.json").read_bytes() == metrics_file.read_bytes()
    assert (evaluate / "checkpoints/best.ckpt").read_bytes() == (train / "checkpoints/best.ckpt").read_bytes()
    assert "up to date" in _run(dvc_bin, "status", cwd=repo).stdout
    _run("git", "add", "-A", cwd=repo)
    _run("git", "commit", "-qm", "first results", cwd=repo)

    spec.write_text(spec.read_text().replace("plot_samples: 2", "plot_samples: 1"))
    only_evaluate = _run(dvc_bin, "repro", cwd=repo)
    assert _ran(only_evaluate.stdout) == {"tiny-evaluate"}
    assert "Stage 'tiny-train' didn't change, skipping" in only_evaluate.stdout

    spec.write_text(spec.read_text().replace("lr: 0.005", "lr: 0.01"))
    lr = _run(dvc_bin, "repro", cwd=repo)
    assert _ran(lr.stdout) == {"tiny-train", "tiny-evaluate"}
    assert "Stage 'tiny-generate' didn't change, skipping" in lr.stdout
    _run("git", "add", "-A", cwd=repo)
    _run("git", "commit", "-qm", "lr", cwd=repo)

    experiment = _run(dvc_bin, "exp", "run", "-S", "specs/tiny.yaml:train.max_epochs=2", cwd=repo)
    assert _ran(experiment.stdout) == {"tiny-train", "tiny-evaluate"}
    assert yaml.safe_load(spec.read_text())["train"]["max_epochs"] == 2
    diff = json.loads(_run(dvc_bin, "metrics", "diff", "--json", cwd=repo).stdout)["results/tiny/metrics.json"]
    assert diff["train.epochs"] == {"old": 1, "new": 2, "diff": 1}
    rel = diff["operator_metrics.test/rel_l2"]
    assert rel["new"] == pytest.approx(json.loads(metrics_file.read_text())["operator_metrics"]["test/rel_l2"])
    assert rel["diff"] == pytest.approx(rel["new"] - rel["old"])

    plots = json.loads(_run(dvc_bin, "plots", "show", "--json", cwd=repo).stdout)
    assert not plots.get("errors"), plots.get("errors")

    def points(path: str) -> list[dict]:
        (plot,) = plots["data"][path]
        return plot["content"]["data"]["values"]

    errors = points("results/tiny/evaluate/plots/operator_metrics_test_errors.csv")
    assert [row["sample"] for row in errors] == [str(i) for i in range(8)], "one point per test sample"
    assert all(0 < float(row["rel_l2"]) for row in errors)
    curve = points("results/tiny/train/logs/metrics.csv")
    assert [row["epoch"] for row in curve if row.get("val/loss")] == ["0", "1"], "one validation per epoch"


def test_params_name_only_the_sections_the_spec_writes_and_stems_must_differ(tmp_path: Path) -> None:
    _spec(tmp_path, "bare", TINY_SPEC.replace("name: tiny", "name: bare").replace("seed: 0\n", "").replace("train: {max_epochs: 2, batch_size: 8, optimizer: {lr: 0.005}}\n", ""))
    stages = yaml.safe_load(dvc.render(["specs/bare.yaml"]))["stages"]
    assert stages["bare-generate"]["params"] == [{"specs/bare.yaml": ["data"]}]
    assert stages["bare-train"]["params"] == [{"specs/bare.yaml": ["model", "task", "trainer"]}]
    (tmp_path / "specs" / "more").mkdir()
    (tmp_path / "specs" / "more" / "bare.yaml").write_text((tmp_path / "specs" / "bare.yaml").read_text())
    with pytest.raises(SpecError, match=r"specs/more/bare.yaml: its stages would take the names of specs/bare.yaml's \(bare-\*\)"):
        dvc.render(["specs/bare.yaml", "specs/more/bare.yaml"])


@pytest.mark.slow
def test_a_train_stage_stopped_under_dvc_repro_says_how_to_continue_and_that_works(tmp_path: Path) -> None:
    repo, _ = _dvc_repo(tmp_path, TINY_SPEC.replace("max_epochs: 2", "max_epochs: 60"))
    dvc_bin, train = str(BIN / "dvc"), repo / "results/tiny/train"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    repro = subprocess.Popen([dvc_bin, "repro"], cwd=repo, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert wait_until(repro, (train / "checkpoints/last.ckpt").exists, timeout=300), repro.communicate()[1][-3000:]
    stderr = stop(repro, signal.SIGTERM, group=True)  # as Slurm or `kill -- -PGID` would
    hint = f"to continue it instead: sciml train --resume {train}, then dvc commit -f tiny-train"
    assert hint in stderr and "`dvc repro` would train stage tiny-train again from the start" in stderr, stderr[-3000:]
    # following the hint continues the training, and DVC then runs only the stage after it
    _run(str(BIN / "sciml"), "train", "--resume", "results/tiny/train", cwd=repo)
    assert json.loads((train / "run.json").read_text())["stages"]["train"]["epochs"] == 60
    _run(dvc_bin, "commit", "-f", "tiny-train", cwd=repo)
    after = _run(dvc_bin, "repro", cwd=repo)
    assert _ran(after.stdout) == {"tiny-evaluate"}, after.stdout
    assert json.loads((repo / "results/tiny/metrics.json").read_text())["train"]["epochs"] == 60
