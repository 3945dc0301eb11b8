"""Spec loading: overrides, interpolation, kind replacement, defaults, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sciml_testing import TINY_SPEC, sciml
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import load_spec, parse_override, resolved_dict


def test_overrides_apply_in_order_and_parse_yaml_values(tiny_spec: Path) -> None:
    spec = load_spec(tiny_spec, ["model.width=64", "train.optimizer.lr=1e-4", "tags=[a, b]", "model.width=32"])
    assert spec.model.width == 32
    assert spec.train.optimizer.lr == pytest.approx(1e-4)
    assert spec.tags == ["a", "b"]


def test_interpolation_resolves_against_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(TINY_SPEC.replace("name: tiny", "name: tiny\ndescription: width ${model.width}, seed ${seed}"))
    assert load_spec(path, ["model.width=12"]).description == "width 12, seed 0"


def test_kind_override_replaces_the_section(tiny_spec: Path) -> None:
    # Same kind: the section is kept and merged.
    assert load_spec(tiny_spec, ["model.kind=fno"]).model.width == 8
    # A new kind replaces the section: fno's keys must not leak into the new kind (its defaults apply).
    with pytest.raises(SpecError, match=r"model.kind: unknown 'unet2'"):
        load_spec(tiny_spec, ["model.kind=unet2"])
    spec = load_spec(tiny_spec, ["evaluate.0.kind=operator_metrics", "evaluate.0.batch_size=3"])
    assert spec.evaluate[0].splits == ["test"] and spec.evaluate[0].batch_size == 3


def test_show_fills_every_default(tiny_spec: Path) -> None:
    result = sciml("show", tiny_spec)
    assert result.returncode == 0, result.stderr
    import yaml

    shown = yaml.safe_load(result.stdout)
    assert shown["model"]["padding"] == 0.0  # a default not in the file
    assert shown["trainer"]["precision"] == "32-true"
    assert shown["data"]["alpha"] == 2.0
    assert shown == resolved_dict(load_spec(tiny_spec))


def test_schema_is_valid_json_schema_with_every_kind() -> None:
    result = sciml("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    text = json.dumps(schema)
    for kind in ("poisson_field", "fno", "operator", "operator_metrics"):
        assert f'"{kind}"' in text


@pytest.mark.parametrize("argv", [["--help"], ["validate", "SPEC"], ["list"], ["schema"], ["show", "SPEC"]])
def test_light_commands_do_not_import_torch(argv: list[str], tiny_spec: Path) -> None:
    argv = [str(tiny_spec) if a == "SPEC" else a for a in argv]
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from sciml.cli.app import app\n"
        f"result = CliRunner().invoke(app, {argv!r})\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = sorted(m for m in ('torch', 'lightning', 'wandb', 'h5py') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_list_shows_parameters_defaults_and_docs() -> None:
    result = sciml("list", "models")
    assert result.returncode == 0
    assert "fno" in result.stdout and "width = 32" in result.stdout and "Fourier neural operator" in result.stdout
    bad = sciml("list", "modles")
    assert bad.returncode == 2 and "unknown group 'modles'" in bad.stderr


@pytest.mark.parametrize("bad", ["=3", "a..b=1", "model width=3", "noequals"])
def test_malformed_override(bad: str) -> None:
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        parse_override(bad)
