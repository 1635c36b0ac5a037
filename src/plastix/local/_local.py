r"""The classic local rules (Hebb, Oja, Sanger, WTA, Krotov-Hopfield, BCM) as network rules:
dense Hebbian blocks learn without labels for ``hebbian_epochs``, then a linear read-out
learns on the frozen features, exactly as :class:`~plastix.local.SoftHebb` (same phases,
blocks, batch norm, read-out and CLI options); only the plastic update differs.

Block :math:`l` with weights :math:`W` sees its standardised input :math:`\hat x` and moves
by plain SGD on the rule's update in gradient form,
:math:`W \leftarrow W - \eta_l\, g(W, \hat x)` with :math:`g = -\Delta W` from
:func:`~plastix.local.hebb`, :func:`~plastix.local.oja`, :func:`~plastix.local.sanger`,
:func:`~plastix.local.wta`, :func:`~plastix.local.krotov_hopfield` or
:func:`~plastix.local.bcm`, given as an update object (``update=Oja()``,
:mod:`plastix.local`'s :class:`~plastix.local.AbstractLocalUpdate`; BCM's sliding threshold is
part of the rule's non-learned state). With ``normalise_step`` (the default) the step is divided by its largest entry
first (as Krotov & Hopfield's code does); the default rate is ``lr=(0.02,)`` for every block
(the ``hebbian-mnist`` recipe). Python and ``plastix train --rule hebbian`` share these
defaults (one class, one set of fields).

>>> import jax, jax.numpy as jnp, optax, plastix as px
>>> from plastix.local import HebbDense, LocalHebbian, Sanger
>>> net = px.Network.from_example(
...     [px.edge(HebbDense(units=4), [0, 1]), px.edge(px.nn.Linear(3), [1, 2])], jnp.zeros((1, 6)))
>>> rule = LocalHebbian(update=Sanger(), lr=0.01, hebbian_steps=5)
>>> params, state = rule.init(net, key=jax.random.key(0))
>>> opt = optax.adam(1e-3)
>>> batch = (jnp.ones((2, 6)), jnp.eye(3)[:2])
>>> p, s, o, m = rule.step(net, params, state, opt.init(params), opt, batch)
>>> int(m["hebbian"])
1
"""

from __future__ import annotations

from typing import Any, ClassVar, final

import jax.numpy as jnp
from jaxtyping import Array

from .._errors import GraphError
from .._option import option
from ..graph import Network
from ..nn import HebbDense, HebbianLayer
from ._softhebb import AbstractHebbianRule, neuron_norms
from ._updates import AbstractLocalUpdate, KrotovHopfield


@final
class LocalHebbian(AbstractHebbianRule):
    """Dense Hebbian blocks trained by a classic local rule, then a linear read-out (see the
    module docstring). ``lr`` takes one value or one per block; the phases, read-out and
    micro-batches are :class:`~plastix.local.AbstractHebbianRule`'s."""

    name: ClassVar[str] = "hebbian"

    # the dense rules' own rate (SoftHebb's default is its three conv blocks'); the
    # measured hebbian-mnist recipe
    lr: float | tuple[float, ...] = option(
        (0.02,), help="learning rate of the blocks' SGD step (one value, or one per block)"
    )
    update: AbstractLocalUpdate = option(
        default_factory=KrotovHopfield,
        help="the local update: hebb | oja | sanger | wta | krotov-hopfield | bcm (their "
        "constants as rule.update.<key>)",
    )
    normalise_step: bool = option(
        True, help="divide each step by its largest entry (Krotov & Hopfield)"
    )
    init_norm: float | None = option(
        1.0,
        help="rescale each unit's initial weights to this norm (null: the block's own init, "
        "norm init_radius; the PCA rules diverge from SoftHebb's radius 25)",
    )

    def _check_blocks(self, net: Network, blocks: tuple[int, ...]) -> None:
        bad = [i for i in blocks if not isinstance(net.edges[i].layer, HebbDense)]
        if bad:
            raise GraphError(
                f"the {self.update.name} rule trains dense Hebbian blocks (HebbDense); edge(s) "
                f"{bad} are not. Use models.softhebb_mlp (model softhebb-mlp), or SoftHebb for "
                "conv blocks."
            )

    def _init_blocks(self, net: Network, params: Any) -> tuple[Any, tuple[Any, ...]]:
        hebb_edges, _ = self.blocks(net)
        layers = list(params["layers"])
        u_states = []
        for i in hebb_edges:
            p = dict(layers[i])
            if self.init_norm is not None:
                p["w"] = self.init_norm * p["w"] / neuron_norms(p["w"])[None, :]
            u_states.append(self.update.init_state(p["w"]))
            layers[i] = p
        return {**params, "layers": tuple(layers)}, tuple(u_states)

    def _block_update(
        self,
        l: int,
        n_blocks: int,
        layer: HebbianLayer,
        w: Array,
        xn: Array,
        lr: float | Array,
        u_state: Any,
    ) -> tuple[Array, Array, Any]:
        """The local update's SGD step on one block (its update in gradient form)."""
        g, u_state = self.update(w, xn, u_state)
        if self.normalise_step:
            g = g / (jnp.max(jnp.abs(g)) + 1e-30)
        return w - lr * g, layer.weighted_input(w, xn), u_state
