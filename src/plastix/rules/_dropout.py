"""Dropout on a network's node activities, for the rules that run its feedforward pass."""

from __future__ import annotations

from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError
from .._option import option
from ..graph import Network


@final
class Dropout(eqx.Module):
    r"""Dropout (Srivastava et al. 2014) on node activities during training: each unit of the
    input node is kept with probability :math:`1 - p_{in}`, each unit of every hidden node
    with :math:`1 - p_h`, and kept units are scaled by :math:`1/(1 - p)` (inverted dropout), so
    evaluation runs the network unchanged. A node's activity becomes :math:`m \odot h` with
    :math:`m_j \in \{0, 1/(1-p)\}`; a rule's error reaching that node passes back through the
    same :math:`m` (dropped units get no update), as backprop's does. The output node is never
    dropped. Without a ``key`` (evaluation, gradient checks) nothing is dropped.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), jnp.zeros((1, 3)))
    >>> masks = px.Dropout(hidden=0.5).masks(net, 4, key=jax.random.key(0))
    >>> masks[0] is None, masks[1].shape, sorted(set(masks[1].ravel().tolist())), masks[2] is None
    (True, (4, 8), [0.0, 2.0], True)
    """

    input: float = option(0.0, help="fraction of the input's units dropped in each training step")
    hidden: float = option(
        0.0, help="fraction of each hidden node's units dropped in each training step"
    )

    def __check_init__(self) -> None:
        for name, p in (("input", self.input), ("hidden", self.hidden)):
            if not 0.0 <= p < 1.0:
                raise ConfigError(f"Dropout {name}={p}: a dropout rate must be in [0, 1) (0: off).")

    @property
    def active(self) -> bool:
        """Does it drop anything?"""
        return self.input > 0 or self.hidden > 0

    def masks(
        self, net: Network, batch: int, *, key: PRNGKeyArray | None
    ) -> tuple[Array | None, ...] | None:
        """One multiplier per node, shape ``(batch, *node_shape)`` (``None`` where the node is
        not dropped); ``None`` when nothing is dropped (inactive, or no ``key``)."""
        if key is None or not self.active:
            return None
        out: list[Array | None] = []
        for n, shape in enumerate(net.node_shapes):
            p = self.input if n == net.input else 0.0 if n == net.output else self.hidden
            if p == 0.0:
                out.append(None)
                continue
            keep = jax.random.bernoulli(jax.random.fold_in(key, n), 1.0 - p, (batch, *shape))
            out.append(jnp.where(keep, jnp.float32(1.0 / (1.0 - p)), jnp.float32(0.0)))
        return tuple(out)


def dropout_option() -> Dropout:
    """The ``dropout`` field of the rules that run the feedforward pass (off by default)."""
    return option(
        default_factory=Dropout,
        help="dropout on the input and hidden nodes while training (rule.dropout.input, "
        "rule.dropout.hidden; 0: off)",
    )
