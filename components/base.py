"""The four kinds of component a spec names, as pydantic config classes.

A component is a config class registered under a ``kind`` (entry-point groups ``sciml.data``,
``sciml.models``, ``sciml.tasks``, ``sciml.evaluation``); the class validates its spec section and
builds the code it configures. Config modules must not import torch or lightning at import time:
``sciml validate``, ``list`` and ``schema`` load every config class and must stay fast. Import the
heavy code inside the methods that build it.

The contracts:

- :class:`DataConfig` describes a dataset of independent samples split into named splits. The
  pipeline calls :meth:`DataConfig.setup` once, then :meth:`DataConfig.sample` on batches of
  per-sample seeds, and streams the arrays into one HDF5 file per split.
- :class:`ModelConfig` builds a plain ``torch.nn.Module`` from the dimensions the task passes.
- :class:`TaskConfig` builds the ``LightningModule`` that ties a dataset to a model.
- :class:`EvaluationConfig` measures a trained task and returns flat, JSON-ready metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np
    import torch

    from sciml.pipelines.spec import SpecBase


_SEQUENCES = (list, tuple, Sequence, set, frozenset)
_MAPPINGS = (dict, Mapping)

PointLayout = Literal["vertex", "cell", "interior"]
"""Where a field's grid points lie in [0, 1] per axis: ``vertex`` ``i/(n-1)``, ``cell`` ``i/n``, ``interior``
``(i+1)/(n+1)`` (:mod:`sciml.components.grids`)."""


def _admits_bool(annotation: Any) -> bool:
    """Whether a field annotated ``annotation`` means to take ``true`` / ``false``."""
    if annotation in (bool, Any, object):
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return any(isinstance(arg, bool) for arg in get_args(annotation))
    if origin is Annotated:
        return _admits_bool(get_args(annotation)[0])
    return origin in (Union, UnionType) and any(_admits_bool(arg) for arg in get_args(annotation))


def _misplaced_boolean(annotation: Any, value: Any) -> tuple[str, bool] | None:
    """The first ``true`` / ``false`` in ``value`` that a field annotated ``annotation`` does not take, and
    where: ``""`` for the value itself, ``"[i]"`` for a list item or ``"[key]"`` for a mapping's value
    (nested: ``"[i][j]"``); else ``None``."""
    if isinstance(value, bool):
        return None if _admits_bool(annotation) else ("", value)
    if not isinstance(value, (list, tuple, dict)):
        return None
    found = None
    for arm in _container_arms(annotation, mapping=isinstance(value, dict)):
        found = _misplaced_item(arm, value)  # refused only if every container type the field allows refuses it
        if found is None:
            return None
    return found


def _misplaced_item(container: Any, value: list | tuple | dict) -> tuple[str, bool] | None:
    """:func:`_misplaced_boolean` of the first item (list) or value (mapping) of ``value`` that holds one,
    as an item of the ``container`` type."""
    entries = value.items() if isinstance(value, dict) else enumerate(value)
    for (key, element), item in zip(entries, _item_annotations(container, len(value))):
        found = _misplaced_boolean(item, element)
        if found is not None:
            return f"[{key}]{found[0]}", found[1]
    return None


def _item_annotations(container: Any, length: int) -> list[Any]:
    """The annotation of each of ``length`` items of a container type (``tuple[int, str]``, ``list[int]``,
    ``dict[str, float]``: the values)."""
    args = get_args(container)
    if get_origin(container) is tuple and args and args[-1] is not Ellipsis:
        return list(args)
    if get_origin(container) in _MAPPINGS:
        return [args[1] if args else Any] * length
    return [args[0] if args else Any] * length


def _container_arms(annotation: Any, mapping: bool) -> list[Any]:
    """The mapping (``mapping``) or else list / tuple / sequence types ``annotation`` allows (looking
    through ``Annotated`` and unions)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _container_arms(get_args(annotation)[0], mapping)
    if origin in (Union, UnionType):
        return [arm for arg in get_args(annotation) for arm in _container_arms(arg, mapping)]
    return [annotation] if origin in (_MAPPINGS if mapping else _SEQUENCES) else []


