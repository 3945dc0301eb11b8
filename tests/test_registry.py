"""The entry-point registry: a third-party package's kinds are found and usable; duplicates are errors."""

from __future__ import annotations

from pathlib import Path

from sciml_testing import TINY_SPEC, sciml

PLUGIN = '''
"""A third-party model kind: a pointwise linear map, registered only through package metadata."""
from typing import Literal
from sciml.components.base import ModelConfig


class PointwiseConfig(ModelConfig):
    """Pointwise linear map (a 1x1 convolution)."""

    kind: Literal["pointwise"] = "pointwise"
    bias: bool = True

    def build(self, in_channels, out_channels, ndim, **_):
        import torch
        return (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)[ndim - 1](in_channels, out_channels, 1, bias=self.bias)


class DuplicateFNO(ModelConfig):
    """Claims the built-in kind fno."""

    kind: Literal["fno"] = "fno"
'''


def _install_plugin(root: Path, entry_points: str) -> dict[str, str]:
    """A distribution on PYTHONPATH: a module plus a dist-info with entry_points.txt (what pip would write)."""
    root.mkdir()
    (root / "sciml_plugin_demo.py").write_text(PLUGIN)
    info = root / "sciml_plugin_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sciml-plugin-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return {"PYTHONPATH": str(root)}


def test_third_party_kind_is_discovered_and_trains(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path / "site", "[sciml.models]\npointwise = sciml_plugin_demo:PointwiseConfig\n")
    listed = sciml("list", "models", env=env)
    assert listed.returncode == 0 and "pointwise" in listed.stdout and "Pointwise linear map" in listed.stdout
    spec = tmp_path / "plugin.yaml"
    spec.write_text(TINY_SPEC.replace("model: {kind: fno, width: 8, modes: 4, layers: 2, projection_width: 16}", "model: {kind: pointwise}"))
    result = sciml("run", spec, "train.max_epochs=1", "--run-dir", tmp_path / "run", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert "kind: pointwise" in (tmp_path / "run" / "spec.resolved.yaml").read_text()
    assert "pointwise" in sciml("schema", env=env).stdout


def test_duplicate_kind_is_an_error(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path / "site", "[sciml.models]\nfno = sciml_plugin_demo:DuplicateFNO\n")
    result = sciml("list", "models", env=env)
    assert result.returncode == 2
    assert "duplicate kind 'fno'" in result.stderr and "sciml_plugin_demo:DuplicateFNO" in result.stderr


def test_plugin_that_fails_to_import_is_named_in_one_line(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path / "site", "[sciml.models]\nbroken = sciml_plugin_demo_missing:Config\n")
    result = sciml("list", "models", env=env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "broken = sciml_plugin_demo_missing:Config" in result.stderr and "ModuleNotFoundError" in result.stderr
