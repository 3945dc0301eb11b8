"""Task kind ``dcdm``: train a network whose output is a good conjugate-direction for A x = b, without labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from sciml.components.base import TaskConfig

if TYPE_CHECKING:
    from sciml.pipelines.spec import SpecBase


class DCDMTaskConfig(TaskConfig):
    """DCDM (Kaneda et al. 2023): scale-invariant loss mean ||b - A q (q.b)/(q.Aq)||^2, q = net(b); data kind poisson."""

    kind: Literal["dcdm"] = "dcdm"

    model_roles = ("field",)
    role = "dcdm"

    def check(self, spec: SpecBase) -> None:
        if spec.data.kind != "poisson":
            raise ValueError(f"kind: 'dcdm' trains on data kind 'poisson' (a linear system), got data.kind {spec.data.kind!r}")

    def build(self, spec, dataset):
        from sciml.components.tasks.dcdm_module import DCDMModule

        return DCDMModule(spec.data, spec.model, spec.train, dataset)
