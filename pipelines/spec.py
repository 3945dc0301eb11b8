"""Specs: YAML + ``key=value`` overrides -> OmegaConf (interpolation) -> a validated pydantic ``Spec``.

The component sections (``data``, ``model``, ``task`` and each entry of ``evaluate``) are unions
discriminated on ``kind`` over the classes in the registry, so plugins extend the schema. Every
problem becomes a one-line :class:`SpecError` naming the file and the YAML path, e.g.
``specs/x.yaml: model.width: must be > 0, got -3``. This module does not import torch.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from sciml.components.base import NoBooleanNumbers
from sciml.pipelines import registry
from sciml.pipelines.errors import SpecError


class _Section(NoBooleanNumbers):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptimizerConfig(_Section):
    """The optimizer of the training step."""

    kind: Literal["adam", "adamw", "radam", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd only")


class SchedulerConfig(_Section):
    """The learning-rate schedule: per epoch (cosine, step) or per step (onecycle)."""

    kind: Literal["none", "cosine", "step", "onecycle"] = "none"
    step_size: int = Field(10, gt=0, description="step: epochs between decays")
    gamma: float = Field(0.5, gt=0, le=1, description="step: decay factor")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine: final lr / initial lr")


class TrainConfig(_Section):
    """How long and on what batches to train; ``batch_size`` is global (summed over processes)."""

    max_epochs: int = Field(10, gt=0)
    batch_size: int = Field(32, gt=0)
    optimizer: OptimizerConfig = OptimizerConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    shuffle: bool = Field(True, description="reshuffle the training set every epoch")
    num_workers: int = Field(0, ge=0)
    init_from: str | None = Field(
        None,
        min_length=1,
        description="start from the weights of this checkpoint file, or of this run directory's best.ckpt "
        "(last.ckpt if none), with a fresh optimizer and schedule; the model and task must match",
    )


_STRATEGIES = ("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true", "fsdp", "single_device")
_PRECISIONS = ("64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true")


class TrainerConfig(_Section):
    """Passed to ``lightning.Trainer`` as is (after validation)."""

    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps", "tpu"] = "auto"
    devices: int | list[int] | Literal["auto"] = "auto"
    strategy: Literal[_STRATEGIES] = "auto"  # type: ignore[valid-type]
    num_nodes: int = Field(1, ge=1)
    precision: Literal[_PRECISIONS] = "32-true"  # type: ignore[valid-type]
    gradient_clip_val: float | None = Field(None, gt=0)
    gradient_clip_algorithm: Literal["norm", "value"] = "norm"
    accumulate_grad_batches: int = Field(1, ge=1)
    check_val_every_n_epoch: int = Field(1, ge=1)
    log_every_n_steps: int = Field(10, ge=1)
    limit_train_batches: float | int | None = Field(None, gt=0)
    limit_val_batches: float | int | None = Field(None, gt=0)
    max_time: str | None = Field(
        None, pattern=r"^\d{2}:\d{2}:\d{2}:\d{2}$", description="wall-clock limit of training, 'DD:HH:MM:SS' (stops after the running step)"
    )
    deterministic: bool | Literal["warn"] = False

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_number(cls, value: Any) -> Any:
        return {16: "16-mixed", 32: "32-true", 64: "64-true"}.get(value, value) if isinstance(value, int) else value

    @field_validator("devices")
    @classmethod
    def _devices_positive(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 1 and value != -1:
            raise ValueError("must be a positive count, -1 (all), a list of device indices or 'auto'")
        if isinstance(value, list) and (not value or min(value) < 0 or len(set(value)) < len(value)):
            raise ValueError(f"a list of device indices must name each device once, from 0, got {value}")
        return value

    @field_validator("limit_train_batches", "limit_val_batches")
    @classmethod
    def _fraction_or_count(cls, value: Any) -> Any:
        if isinstance(value, float) and value > 1 and not value.is_integer():
            raise ValueError("must be a fraction <= 1.0 or a whole number of batches")
        return value

    def lightning_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``lightning.Trainer`` (unset optional limits left to Lightning)."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


class WandbConfig(_Section):
    """Weights & Biases: offline by default (``wandb sync`` later); ``WANDB_MODE`` in the environment wins."""

    mode: Literal["offline", "online", "disabled"] = "offline"
    project: str = "sciml"
    entity: str | None = None


class LoggingConfig(_Section):
    """Loggers: a CSV logger always, W&B as configured."""

    wandb: WandbConfig = WandbConfig()


class GenerateConfig(_Section):
    """How the dataset stage runs; nothing here changes the arrays (not part of the cache key)."""

    workers: int = Field(
        1, ge=1, description="processes generating batches in parallel; every sample draws from its own seed, so the files are the same"
    )


class PathsConfig(_Section):
    """Where datasets are cached and run directories created (relative to the working directory)."""

    cache: str = Field(default_factory=lambda: os.environ.get("SCIML_CACHE", ".sciml/cache"))
    runs: str = Field(default_factory=lambda: os.environ.get("SCIML_RUNS", "runs"))


class SpecBase(_Section):
    """Fields of every spec; the component sections are added from the registry by :func:`spec_class`."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="experiment name; W&B group")
    description: str = ""
    tags: list[str] = []
    seed: int = Field(0, ge=0, le=2**32 - 1)
    generate: GenerateConfig = GenerateConfig()
    train: TrainConfig = TrainConfig()
    trainer: TrainerConfig = TrainerConfig()
    logging: LoggingConfig = LoggingConfig()
    paths: PathsConfig = Field(default_factory=PathsConfig)


