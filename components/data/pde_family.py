"""Shared shape of the PDE-family generators (``darcy``, ``burgers``, ``navier_stokes``, ``helmholtz``).

A family config has a grid ``resolution``, the sizes of the ``train``/``val``/``test`` splits and,
optionally, ``test_resolutions``: extra test splits named ``test_<n>`` with ``test`` samples each,
drawn from the same distribution on an ``n``-point grid, for zero-shot evaluation of a model trained
at ``resolution`` (evaluate them with ``operator_metrics`` ``splits: [test, test_128]``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sciml.components.base import DataConfig
from sciml.pipelines.errors import SpecError


class PDEFamilyData(DataConfig):
    """Base of the PDE-family generators: split sizes and per-split grid resolution."""

    role = "fields"

    resolution: int = Field(64, ge=4, description="grid points per dimension of the train/val/test splits")
    train: int = Field(1000, ge=1, description="training samples")
    val: int = Field(100, ge=1, description="validation samples")
    test: int = Field(200, ge=1, description="test samples")
    test_resolutions: list[Annotated[int, Field(ge=4)]] = Field(
        [], description="extra zero-shot test splits test_<n> at these grid sizes (each >= 4)"
    )

    def split_sizes(self) -> dict[str, int]:
        sizes = {"train": self.train, "val": self.val, "test": self.test}
        sizes.update({f"test_{n}": self.test for n in self.test_resolutions})
        return sizes

    def split_resolution(self, split: str) -> int:
        """Grid size of ``split``: ``resolution``, or ``n`` for a zero-shot split ``test_<n>``."""
        if split in ("train", "val", "test"):
            return self.resolution
        name, _, n = split.partition("_")
        if name == "test" and n.isdigit() and int(n) in self.test_resolutions:
            return int(n)
        raise SpecError(f"data: no split {split!r}; this generator has {sorted(self.split_sizes())}")
