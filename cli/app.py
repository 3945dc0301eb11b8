"""The ``sciml`` command line: commands parse arguments and forward to ``sciml.pipelines``.

Exit codes: 0 success, 1 a run that failed (diverged), 2 bad input (spec, override, an output
path that cannot be written), 130 / 143 training interrupted by Ctrl+C / SIGTERM (resumable). Errors
print one line; ``--debug`` shows the traceback. Only the commands that train import torch.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from sciml.pipelines.errors import DivergedError, Interrupted, SpecError, handle_stop_signals, user_path

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Declarative scientific-ML pipelines: a YAML spec -> data -> Lightning training -> evaluation.",
)
_state = {"debug": False}

SpecArg = typer.Argument(..., help="the spec file (YAML)", show_default=False)
SpecOrResumeArg = typer.Argument(None, help="the spec file (YAML); omit with --resume", show_default=False)
OverridesArg = typer.Argument(None, help="KEY=VALUE overrides, e.g. model.width=64 trainer.devices=2", show_default=False)
RunDirOpt = typer.Option(None, "--run-dir", help="the run directory to create (default: <paths.runs>/<name>-<time>)")
ResumeOpt = typer.Option(None, "--resume", help="continue the run in this directory from its last.ckpt")


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="show tracebacks")) -> None:
    _state["debug"] = debug


@app.command()
def run(
    spec: Optional[Path] = SpecOrResumeArg,
    overrides: Optional[list[str]] = OverridesArg,
    run_dir: Optional[Path] = RunDirOpt,
    resume: Optional[Path] = typer.Option(
        None, "--resume", help="continue the run in this directory from its last.ckpt, or the sweep in this directory"
    ),
    sweep: Optional[list[str]] = typer.Option(
        None, "--sweep", help="KEY=V1,V2,...: run the grid of all --sweep values, one run each (--run-dir: the sweep's directory)"
    ),
) -> None:
    """Generate the data, train and evaluate: all stages of SPEC."""
    if sweep:
        from sciml.pipelines.sweep import run_sweep

        if resume is not None or spec is None:
            raise SpecError("--sweep: needs a SPEC and cannot be combined with --resume")
        run_sweep(spec, overrides or [], sweep, run_dir=run_dir)
        return
    from sciml.pipelines.stages import run as run_all
    from sciml.pipelines.sweep import continue_sweep, is_sweep

    if resume is not None and is_sweep(resume):
        if spec is not None or overrides or run_dir is not None:
            raise SpecError(f"--resume {resume}: a sweep continues with its own spec and grid; pass no SPEC, overrides or --run-dir")
        continue_sweep(resume)
        return
    run_all(spec, overrides or [], run_dir=run_dir, resume=resume)


@app.command()
def generate(spec: Path = SpecArg, overrides: Optional[list[str]] = OverridesArg) -> None:
    """Generate SPEC's dataset into the cache (nothing happens if it is cached)."""
    from sciml.pipelines import stages

    stages.generate(stages.load(spec, overrides or [])[0])


@app.command()
def train(
    spec: Optional[Path] = SpecOrResumeArg,
    overrides: Optional[list[str]] = OverridesArg,
    run_dir: Optional[Path] = RunDirOpt,
    resume: Optional[Path] = ResumeOpt,
) -> None:
    """Train SPEC's model (generating its data if needed) into a new run directory."""
    from sciml.pipelines import stages

    loaded, text = stages.spec_for_run(spec, overrides or [], resume, run_dir)
    stages.train(loaded, text, overrides or [], run_dir=run_dir, resume=resume)


@app.command()
def evaluate(
    spec: Path = SpecArg,
    overrides: Optional[list[str]] = OverridesArg,
    run_dir: Path = typer.Option(..., "--run-dir", help="the trained run to evaluate"),
) -> None:
    """Evaluate the run in --run-dir with SPEC's evaluate section; writes metrics.json and plots/."""
    from sciml.pipelines import stages

    stages.evaluate(stages.load(spec, overrides or [])[0], run_dir)


@app.command()
def validate(spec: Path = SpecArg, overrides: Optional[list[str]] = OverridesArg) -> None:
    """Check SPEC (and overrides) without running anything."""
    from sciml.pipelines.spec import load_spec

    loaded = load_spec(spec, overrides or [])
    evaluators = ", ".join(e.kind for e in loaded.evaluate) or "none"
    typer.echo(
        f"{spec}: ok ({loaded.name}: data {loaded.data.kind}, model {loaded.model.kind}, "
        f"task {loaded.task.kind}, evaluate {evaluators})"
    )