def _union(group: str) -> Any:
    classes = tuple(registry.kinds(group).values())
    if not classes:
        raise registry.RegistryError(f"no kinds registered in entry-point group sciml.{group}; is sciml installed?")
    return Annotated[Union[classes], Field(discriminator="kind")]  # noqa: UP007 (a runtime tuple of classes)


@functools.cache
def spec_class() -> type[SpecBase]:
    """The ``Spec`` model over every registered kind (built once per process)."""
    return create_model(
        "Spec",
        __base__=SpecBase,
        data=(_union("data"), ...),
        model=(_union("models"), ...),
        task=(_union("tasks"), ...),
        evaluate=(list[_union("evaluation")], []),
    )


_COMPONENT_SECTIONS = {"data": "data", "model": "models", "task": "tasks", "evaluate": "evaluation"}


# --- reading YAML -----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 floats, so ``1e-3`` is a number, not a string; a repeated key is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merge keys (<<) may be overridden; complex keys are the base loader's to refuse
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; a syntax error becomes ``SOURCE:LINE:COL: YAML syntax error: ...``."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (_Loader is a SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise SpecError(f"{where}: YAML syntax error: {problem}") from error


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a spec file, with one-line errors for a missing file, bad YAML or a non-mapping."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a spec file" if path.is_dir() else "not a regular file" if path.exists() else "spec file not found"
        raise SpecError(f"{path}: {what}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not UTF-8 text (byte {error.start}); a spec is a YAML text file") from error
    raw = parse_yaml(text, str(path))
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec must be a YAML mapping (name:, data:, model:, ...), got {type(raw).__name__}")
    if _expanded_size(raw, {}) > _MAX_VALUES:
        raise SpecError(f"{path}: expands to more than {_MAX_VALUES:,} values (aliases of aliases?); a spec is not that large")
    return raw


_MAX_VALUES = 1_000_000


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """Values in ``node`` with every YAML alias expanded (as OmegaConf will copy them); each shared
    list or mapping is counted once per reference but computed once (``sizes``, by ``id``)."""
    if not isinstance(node, (dict, list)):
        return 1
    if id(node) not in sizes:
        children = node.values() if isinstance(node, dict) else node
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes) for child in children)
    return sizes[id(node)]


# --- overrides --------------------------------------------------------------------------------------

_OVERRIDE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")
_KIND_KEY = re.compile(r"^(data|model|task|evaluate\.[0-9]+)\.kind$")


