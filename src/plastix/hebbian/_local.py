r"""The classic local rules (Hebb, Oja, Sanger, WTA, Krotov-Hopfield, BCM) as network rules:
dense Hebbian blocks learn without labels for ``hebbian_epochs``, then a linear read-out
learns on the frozen features, exactly as :class:`~plastix.hebbian.SoftHebb` (same phases,
blocks, batch norm, read-out and CLI options); only the plastic update differs.

Block :math:`l` with weights :math:`W` sees its standardised input :math:`\hat x` and moves
by plain SGD on the rule's update in gradient form,
:math:`W \leftarrow W - \eta_l\, g(W, \hat x)` with :math:`g = -\Delta W` from
:func:`~plastix.hebbian.hebb`, :func:`~plastix.hebbian.oja`, :func:`~plastix.hebbian.sanger`,
:func:`~plastix.hebbian.wta`, :func:`~plastix.hebbian.krotov_hopfield` or
:func:`~plastix.hebbian.bcm` (whose sliding threshold lives in the block's parameters as
``theta``). With ``normalise_step`` (the default) the step is divided by its largest entry
first (as Krotov & Hopfield's code does); the default rate is ``lr=(0.02,)`` for every block
(the ``hebbian-mnist`` recipe). Python and ``plastix train --rule hebbian`` share these
defaults (one class, one set of fields).

>>> import jax, jax.numpy as jnp, optax, plastix as px
>>> from plastix.hebbian import HebbDense, LocalHebbian, LocalUpdate
>>> net = px.Network.from_example(
...     [px.edge(HebbDense(units=4), [0, 1]), px.edge(px.nn.Linear(3), [1, 2])], jnp.zeros((1, 6)))
>>> rule = LocalHebbian(update=LocalUpdate.SANGER, lr=0.01, hebbian_steps=5)
>>> params = rule.init_params(net, key=jax.random.key(0))
>>> opt = optax.adam(1e-3)
>>> p, o, m = rule.step(net, params, opt.init(params), opt, (jnp.ones((2, 6)), jnp.eye(3)[:2]))
>>> int(m["hebbian"])
1
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, final

import jax.numpy as jnp
from jaxtyping import Array

from .._errors import GraphError
from .._option import option
from ..graph import Network
from ..nn import HebbDense, HebbianLayer, Params
from ._rules import bcm, hebb, krotov_hopfield, oja, sanger, wta
from ._softhebb import AbstractHebbianRule, neuron_norms


class LocalUpdate(enum.Enum):
    """Which local rule a :class:`LocalHebbian` block learns with."""

    HEBB = "hebb"  #: plain Hebb with weight decay
    OJA = "oja"  #: Oja's rule per unit (each unit finds the first principal component)
    SANGER = "sanger"  #: the generalised Hebbian algorithm (the top principal components)
    WTA = "wta"  #: hard winner-take-all (online k-means)
    KROTOV_HOPFIELD = "krotov-hopfield"  #: ranking rule with anti-Hebbian k-th unit
    BCM = "bcm"  #: BCM with a sliding threshold


@final
class LocalHebbian(AbstractHebbianRule):
    """Dense Hebbian blocks trained by a classic local rule, then a linear read-out (see the
    module docstring). ``lr`` takes one value or one per block; the phases, read-out and
    micro-batches are :class:`~plastix.hebbian.AbstractHebbianRule`'s."""

    name: ClassVar[str] = "hebbian"

    # the dense rules' own rate (SoftHebb's default is its three conv blocks'); the
    # measured hebbian-mnist recipe
    lr: float | tuple[float, ...] = option(
        (0.02,), help="learning rate of the blocks' SGD step (one value, or one per block)"
    )
    update: LocalUpdate = option(
        LocalUpdate.KROTOV_HOPFIELD, help="hebb | oja | sanger | wta | krotov-hopfield | bcm"
    )
    normalise_step: bool = option(
        True, help="divide each step by its largest entry (Krotov & Hopfield)"
    )
    kh_p: float = option(3.0, help="Krotov-Hopfield: the Lebesgue norm p")
    kh_k: int = option(2, help="Krotov-Hopfield: rank of the anti-Hebbian unit")
    kh_delta: float = option(0.4, help="Krotov-Hopfield: strength of the anti-Hebbian update")
    hebb_decay: float = option(0.1, help="hebb: weight decay lambda that bounds the weights")
    bcm_tau: float = option(100.0, help="bcm: time constant (in steps) of the sliding threshold")
    init_norm: float | None = option(
        1.0,
        help="rescale each unit's initial weights to this norm (null: the block's own init, "
        "norm init_radius; the PCA rules diverge from SoftHebb's radius 25)",
    )

    def _check_blocks(self, net: Network, blocks: tuple[int, ...]) -> None:
        bad = [i for i in blocks if not isinstance(net.edges[i].layer, HebbDense)]
        if bad:
            raise GraphError(
                f"the {self.update.value} rule trains dense Hebbian blocks (HebbDense); edge(s) "
                f"{bad} are not. Use models.softhebb_mlp (model softhebb-mlp), or SoftHebb for "
                "conv blocks."
            )

    def _init_blocks(self, net: Network, params: Any) -> Any:
        hebb_edges, _ = self.blocks(net)
        layers = list(params["layers"])
        for i in hebb_edges:
            p = dict(layers[i])
            if self.init_norm is not None:
                p["w"] = self.init_norm * p["w"] / neuron_norms(p["w"])[None, :]
            if self.update is LocalUpdate.BCM:
                p["theta"] = jnp.zeros((p["w"].shape[-1],), jnp.float32)
            layers[i] = p
        return {**params, "layers": tuple(layers)}

    def local_grads(self, w: Array, xn: Array, theta: Array | None) -> tuple[Array, Array | None]:
        """The rule's update in gradient form (``-ΔW``) and BCM's new threshold."""
        u = self.update
        if u is LocalUpdate.HEBB:
            return hebb(w, xn, decay=self.hebb_decay), None
        if u is LocalUpdate.OJA:
            return oja(w, xn), None
        if u is LocalUpdate.SANGER:
            return sanger(w, xn), None
        if u is LocalUpdate.WTA:
            return wta(w, xn), None
        if u is LocalUpdate.KROTOV_HOPFIELD:
            return krotov_hopfield(w, xn, p=self.kh_p, k=self.kh_k, delta=self.kh_delta), None
        assert theta is not None
        return bcm(w, theta, xn, tau=self.bcm_tau)

    def _block_update(
        self, l: int, n_blocks: int, layer: HebbianLayer, p: Params, xn: Array, lr: float
    ) -> tuple[dict[str, Array], Array]:
        """The local rule's SGD step on one block (its update in gradient form)."""
        g, theta = self.local_grads(p["w"], xn, p.get("theta"))
        if self.normalise_step:
            g = g / (jnp.max(jnp.abs(g)) + 1e-30)
        new = {**p, "w": p["w"] - lr * g}
        if theta is not None:
            new["theta"] = theta
        return new, layer.weighted_input(p["w"], xn)
