"""Task kind ``operator``: supervised learning of a solution operator from pairs of fields."""

from __future__ import annotations

from typing import Literal

from sciml.components.base import TaskConfig


class OperatorTaskConfig(TaskConfig):
    """Supervised operator learning: fields x -> fields y, relative L2 loss, normalized inputs and outputs."""

    kind: Literal["operator"] = "operator"
    input_key: str = "x"
    output_key: str = "y"
    loss: Literal["rel_l2", "mse"] = "rel_l2"
    normalize: bool = True

    model_roles = ("field",)

    def build(self, spec, dataset):
        from sciml.components.tasks.operator_module import OperatorModule

        return OperatorModule(self, spec.model, spec.train, dataset)
