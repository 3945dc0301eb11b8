"""Task kind ``operator``: supervised learning of a solution operator from pairs of fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from sciml.components.base import TaskConfig

if TYPE_CHECKING:
    from sciml.pipelines.spec import SpecBase


class OperatorTaskConfig(TaskConfig):
    """Supervised operator learning: fields x -> fields y, relative L2 loss, normalized inputs and outputs.

    ``loss: h1`` trains on the relative H1 error (the neuraloperator / MgNO Darcy recipe).
    ``rollout: true`` is for time series stored with time as the channel axis (``navier_stokes``):
    the network maps the last ``c_in`` snapshots to the next one and is applied autoregressively,
    feeding its own predictions back, until the ``c_out`` snapshots of ``y`` are produced; the loss is
    taken on the whole rollout (as in the FNO paper's Navier-Stokes experiments). Snapshots share one
    normalization (a scalar mean and standard deviation over all of ``x``) since they are the same field.
    ``transpose: true`` is data augmentation by the axis swap (checked: the fields must be square 2D grids).
    ``hard_dirichlet: true`` multiplies the de-normalized prediction by ``prod_d sin(pi x_d)`` on the data's grid
    (:func:`~sciml.components.grids.dirichlet_envelope`), for outputs that vanish on the unit box's boundary
    (``darcy``, ``helmholtz``, ``poisson_field``). The boundary condition then holds by construction at every
    resolution, and the network never learns the boundary layer in units of its training grid, which is what
    makes a model trained on one grid err at the near-boundary points of a finer one.
    """

    kind: Literal["operator"] = "operator"
    input_key: str = "x"
    output_key: str = "y"
    loss: Literal["rel_l2", "mse", "h1"] = "rel_l2"
    normalize: bool = True
    rollout: bool = Field(False, description="autoregressive one-step model rolled out over y's channels (time)")
    transpose: bool = Field(
        False,
        description="train on each pair or, with probability 1/2, on its transpose (2D square grids): an exact "
        "symmetry where the PDE, domain, grid and data distribution are unchanged by swapping the axes "
        "(Darcy flow with an isotropic coefficient); steps and samples per epoch are unchanged",
    )
    hard_dirichlet: bool = Field(
        False,
        description="predict sin(pi x) sin(pi y) ... times the network's output, so that the prediction vanishes on the "
        "boundary of the unit box at every resolution (data whose output array has zero Dirichlet data: darcy, "
        "helmholtz, poisson_field)",
    )

    model_roles = ("field",)
    role = "operator"
    data_roles = ("fields",)

    def check(self, spec: SpecBase) -> None:
        arrays = spec.data.describe_arrays()  # {} for a generator that does not describe its arrays: checked on loading
        for field, key in (("input_key", self.input_key), ("output_key", self.output_key)):
            if arrays and key not in arrays:
                raise ValueError(f"{field}: data kind {spec.data.kind!r} has no array {key!r}; it has {', '.join(arrays)}")
        snapshots = spec.data.snapshot_arrays()
        if self.rollout and snapshots is not None and not {self.input_key, self.output_key} <= set(snapshots):
            raise ValueError(
                f"rollout: feeds predictions of {self.output_key!r} back as input, so {self.input_key!r} and "
                f"{self.output_key!r} must be snapshots of one field (time as the channel axis); data kind "
                f"{spec.data.kind!r} has such arrays: {', '.join(map(repr, snapshots)) or 'none'}"
            )
        if self.hard_dirichlet:
            if self.rollout:
                raise ValueError("hard_dirichlet: not with rollout (its outputs are fed back as inputs)")
            declared = spec.data.dirichlet_arrays()
            if self.output_key not in declared:
                raise ValueError(
                    f"hard_dirichlet: needs an output that vanishes on the boundary of the unit box; data kind "
                    f"{spec.data.kind!r} declares such arrays: {', '.join(map(repr, declared)) or 'none'}"
                )
        dims = spec.data.grid_dims()
        if self.transpose and dims not in (None, 2):
            raise ValueError(f"transpose: needs fields on square 2D grids; data kind {spec.data.kind!r} makes {dims}D fields")

    def build(self, spec, dataset):
        from sciml.components.tasks.operator_module import OperatorModule

        layout = spec.data.dirichlet_arrays()[self.output_key] if self.hard_dirichlet else None
        return OperatorModule(self, spec.model, spec.train, dataset, dirichlet_layout=layout)
