"""The closed registry of component kinds, fed by entry points.

Four entry-point groups, one per spec section: ``sciml.data`` (``data:``), ``sciml.models``
(``model:``), ``sciml.tasks`` (``task:``) and ``sciml.evaluation`` (``evaluate:``). An entry point's
name is the ``kind`` a spec writes and its value a config class (a subclass of the matching base in
:mod:`sciml.components.base`). A third-party package adds kinds by declaring entry points in its own
metadata; nothing here imports a dotted path found in a spec. Groups load on first use.
"""

from __future__ import annotations

import difflib
import functools
from importlib.metadata import entry_points

from sciml.components.base import Component, DataConfig, EvaluationConfig, ModelConfig, TaskConfig

GROUPS: dict[str, type[Component]] = {
    "data": DataConfig,
    "models": ModelConfig,
    "tasks": TaskConfig,
    "evaluation": EvaluationConfig,
}
SECTIONS = {"data": "data", "models": "model", "tasks": "task", "evaluation": "evaluate"}


class RegistryError(RuntimeError):
    """A broken installation: a duplicate kind, or an entry point that is not a config class."""


@functools.cache
def kinds(group: str) -> dict[str, type[Component]]:
    """All kinds of ``group`` (``"data"``, ``"models"``, ``"tasks"``, ``"evaluation"``), sorted by name."""
    if group not in GROUPS:
        raise KeyError(f"unknown component group {group!r}; groups are {sorted(GROUPS)}")
    found: dict[str, tuple[str, type[Component]]] = {}
    for point in entry_points(group=f"sciml.{group}"):
        if point.name in found:
            if found[point.name][0] == point.value:
                continue  # the same distribution seen twice on sys.path
            raise RegistryError(
                f"duplicate kind {point.name!r} in entry-point group sciml.{group}: "
                f"{found[point.name][0]} and {point.value}; uninstall one of the packages"
            )
        try:
            cls = point.load()
        except Exception as error:  # a broken plugin: name it instead of a traceback from inside it
            raise RegistryError(
                f"entry point {point.name} = {point.value} in sciml.{group} failed to import "
                f"({type(error).__name__}: {error}); fix or uninstall the package that declares it"
            ) from error
        _check_config_class(group, point.name, point.value, cls)
        found[point.name] = (point.value, cls)
    return {name: found[name][1] for name in sorted(found)}


def _check_config_class(group: str, name: str, value: str, cls: object) -> None:
    base = GROUPS[group]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise RegistryError(f"entry point {name} = {value} in sciml.{group} is not a subclass of {base.__name__}")
    default_kind = cls.model_fields["kind"].default
    if default_kind != name:
        raise RegistryError(
            f"entry point {name} = {value} in sciml.{group} declares kind {default_kind!r}; "
            f"the entry-point name and the class's kind must match"
        )


def unknown_kind_message(kind: object, known: dict[str, object]) -> str:
    """``unknown 'fno2', did you mean 'fno'? (known: fno, mgno)``."""
    close = difflib.get_close_matches(str(kind), list(known), n=1)
    hint = f", did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind!r}{hint} (known: {', '.join(known) or 'none registered'})"
