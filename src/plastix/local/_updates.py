r"""The classic local updates as small option objects: what a dense Hebbian block of
:class:`~plastix.local.LocalHebbian` learns with (``LocalHebbian(update=Oja())``).

An update maps a weight matrix :math:`W` ``(in, out)``, a batch of inputs :math:`x`
``(batch, in)`` and its own non-learned state (BCM's sliding threshold; ``None`` for the
others) to the step in gradient form, :math:`g = -\Delta W`, and the new state. Each is the
pure function of the same name in :mod:`plastix.local` with its constants as fields, so a
configuration names it (``rule.update = "bcm"``, ``rule.update.tau = 50``).

>>> import jax.numpy as jnp
>>> from plastix.local import BCM, Oja
>>> w, x = jnp.ones((2, 1)), jnp.array([[1.0, 0.0]])
>>> g, state = Oja()(w, x, None)
>>> g.ravel().tolist(), state
([-0.0, 1.0], None)
>>> bcm = BCM(tau=1.0)
>>> g, theta = bcm(w, x, bcm.init_state(w))
>>> g.ravel().tolist(), theta.tolist()
([-1.0, -0.0], [1.0])
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, final

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .._errors import ConfigError
from .._option import option
from ._functions import bcm, hebb, krotov_hopfield, oja, sanger, wta


class AbstractLocalUpdate(eqx.Module):
    """A local plastic update of a dense weight matrix (see the module docstring). ``name``
    is how configurations choose it."""

    name: ClassVar[str]

    def init_state(self, w: Array) -> Any:
        """The update's initial non-learned state for weights ``w`` (default: none)."""
        del w
        return None

    @abc.abstractmethod
    def __call__(self, w: Array, x: Array, state: Any) -> tuple[Array, Any]:
        """The step in gradient form (``-ΔW``, shape of ``w``) and the new state."""


@final
class Hebb(AbstractLocalUpdate):
    r"""Plain Hebb with weight decay, :math:`\Delta W = \langle x y^\top\rangle - \lambda W`,
    :math:`y = xW` (:func:`~plastix.local.hebb`)."""

    name: ClassVar[str] = "hebb"
    decay: float = option(0.1, help="hebb: weight decay lambda that bounds the weights")

    def __check_init__(self) -> None:
        if self.decay < 0:
            raise ConfigError(f"Hebb decay must be >= 0, got {self.decay}.")

    def __call__(self, w: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return hebb(w, x, decay=self.decay), state


@final
class Oja(AbstractLocalUpdate):
    r"""Oja's rule per unit, :math:`\Delta W_{:j} = \langle y_j(x - y_j W_{:j})\rangle`
    (:func:`~plastix.local.oja`): each unit finds the first principal component."""

    name: ClassVar[str] = "oja"

    def __call__(self, w: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return oja(w, x), state


@final
class Sanger(AbstractLocalUpdate):
    r"""Sanger's generalised Hebbian algorithm (:func:`~plastix.local.sanger`): the units find
    the leading principal components in order."""

    name: ClassVar[str] = "sanger"

    def __call__(self, w: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return sanger(w, x), state


@final
class WTA(AbstractLocalUpdate):
    r"""Hard winner-take-all (online k-means, :func:`~plastix.local.wta`): only the unit with
    the largest :math:`x \cdot W_{:j}` learns, :math:`\Delta W_{:k} = x - W_{:k}`."""

    name: ClassVar[str] = "wta"

    def __call__(self, w: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return wta(w, x), state


@final
class KrotovHopfield(AbstractLocalUpdate):
    r"""Krotov & Hopfield's (2019) ranking rule (:func:`~plastix.local.krotov_hopfield`): the
    unit ranked first by :math:`h_j = \sum_i \mathrm{sign}(W_{ij})|W_{ij}|^{p-1}x_i` is
    Hebbian, the :math:`k`-th anti-Hebbian with strength :math:`\Delta`."""

    name: ClassVar[str] = "krotov-hopfield"
    p: float = option(3.0, help="Krotov-Hopfield: the Lebesgue norm p")
    k: int = option(2, help="Krotov-Hopfield: rank of the anti-Hebbian unit")
    delta: float = option(0.4, help="Krotov-Hopfield: strength of the anti-Hebbian update")

    def __check_init__(self) -> None:
        if self.p < 1 or self.k < 1:
            raise ConfigError(f"KrotovHopfield needs p >= 1 and k >= 1, got {self.p}, {self.k}.")

    def __call__(self, w: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return krotov_hopfield(w, x, p=self.p, k=self.k, delta=self.delta), state


@final
class BCM(AbstractLocalUpdate):
    r"""BCM with a sliding threshold :math:`\theta` (:func:`~plastix.local.bcm`):
    :math:`\Delta W = \langle x y (y - \theta)\rangle`, :math:`\theta \leftarrow \theta +
    (\langle y^2\rangle - \theta)/\tau`. Its state is :math:`\theta`, one per unit, from 0."""

    name: ClassVar[str] = "bcm"
    tau: float = option(100.0, help="bcm: time constant (in steps) of the sliding threshold")

    def __check_init__(self) -> None:
        if self.tau <= 0:
            raise ConfigError(f"BCM tau must be > 0, got {self.tau}.")

    def init_state(self, w: Array) -> Array:
        return jnp.zeros((w.shape[-1],), jnp.float32)

    def __call__(self, w: Array, x: Array, state: Any) -> tuple[Array, Any]:
        return bcm(w, state, x, tau=self.tau)


LOCAL_UPDATES: tuple[type[AbstractLocalUpdate], ...] = (
    Hebb,
    Oja,
    Sanger,
    WTA,
    KrotovHopfield,
    BCM,
)
"""Every local update, by which configurations name them."""