def parse_override(item: str) -> tuple[str, Any]:
    """``"model.width=64"`` -> ``("model.width", 64)``; the value is read as YAML."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not _OVERRIDE_KEY.match(key):
        raise SpecError(f"override {item!r}: expected KEY=VALUE with a dotted key, e.g. model.width=64")
    return key, parse_yaml(text, f"override {item!r}") if text.strip() else ""


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key=value`` overrides in order; a new ``kind`` replaces its whole section."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config = OmegaConf.create(raw)
    for item in overrides:
        key, value = parse_override(item)
        try:
            if _KIND_KEY.match(key):
                section = key.rsplit(".", 1)[0]
                if OmegaConf.select(config, key) != value:
                    OmegaConf.update(config, section, {"kind": value}, merge=False, force_add=True)
            else:
                OmegaConf.update(config, key, value, merge=not isinstance(value, dict), force_add=True)
        except (OmegaConfBaseException, ValueError, IndexError) as error:
            raise SpecError(f"override {item!r}: {key} cannot be set: {_first_line(error)}") from error
    return OmegaConf.to_container(config, resolve=False)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def resolve_interpolations(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Resolve ``${...}`` interpolations (OmegaConf)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(OmegaConf.create(raw), resolve=True)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)
        where = f"{key}: " if key else ""
        raise SpecError(f"{source}: {where}interpolation failed: {_first_line(error)}") from error


# --- validation -------------------------------------------------------------------------------------


def load_spec(source: str | Path | Mapping[str, Any], overrides: Sequence[str] = ()) -> SpecBase:
    """Read, override, interpolate and validate a spec; raises :class:`SpecError` on bad input."""
    name = "<spec>" if isinstance(source, Mapping) else str(source)
    try:
        raw = dict(source) if isinstance(source, Mapping) else read_spec_file(source)
        raw = resolve_interpolations(apply_overrides(raw, overrides), name)
        return validate_spec(raw, name)
    except RecursionError as error:  # YAML, OmegaConf and pydantic all recurse on nested values
        raise SpecError(f"{name}: nested too deeply to read") from error


def validate_spec(raw: dict[str, Any], source: str = "<spec>") -> SpecBase:
    """Validate a plain mapping into a ``Spec``, with one-line errors naming ``source`` and the path."""
    cls = spec_class()
    try:
        spec = cls.model_validate(raw)
    except ValidationError as error:
        errors = error.errors()
        first, covered = _union_error(errors) or (errors[0], 1)
        message = _describe(first, raw, cls)
        rest = len(errors) - covered
        more = f" (and {rest} more problem{'s' * (rest > 1)})" if rest else ""
        raise SpecError(f"{source}: {message}{more}") from error
    _check_model_fits_task(spec, source)
    _check_data_fits_task(spec, source)
    dims = spec.data.grid_dims()
    if dims is not None:
        check_model_grid(spec.model, dims, source)
    series_dim = spec.data.series_dim()
    if series_dim is not None:
        check_model_series(spec.model, series_dim, source)
    _check_task_and_evaluators_fit(spec, source)
    return spec


def _check_model_fits_task(spec: SpecBase, source: str) -> None:
    task, model = spec.task, spec.model
    if type(model).role not in type(task).model_roles:
        fitting = _kinds_where("models", lambda c: c.role in type(task).model_roles)
        raise SpecError(
            f"{source}: model.kind: {model.kind!r} is a {type(model).role!r} model, but task "
            f"{task.kind!r} trains {' or '.join(map(repr, type(task).model_roles))} models ({fitting})"
        )


def check_model_grid(model: Any, dims: int, source: str = "") -> None:
    """:class:`SpecError` naming the ``model`` field if the network cannot take fields on ``dims``-axis grids."""
    _model_check(model.check_grid, dims, source)


def check_model_series(model: Any, dim: int, source: str = "") -> None:
    """:class:`SpecError` naming the ``model`` field if the network cannot model ``dim``-dimensional series."""
    _model_check(model.check_series, dim, source)


def _model_check(check, value: int, source: str) -> None:
    try:
        check(value)
    except ValueError as error:
        raise SpecError(f"{source}: " * bool(source) + _within(("model",), str(error))) from error


def _check_data_fits_task(spec: SpecBase, source: str) -> None:
    task, data = spec.task, spec.data
    roles, role = type(task).data_roles, type(data).role
    if roles is not None and role is not None and role not in roles:
        fitting = _kinds_where("data", lambda c: c.role in roles)
        raise SpecError(
            f"{source}: data.kind: {data.kind!r} generates {role!r}, but task {task.kind!r} trains on "
            f"{' or '.join(map(repr, roles))} (data kinds: {fitting})"
        )


def _check_task_and_evaluators_fit(spec: SpecBase, source: str) -> None:
    """The task's and every evaluator's own checks, and each evaluator's task roles, before any work."""
    role = type(spec.task).role
    try:
        spec.task.check(spec)
    except ValueError as error:
        raise SpecError(f"{source}: {_within(('task',), str(error))}") from error
    for i, evaluator in enumerate(spec.evaluate):
        roles = type(evaluator).task_roles
        if roles is not None and role not in roles:
            fitting = _kinds_where("evaluation", lambda c: c.task_roles is None or role in c.task_roles)
            raise SpecError(
                f"{source}: evaluate[{i}].kind: {evaluator.kind!r} measures {' or '.join(map(repr, roles))} tasks, "
                f"but task {spec.task.kind!r} {f'has role {role!r}' if role else 'has no evaluator role'} "
                f"(evaluators for it: {fitting})"
            )
        try:
            evaluator.check(spec)
        except ValueError as error:
            raise SpecError(f"{source}: {_within(('evaluate', i), str(error))}") from error
        if evaluator.prefix in [e.prefix for e in spec.evaluate[:i]]:
            raise SpecError(
                f"{source}: evaluate[{i}].name: another evaluator before it writes metrics and plots as "
                f"{evaluator.prefix!r}; give this one (or that one) a different name"
            )


