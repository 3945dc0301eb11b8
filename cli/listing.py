"""``sciml list``: every registered kind with its parameters, defaults and one-line doc (no torch import)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from sciml.pipelines import registry
from sciml.pipelines.errors import SpecError


def print_kinds(group: str | None) -> None:
    """Print one table per group (``data``, ``models``, ``tasks``, ``evaluation``), or just ``group``."""
    if group is not None and group not in registry.GROUPS:
        raise SpecError(f"list: unknown group {group!r}; choose one of {', '.join(registry.GROUPS)}")
    console = Console()
    for name in [group] if group else list(registry.GROUPS):
        table = Table(title=f"{name} (spec section `{registry.SECTIONS[name]}:`)", title_justify="left", show_lines=True)
        for column in ("kind", "description", "parameters (default)"):
            table.add_column(column)
        for kind, cls in registry.kinds(name).items():
            table.add_row(kind, cls.summary(), _parameters(cls))
        console.print(table)


def _parameters(cls) -> str:
    lines = []
    for field_name, field in cls.model_fields.items():
        if field_name == "kind":
            continue
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        note = f"  {field.description}" if field.description else ""
        lines.append(f"{field_name} = {default}{note}")
    return "\n".join(lines)