@app.command()
def show(spec: Path = SpecArg, overrides: Optional[list[str]] = OverridesArg) -> None:
    """Print the resolved spec with every default filled in."""
    from sciml.pipelines.spec import dump_yaml, load_spec, resolved_dict

    typer.echo(dump_yaml(resolved_dict(load_spec(spec, overrides or []))), nl=False)


@app.command()
def schema(output: Optional[Path] = typer.Option(None, "--output", "-o", help="write to this file instead of stdout")) -> None:
    """Print the JSON Schema of specs (registered plugins included), for editor completion."""
    import json

    from sciml.pipelines.spec import spec_class

    text = json.dumps(spec_class().model_json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        with user_path("--output"):
            output.write_text(text, encoding="utf-8")


@app.command("list")
def list_kinds(
    group: Optional[str] = typer.Argument(None, help="data, models, tasks or evaluation (default: all)", show_default=False),
) -> None:
    """List every registered kind with its parameters, defaults and one-line doc."""
    from sciml.cli.listing import print_kinds

    print_kinds(group)


dvc_app = typer.Typer(no_args_is_help=True, help="DVC stages generate -> train -> evaluate for specs (dvc.yaml).")
app.add_typer(dvc_app, name="dvc")
DvcFileOpt = typer.Option(Path("dvc.yaml"), "--file", "-f", help="the dvc.yaml to write or check")


@dvc_app.command("write")
def dvc_write(
    specs: Optional[list[Path]] = typer.Argument(None, help="spec files; none: the specs already in the file", show_default=False),
    file: Path = DvcFileOpt,
) -> None:
    """Write or update dvc.yaml with the stages of SPECs (other stages are kept)."""
    from sciml.pipelines import dvc

    typer.echo(f"wrote {dvc.write(specs or [], file)}")


@dvc_app.command("check")
def dvc_check(file: Path = DvcFileOpt) -> None:
    """Exit 1 if dvc.yaml differs from what `sciml dvc write` writes for the specs in its header."""
    from sciml.pipelines import dvc

    if not dvc.check(file):
        typer.echo(f"{file}: out of date; regenerate it with `sciml dvc write` (its header names the specs)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{file}: up to date")


@dvc_app.command("evaluate")
def dvc_evaluate(
    spec: Path = SpecArg,
    overrides: Optional[list[str]] = OverridesArg,
    trained: Path = typer.Option(..., "--trained", help="the train stage's run directory (left untouched)"),
    run_dir: Path = typer.Option(..., "--run-dir", help="the new run directory to evaluate in"),
    metrics: Optional[Path] = typer.Option(None, "--metrics", help="also copy metrics.json here (the DVC metric)"),
) -> None:
    """The evaluate stage of dvc.yaml: evaluate a copy of the trained run in a run directory of its own."""
    from sciml.pipelines import dvc, stages

    loaded, text = stages.load(spec, overrides or [])
    dvc.evaluate_trained(loaded, text, overrides or [], trained, run_dir, metrics)


@app.command()
def compare(
    runs: list[str] = typer.Argument(..., help="run directories or quoted globs ('runs/quickstart-*')", show_default=False),
    sort: Optional[str] = typer.Option(None, "--sort", help="sort by this metric (a unique suffix such as test/rel_l2 is enough)"),
    descending: bool = typer.Option(False, "--descending", help="largest first"),
    csv: Optional[Path] = typer.Option(None, "--csv", help="also write the table as CSV"),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="also write the table as markdown"),
) -> None:
    """Compare runs: the parameters that differ and every metric, side by side."""
    from sciml.pipelines import compare as comparing

    table = comparing.compare(runs, sort=sort, descending=descending)
    comparing.print_table(table)
    if csv is not None:
        with user_path("--csv"):
            comparing.write_csv(table, csv)
    if markdown is not None:
        with user_path("--markdown"):
            markdown.write_text(comparing.to_markdown(table), encoding="utf-8")


def main() -> None:
    """Console-script entry point: maps domain exceptions to exit codes."""
    from sciml.pipelines.registry import RegistryError

    handle_stop_signals()
    try:
        app()
    except (SpecError, RegistryError) as error:
        _fail(error, 2)
    except DivergedError as error:
        _fail(error, 1)
    except MemoryError as error:  # numpy says how much it asked for
        _fail(MemoryError(f"out of memory: {error or 'an allocation failed'} (are the spec's sizes meant for this machine?)"), 1)
    except Interrupted as error:  # a Ctrl+C outside a run's training and generation is typer's: exit 130
        _fail(error, 128 + error.signal_number)


def _fail(error: BaseException, code: int) -> None:
    if _state["debug"]:
        raise error
    typer.echo(f"error: {error}", err=True)
    sys.exit(code)
