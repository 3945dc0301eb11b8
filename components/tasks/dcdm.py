"""Task kind ``dcdm``: train a network whose output is a good conjugate-direction for A x = b, without labels."""

from __future__ import annotations

from typing import Literal

from sciml.components.base import TaskConfig


class DCDMTaskConfig(TaskConfig):
    """DCDM (Kaneda et al. 2023): scale-invariant loss mean ||b - A q (q.b)/(q.Aq)||^2, q = net(b); data kind poisson."""

    kind: Literal["dcdm"] = "dcdm"

    model_roles = ("field", "preconditioner")
    role = "dcdm"
    data_roles = ("linear_system",)

    def build(self, spec, dataset):
        from sciml.components.tasks.dcdm_module import DCDMModule

        return DCDMModule(spec.data, spec.model, spec.train, dataset)
