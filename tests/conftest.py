"""Shared test setup: no network, no W&B, every output under a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciml_testing import TINY_SPEC


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs in its own directory, with W&B disabled and DVC analytics off."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("SCIML_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SCIML_RUNS", str(tmp_path / "runs"))
    return tmp_path


@pytest.fixture
def tiny_spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPEC)
    return path