def _kinds_where(group: str, fits: Callable[[type], bool]) -> str:
    """The registered kinds of ``group`` whose class ``fits``, as ``"a, b"`` (or ``"none registered"``)."""
    return ", ".join(k for k, c in registry.kinds(group).items() if fits(c)) or "none registered"


_UNION_ARM = re.compile(r"^(?:int|float|str|bool|constrained-\w+|[a-z-]+\[.*\])$")
"""How pydantic names the arms of a union (``int``, ``list[constrained-int]``, ``literal['auto']``) in error locations."""


def _union_error(errors: list[dict[str, Any]]) -> tuple[dict[str, Any], int] | None:
    """For a value that fits no arm of a union type (``int | list[int] | 'auto'``): the error of the one arm
    the value's type selects, without the arm's name in its location, or else one error listing the
    arms; with the number of pydantic's errors it stands for. ``None`` if the first error is no union's."""
    loc = errors[0]["loc"]
    at = next((i for i, part in enumerate(loc) if isinstance(part, str) and _UNION_ARM.match(part)), None)
    if at is None:
        return None
    arms = [e for e in errors if e["loc"][:at] == loc[:at] and len(e["loc"]) > at and _UNION_ARM.match(str(e["loc"][at]))]
    value = next((e["input"] for e in arms if len(e["loc"]) == at + 1), None)
    fitting = [e for e in arms if _arm_takes(e["loc"][at], value)]
    if len(fitting) == 1:
        return {**fitting[0], "loc": loc[:at] + fitting[0]["loc"][at + 1 :]}, len(arms)
    *others, last = dict.fromkeys(_arm_name(e["loc"][at]) for e in arms)  # an arm's item errors name it once
    text = f"must be {', '.join(others)} or {last}" if others else f"must be {last}"
    return {"type": "union", "loc": loc[:at], "msg": text, "input": value, "ctx": {}}, len(arms)


def _arm_base(arm: str) -> str:
    return arm.split("[")[0].removeprefix("constrained-")


def _arm_takes(arm: str, value: Any) -> bool:
    """Whether a value of this Python type is what the arm validates (so its error is the one to show)."""
    types = {"int": int, "float": (int, float), "str": str, "list": list, "dict": dict}.get(_arm_base(arm))
    return types is not None and isinstance(value, types) and not isinstance(value, bool)


def _arm_name(arm: str) -> str:
    base = _arm_base(arm)
    if base == "literal":
        return arm[len("literal[") : -1]
    names = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true/false", "list": "a list", "dict": "a mapping"}
    return names.get(base, arm)


