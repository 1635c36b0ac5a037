r"""Coupled learning (Stern, Hexner, Rocks & Liu 2021, "Supervised learning in physical
networks: from machine learning to learning machines").

On the same Hopfield-style energy as EP and CHL (:class:`AbstractEquilibriumRule`): a free
phase relaxes every state to :math:`s^F`; the *clamped* phase holds the output a small step
:math:`\eta` from its free value toward the target,

.. math:: s^C_{\mathrm{out}} = s^F_{\mathrm{out}} + \eta\,(y - s^F_{\mathrm{out}}),

and relaxes the other states from :math:`s^F`; the update is the difference of the two local
energies' parameter derivatives,

.. math:: g = \frac{1}{\eta}\big(\partial_\theta E(s^C) - \partial_\theta E(s^F)\big).

As :math:`\eta \to 0` this is the derivative of :math:`\partial_\theta \Phi(\theta, o)`, with
:math:`\Phi` the energy minimised over the hidden states at output :math:`o`, along
:math:`y - s^F_{\mathrm{out}}` (first-order bias in :math:`\eta`). Where
:math:`\partial^2_{oo}\Phi = I` (no hidden layer, identity :math:`\rho`) that is exactly the
gradient of :math:`\tfrac12\lVert s^F_{\mathrm{out}} - y\rVert^2` at the free equilibrium;
with hidden layers the output's curvature weighs it (Stern et al. compare it with EP, which
nudges the output by a force :math:`\beta (y - s_{\mathrm{out}})` instead of moving it).
CHL is the case :math:`\eta = 1`.
"""

from __future__ import annotations

from typing import Any, ClassVar, final

from jaxtyping import PRNGKeyArray

from .._errors import ConfigError
from .._option import option
from ..graph import Network
from ..inference import Inference
from ..nn import Layer
from ._base import Batch, Metrics
from ._costs import Cost
from ._ep import (
    AbstractEquilibriumRule,
    _cost_option,
    _free_option,
    _nudged_option,
    _persistent_option,
    _rho_option,
)


@final
class CoupledLearning(AbstractEquilibriumRule):
    r"""Coupled learning: the output clamped a fraction ``eta`` of the way from its free value
    to the target, the update the difference of the clamped and free energies' parameter
    derivatives over ``eta`` (module docstring).

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,), activation="identity"),
    ...                               jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> batch = (jnp.ones((4, 3)) * 0.5, jnp.eye(2)[jnp.array([0, 1, 0, 1])])
    >>> grads, _, metrics = px.rules.CoupledLearning(eta=0.1).grads(net, params, None, batch)
    >>> sorted(metrics)
    ['accuracy', 'energy', 'inference_steps', 'loss', 'not_converged', 'residual', 'residual_nudged']
    """

    name: ClassVar[str] = "cl"
    rho: Layer = _rho_option()
    cost: Cost = _cost_option()
    eta: float = option(
        0.1, help="how far the clamped output moves from its free value toward the target"
    )
    free: Inference = _free_option()
    nudged: Inference = _nudged_option()
    persistent: bool = _persistent_option()

    def __check_init__(self) -> None:
        if not 0 < self.eta <= 1:
            raise ConfigError(
                f"CoupledLearning(eta={self.eta!r}): eta must be in (0, 1] (1 is CHL's full "
                "clamp; small values give the local-gradient limit)."
            )

    @property
    def reads_out(self) -> bool:
        """The output is a state (the clamped phase holds it)."""
        return False

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        scale = 1.0 / (self.eta * batch[0].shape[0])
        return self._contrast(
            net, params, state, batch, lambda out, y: out + self.eta * (y - out), scale
        )
