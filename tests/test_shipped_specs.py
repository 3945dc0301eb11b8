"""Every shipped spec validates, and every registered kind builds from its defaults (config and code cannot drift)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciml_testing import ROOT
from sciml.pipelines import registry
from sciml.pipelines.spec import load_spec

SPECS = sorted((ROOT / "specs").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_shipped_spec_validates(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name and spec.evaluate, f"{path.name} must name itself and evaluate something"


@pytest.mark.parametrize("group", list(registry.GROUPS))
def test_every_kind_validates_from_defaults(group: str) -> None:
    for kind, cls in registry.kinds(group).items():
        config = cls.model_validate({"kind": kind}) if _all_defaulted(cls) else None
        if config is not None:
            assert config.kind == kind
        assert cls.summary(), f"{kind}: the class docstring's first line is what `sciml list` shows"


def _all_defaulted(cls) -> bool:
    return all(not field.is_required() for name, field in cls.model_fields.items() if name != "kind")


def test_data_kinds_declare_their_splits() -> None:
    for kind, cls in registry.kinds("data").items():
        if _all_defaulted(cls):
            sizes = cls.model_validate({"kind": kind}).split_sizes()
            assert sizes and all(n > 0 for n in sizes.values()), kind


def test_field_models_build_from_defaults_and_keep_the_grid() -> None:
    import torch

    for kind, cls in registry.kinds("models").items():
        if cls.role != "field" or not _all_defaulted(cls):
            continue
        net = cls.model_validate({"kind": kind}).build(in_channels=1, out_channels=1, ndim=2)
        assert net(torch.randn(2, 1, 32, 32)).shape == (2, 1, 32, 32), kind


def test_preconditioner_models_build_from_defaults_and_read_the_system() -> None:
    import numpy as np
    import torch

    from sciml.components.solvers.stencil import StencilOperator

    op = StencilOperator(np.ones((12, 12), dtype=bool))
    checked = []
    for kind, cls in registry.kinds("models").items():
        if cls.role != "preconditioner" or not _all_defaulted(cls):
            continue
        net = cls.model_validate({"kind": kind}).build(in_channels=1, out_channels=1, ndim=2)
        assert net.takes_operator, kind
        assert net(torch.randn(2, 1, 12, 12), op).shape == (2, 1, 12, 12), kind
        checked.append(kind)
    assert "dcdm_multigrid" in checked


def test_field_generators_make_the_grid_dimensions_they_declare() -> None:
    import numpy as np

    checked = []
    for kind, cls in registry.kinds("data").items():
        if cls.role != "fields" or not _all_defaulted(cls) or "resolution" not in cls.model_fields:
            continue
        cheap = {"navier_stokes": {"record_interval": 0.01, "input_steps": 2, "output_steps": 1}}.get(kind, {})
        config = cls.model_validate({"kind": kind, "resolution": 8, **cheap})
        if config.grid_dims() is None:
            continue
        seeds = np.random.SeedSequence(0).spawn(2)
        arrays = config.sample("train", seeds, config.setup(0))
        assert {key: a.ndim - 2 for key, a in arrays.items()} == dict.fromkeys(arrays, config.grid_dims()), kind
        checked.append(kind)
    assert {"burgers", "darcy", "helmholtz", "navier_stokes", "poisson_field"} <= set(checked)