class NoBooleanNumbers(BaseModel):
    """Refuses ``true`` / ``false`` for a field, or an item of a list or mapping field, that does not
    take booleans (pydantic reads them as 1 / 0), and ``.inf`` / ``.nan`` for every number."""

    model_config = ConfigDict(allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_boolean(cls, data: Any) -> Any:
        for key, value in data.items() if isinstance(data, dict) else ():
            field = cls.model_fields.get(key)
            found = _misplaced_boolean(field.annotation, value) if field is not None else None
            if found is not None:
                where, boolean = found
                raise ValueError(f"{key}{where}: must not be true/false, got {str(boolean).lower()}")
        return data


class Component(NoBooleanNumbers):
    """Base of every config class: unknown keys are errors and a config never changes after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring: the one-line description ``sciml list`` shows."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


class DataConfig(Component):
    """A generator (or loader) of a dataset of independent samples.

    Subclasses set ``version`` (bump it whenever the same parameters would produce different arrays:
    it is part of the cache key) and ``batch_size`` (samples per :meth:`sample` call, which bounds
    peak memory during generation). ``role`` says what a sample is, for the tasks that declare
    :attr:`TaskConfig.data_roles`: ``"fields"`` (input and output fields on a grid), ``"trajectories"``
    (``x``: (trajectory, time, dim) series), ``"linear_system"`` (right-hand sides ``b`` of one masked
    grid system: a shared ``mask`` and the ``operator(mask)`` method of
    :class:`~sciml.components.data.poisson.PoissonData`); ``None`` promises nothing and leaves the
    check to the task when it loads the files.
    """

    version: ClassVar[str] = "1"
    batch_size: ClassVar[int] = 64
    role: ClassVar[str | None] = None

    def split_sizes(self) -> dict[str, int]:
        """Number of samples in each split, e.g. ``{"train": 400, "val": 50, "test": 50}``."""
        raise NotImplementedError

    def split_names(self) -> list[str]:
        """The splits' names, for checks when a spec is validated; a kind whose sizes need its files read
        names them without reading."""
        return list(self.split_sizes())

    def setup(self, seed: int) -> dict[str, np.ndarray]:
        """Arrays shared by every sample (an operator, a mask, a basis), computed once.

        They are stored under ``shared/`` in every split file and passed back to :meth:`sample`.
        """
        return {}

    def sample(
        self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Generate one batch: every array has leading dimension ``len(seeds)``.

        ``seeds[i]`` belongs to one sample and does not depend on how generation is batched or
        sharded, so a sample is reproducible on its own.
        """
        raise NotImplementedError

    def describe_arrays(self) -> dict[str, str]:
        """Meaning, shape and units of each array :meth:`sample` returns; stored as HDF5 attributes."""
        return {}

    def snapshot_arrays(self) -> tuple[str, ...] | None:
        """Arrays that hold snapshots of one and the same field, time along the channel axis (what a
        rollout feeds back as its next input), where the spec fixes them; ``None``: not known."""
        return None

    def dirichlet_arrays(self) -> dict[str, PointLayout]:
        """Arrays that vanish on the boundary of the unit box (homogeneous Dirichlet data), each with the layout
        of its grid points (``vertex``, ``cell`` or ``interior``, see :mod:`sciml.components.grids`); empty:
        none, or not known."""
        return {}

    def series_dim(self) -> int | None:
        """State dimension of the trajectories (``trajectories`` data, their last axis) where the spec
        fixes it; ``None``: not known until the files are read."""
        return None

    def series_lengths(self) -> dict[str, int] | None:
        """Time points of each split's trajectories (``trajectories`` data) where the spec fixes them, for
        the tasks' checks before any data exists; ``None``: not known until the files are read."""
        return None

    def grid_dims(self) -> int | None:
        """Grid axes of the field arrays (those after sample and channel) where the spec fixes them, so that
        tasks can check a spec before any data exists; ``None``: not known until the files are read."""
        return None

    def input_files(self) -> list[str]:
        """The files the arrays are read from, as the spec gives them: their contents are part of the
        cache key (a file changed in place is read again) and dependencies of the DVC generate stage."""
        return []


class ModelConfig(Component):
    """A network. ``role`` says which tasks can train it (e.g. ``"field"`` for field-to-field maps)."""

    role: ClassVar[str] = "field"

    def build(self, **dims: Any) -> torch.nn.Module:
        """Build the module; the task passes the dimensions it knows (channels, spatial dims, ...)."""
        raise NotImplementedError

    def check_grid(self, dims: int) -> None:
        """Raise ``ValueError("<field>: <problem>")`` if the network cannot take fields on grids with
        ``dims`` axes; called at validation where the data kind knows its grid, else by the task."""

    def check_series(self, dim: int) -> None:
        """Raise ``ValueError("<field>: <problem>")`` if the network cannot model series of ``dim``-dimensional
        states; called at validation where the data kind knows the dimension, else by the task."""


class TaskConfig(Component):
    """A training objective: builds the LightningModule that trains a model on a dataset.

    ``role`` names the interface the trained task offers evaluators (``"operator"``: field-to-field
    predictions of the dataset's splits; ``"dcdm"``: a network proposing solver directions; ``"dsr"``:
    a generative dynamical model); ``None`` promises none, so only evaluators for any task accept it.
    ``data_roles``: the :attr:`DataConfig.role` values it trains on (data without a role is let through);
    ``None``: any data.
    """

    model_roles: ClassVar[tuple[str, ...]] = ("field",)
    role: ClassVar[str | None] = None
    data_roles: ClassVar[tuple[str, ...] | None] = None

    def check(self, spec: SpecBase) -> None:
        """Raise ``ValueError("<field>: <problem>")`` (a field of ``task``) if it cannot train on ``spec``'s data.

        Called when the spec is validated, before anything is generated or trained.
        """

    def build(self, spec: SpecBase, dataset: DatasetFiles) -> Any:
        """Return a ``sciml.components.tasks.module.TaskModule`` (a ``LightningModule``)."""
        raise NotImplementedError


class EvaluationConfig(Component):
    """An evaluator: measures a trained task and writes plots; ``name`` prefixes its metrics.

    ``task_roles``: the task roles (:attr:`TaskConfig.role`) it can measure; ``None``: any task.
    """

    task_roles: ClassVar[tuple[str, ...] | None] = None

    name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="prefix of its metrics and plot files (default: the kind)"
    )

    @property
    def prefix(self) -> str:
        """The prefix of this evaluator's metric names in ``metrics.json``."""
        return self.name or self.kind

    def check(self, spec: SpecBase) -> None:
        """Raise ``ValueError("<field>: <problem>")`` (a field of this section) if it cannot run on ``spec``.

        Called when the spec is validated, before anything is generated or trained.
        """

    def evaluate(self, context: EvaluationContext) -> dict[str, float]:
        """Return flat metrics (``{"test/rel_l2": 0.02, ...}``); write files under ``context.plots_dir``."""
        raise NotImplementedError

    def plot_tables(self) -> list[tuple[str, str, str | list[str]]]:
        """The CSVs :meth:`evaluate` writes under ``plots/`` as ``(file name, x column, y column(s))``.

        ``sciml dvc write`` declares them as DVC plots; an evaluator that writes none returns ``[]``.
        """
        return []

    def input_files(self) -> list[str]:
        """The files :meth:`evaluate` reads besides the run and its dataset, as the spec gives them:
        dependencies of the DVC evaluate stage."""
        return []


@dataclass(frozen=True)
class DatasetFiles:
    """A generated dataset: one HDF5 file per split, all complete."""

    root: Path
    splits: dict[str, Path]
    key: str

    def path(self, split: str) -> Path:
        """The file of ``split``; a clear error if the generator has no such split."""
        if split not in self.splits:
            raise KeyError(f"dataset {self.root} has no split {split!r}; it has {sorted(self.splits)}")
        return self.splits[split]


@dataclass
class EvaluationContext:
    """What an evaluator gets: the spec, the trained task (eval mode, on ``device``) and where to write.

    ``progress(label, done, total)`` drives the evaluation progress bar; call it as work completes.
    """

    spec: SpecBase
    task: Any
    dataset: DatasetFiles
    run_dir: Path
    device: Any
    progress: Callable[[str, int, int], None] = lambda label, done, total: None
    plots_dir: Path | None = None  # where evaluators write files; default ``run_dir / "plots"``

    def __post_init__(self) -> None:
        self.plots_dir = self.plots_dir or self.run_dir / "plots"
