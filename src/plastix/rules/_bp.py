"""Backpropagation: the baseline every local rule is compared with."""

from __future__ import annotations

from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from .._option import option
from ..graph import Network
from ._base import AbstractGradientRule, Batch, Metrics, check_batch
from ._costs import Cost, SquaredError, accuracy
from ._dropout import Dropout, dropout_option


@final
class BP(AbstractGradientRule):
    r"""Backpropagation on the graph's feedforward pass:
    :math:`g = \nabla_\theta \frac{1}{B}\sum_b C(f_\theta(x_b), y_b)`.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example([px.edge(px.nn.Linear(2), [0, 1])], jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> grads, _, metrics = px.BP().grads(net, params, None, (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])]))
    >>> sorted(metrics)
    ['accuracy', 'loss']
    """

    name: ClassVar[str] = "bp"
    cost: Cost = option(default_factory=SquaredError, help="output cost C")
    dropout: Dropout = dropout_option()

    def check(self, net: Network, batch: Batch | None = None) -> None:
        net.require_dag("BP")
        super().check(net, batch)

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        check_batch(net, batch)
        x, y = batch
        masks = self.dropout.masks(net, x.shape[0], key=key)

        def loss_fn(p: Any) -> tuple[jax.Array, jax.Array]:
            out = net.feedforward(p, x, masks=masks)[net.output]
            return jnp.mean(self.cost(out, y)), out

        (loss, out), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
        return g, state, {"loss": loss, "accuracy": accuracy(out, y)}