def _describe(error: dict[str, Any], raw: dict[str, Any], cls: type[BaseModel]) -> str:
    loc = _strip_tags(error["loc"])
    path = _format_path(loc)
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "union_tag_invalid":
        group = _group_of(loc)
        return f"{path}.kind: {registry.unknown_kind_message(ctx.get('tag'), registry.kinds(group))}"
    if kind == "union_tag_not_found":
        known = ", ".join(registry.kinds(_group_of(loc)))
        return f"{path}.kind: missing; every {path.split('[')[0]} section names its kind (known: {known})"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(cls, raw, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f", did you mean {close[0]!r}?" if close else ""
        return f"{path}: unknown key{hint} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return f"{path}: required key missing"
    text = error["msg"].removeprefix("Value error, ")
    if kind == "value_error" and isinstance(value, dict):  # a check across a section's fields names the field(s)
        return _within(loc, text)
    if kind == "value_error" and "got " in text:  # the check's message already shows the value
        return f"{path}: {text}"
    text = text.replace("Input should be", "must be").replace("String should match pattern", "must match pattern")
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        text = f"must have at {'least' if kind == 'too_short' else 'most'} {bound} item{'s' * (bound != 1)}"
    for name, sign in (("greater_than", ">"), ("greater_than_equal", ">="), ("less_than", "<"), ("less_than_equal", "<=")):
        if kind == name:
            text = f"must be {sign} {next(iter(ctx.values()))}"
    return f"{path}: {text}, got {value!r}"


_LEADING_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(\[\d+\])*:")


def _within(loc: tuple[Any, ...], message: str) -> str:
    """A message about the section at ``loc``: ``"width: ..."`` -> ``"model.width: ..."``, else ``"model: ..."``."""
    if not _LEADING_FIELD.match(message):
        return f"{_format_path(loc)}: {message}"
    return f"{_format_path(loc)}.{message}" if loc else message


def _strip_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tags pydantic puts in locations: ('model', 'fno', 'width') -> ('model', 'width')."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        previous = loc[i - 1] if i else None
        in_section = (i == 1 and previous in ("data", "model", "task")) or (
            i == 2 and loc[0] == "evaluate" and isinstance(previous, int)
        )
        if in_section and isinstance(part, str) and part in registry.kinds(_group_of(loc[:1])):
            continue
        out.append(part)
    return tuple(out)


def _group_of(loc: tuple[Any, ...]) -> str:
    return _COMPONENT_SECTIONS.get(loc[0] if loc else "", "data")


def _format_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _allowed_keys(cls: type[BaseModel], raw: Any, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model at ``loc`` (following ``kind`` into component classes)."""
    model: Any = cls
    node = raw
    for i, part in enumerate(loc):
        node = node[part] if isinstance(node, (dict, list)) and _has(node, part) else None
        section = loc[0] in _COMPONENT_SECTIONS and (i == 0 and part != "evaluate" or i == 1 and loc[0] == "evaluate")
        if section:
            kind = node.get("kind") if isinstance(node, dict) else None
            model = registry.kinds(_group_of(loc)).get(kind)
        elif i == 0 and part == "evaluate":
            continue  # a list of components: the next part is the index, whose kind picks the class
        elif isinstance(part, str) and model is not None and part in model.model_fields:
            model = _model_in(model.model_fields[part].annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class of a field typed ``M``, ``M | None`` or ``list[M]`` (``None`` for anything else)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = [m for m in map(_model_in, typing.get_args(annotation)) if m is not None]
    return models[0] if len(models) == 1 else None


def _has(node: dict | list, part: Any) -> bool:
    return part in node if isinstance(node, dict) else isinstance(part, int) and 0 <= part < len(node)


def resolved_dict(spec: SpecBase) -> dict[str, Any]:
    """The spec with every default filled in, as plain JSON-ready data (what ``sciml show`` prints)."""
    return spec.model_dump(mode="json")


def dump_yaml(data: Mapping[str, Any]) -> str:
    """Block-style YAML in field order."""
    return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False)
