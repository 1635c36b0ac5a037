r"""Local Hebbian-family rules as pure functions returning updates in gradient form.

Every function here takes a weight matrix ``w`` of shape ``(in, out)`` (the layout of
:class:`plastix.nn.Linear`: :math:`y = x W`) and a batch ``x`` of shape ``(batch, in)``, and
returns ``grads`` with ``w``'s shape such that an optax optimizer's descent step applies the
rule: ``grads = -ΔW`` averaged over the batch, so ``optax.sgd(lr)`` gives
:math:`W \leftarrow W + \eta\,\Delta W`. Rules with a state (BCM's threshold) return it too.
Nothing here touches a global RNG; everything is ``jit``-able and ``vmap``-able.
"""

from __future__ import annotations

import enum

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._errors import ConfigError, ShapeError


class Bound(enum.Enum):
    """How :func:`hebb` keeps plain Hebbian growth bounded.

    ``DECAY``: :math:`\\Delta W = \\langle x y^\\top\\rangle - \\lambda W` (fixed point
    :math:`W^* = \\langle x y^\\top\\rangle/\\lambda` when the post-synaptic activity is
    given or saturating). ``NORMALISE``: the Hebbian step projected on the tangent of the
    unit sphere of each column, so column norms stay constant to first order (for linear
    units and unit columns this is Oja's rule).
    """

    DECAY = "decay"
    NORMALISE = "normalise"


class Similarity(enum.Enum):
    """How :func:`wta` picks the winner: largest ``DOT`` product or smallest ``DISTANCE``."""

    DOT = "dot"
    DISTANCE = "distance"


def _check(w: Array, x: Array, name: str) -> None:
    if w.ndim != 2:
        raise ShapeError(f"{name}: w must be (in, out), got shape {tuple(w.shape)}.")
    if x.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ShapeError(
            f"{name}: x must be (batch, {w.shape[0]}) to match w of shape {tuple(w.shape)}, "
            f"got {tuple(x.shape)}; flatten images first."
        )
    if x.shape[0] == 0:
        raise ShapeError(f"{name}: the batch is empty; pass at least one sample.")


def hebb(
    w: Array,
    x: Array,
    y: Array | None = None,
    *,
    bound: Bound = Bound.DECAY,
    decay: float = 0.1,
) -> Array:
    r"""Plain Hebb, bounded: :math:`\Delta W = \langle x\,y^\top\rangle - \lambda W`
    (``Bound.DECAY``) or :math:`\Delta W_{:j} = \langle x y_j\rangle -
    \frac{\langle W_{:j}, \langle x y_j\rangle\rangle}{\lVert W_{:j}\rVert^2} W_{:j}`
    (``Bound.NORMALISE``). ``y`` defaults to the linear response :math:`x W`.

    Returns ``grads = -ΔW``.

    >>> import jax.numpy as jnp
    >>> from plastix.local import hebb
    >>> hebb(jnp.zeros((2, 1)), jnp.array([[1.0, -1.0]]), jnp.array([[2.0]])).ravel().tolist()
    [-2.0, 2.0]
    """
    _check(w, x, "hebb")
    if y is None:
        y = x @ w
    corr = x.T @ y / x.shape[0]
    if bound is Bound.DECAY:
        dw = corr - decay * w
    else:
        coef = jnp.sum(w * corr, axis=0) / jnp.maximum(jnp.sum(w * w, axis=0), 1e-12)
        dw = corr - coef[None, :] * w
    return -dw


def oja(w: Array, x: Array) -> Array:
    r"""Oja's rule for each output unit :math:`j` independently:
    :math:`\Delta W_{:j} = \langle y_j\,(x - y_j W_{:j})\rangle`, :math:`y = xW`.

    For zero-mean data with covariance :math:`C`, each column converges to a unit-norm
    eigenvector of :math:`C` with the largest eigenvalue (the first principal component).
    Returns ``grads = -ΔW``.

    >>> import jax.numpy as jnp
    >>> from plastix.local import oja
    >>> oja(jnp.array([[1.0], [0.0]]), jnp.array([[1.0, 0.0]])).ravel().tolist()
    [-0.0, -0.0]
    """
    _check(w, x, "oja")
    y = x @ w
    b = x.shape[0]
    dw = x.T @ y / b - w * jnp.sum(y * y, axis=0)[None, :] / b
    return -dw


def sanger(w: Array, x: Array) -> Array:
    r"""Sanger's generalised Hebbian algorithm:
    :math:`\Delta W_{:j} = \langle y_j\,(x - \sum_{k\le j} y_k W_{:k})\rangle`, i.e.
    :math:`\Delta W = \langle x y^\top\rangle - W\,\mathrm{triu}(\langle y y^\top\rangle)`.

    Column :math:`j` converges to the :math:`j`-th principal component (eigenvectors of the
    data covariance in decreasing eigenvalue order). Returns ``grads = -ΔW``.

    >>> import jax.numpy as jnp
    >>> from plastix.local import sanger
    >>> sanger(jnp.eye(2), jnp.array([[1.0, 0.0]])).ravel().tolist()
    [-0.0, -0.0, -0.0, -0.0]
    """
    _check(w, x, "sanger")
    y = x @ w
    b = x.shape[0]
    dw = x.T @ y / b - w @ jnp.triu(y.T @ y / b)
    return -dw


def wta(w: Array, x: Array, *, similarity: Similarity = Similarity.DOT) -> Array:
    r"""Hard winner-take-all competitive learning: only the winner
    :math:`k = \arg\max_j x\cdot W_{:j}` (``DOT``) or :math:`\arg\min_j \lVert x -
    W_{:j}\rVert` (``DISTANCE``) learns, :math:`\Delta W_{:k} = x - W_{:k}` (averaged over
    the batch). Each unit's weights move towards the mean of the inputs it wins (k-means
    with online updates). Returns ``grads = -ΔW``.

    >>> import jax.numpy as jnp
    >>> from plastix.local import wta
    >>> wta(jnp.eye(2), jnp.array([[3.0, 0.0]])).tolist()
    [[-2.0, -0.0], [-0.0, -0.0]]
    """
    _check(w, x, "wta")
    if similarity is Similarity.DOT:
        score = x @ w
    else:
        score = -(jnp.sum(x * x, 1, keepdims=True) - 2 * x @ w + jnp.sum(w * w, 0)[None, :])
    win = jax.nn.one_hot(jnp.argmax(score, axis=1), w.shape[1], dtype=x.dtype)
    b = x.shape[0]
    dw = x.T @ win / b - w * jnp.sum(win, axis=0)[None, :] / b
    return -dw


def krotov_hopfield(
    w: Array,
    x: Array,
    *,
    p: float = 3.0,
    k: int = 2,
    delta: float = 0.4,
    normalise_step: bool = False,
) -> Array:
    r"""Krotov & Hopfield (2019) ranking rule, "Unsupervised learning by competing hidden
    units". Input currents :math:`h_j = \sum_i \mathrm{sign}(W_{ij})|W_{ij}|^{p-1} x_i`;
    the unit ranked first gets :math:`g = 1`, the unit ranked :math:`k`-th gets
    :math:`g = -\Delta` (anti-Hebbian), the others 0;
    :math:`\Delta W_{:j} = \langle g_j\,(x - h_j W_{:j})\rangle`. The weights converge to
    unit :math:`\ell_p`-norm columns. Returns ``grads = -ΔW``; with ``normalise_step``
    the step is divided by its largest absolute entry, as in Krotov & Hopfield's code.

    >>> import jax.numpy as jnp
    >>> from plastix.local import krotov_hopfield
    >>> krotov_hopfield(0.1 * jnp.ones((4, 3)), jnp.ones((2, 4))).shape
    (4, 3)
    """
    _check(w, x, "krotov_hopfield")
    if not 1 <= k <= w.shape[1]:
        raise ShapeError(f"krotov_hopfield: k={k} must be in [1, {w.shape[1]}] (out units).")
    h = x @ (jnp.sign(w) * jnp.abs(w) ** (p - 1))
    b, units = h.shape
    # the first k units by top_k, not a full sort; the barrier keeps XLA:CPU from rewriting a
    # sliced top_k back into a full sort (10x slower at 2000 units)
    top = jax.lax.optimization_barrier(jax.lax.top_k(h, k)[1])
    rows = jnp.arange(b)
    # the correlation <g x> and <g h> as sums over each unit's winning samples (g has at most
    # two non-zeros per sample), not dense products with a mostly-zero g
    idx, sign = top[:, 0], jnp.ones((b,), x.dtype)
    if k > 1:
        idx = jnp.concatenate([idx, top[:, k - 1]])
        sign = jnp.concatenate([sign, jnp.full((b,), -delta, x.dtype)])
        rows = jnp.concatenate([rows, rows])
    gx = jax.ops.segment_sum(sign[:, None] * x[rows], idx, num_segments=units)
    gh = jax.ops.segment_sum(sign * h[rows, idx], idx, num_segments=units)
    dw = gx.T / b - w * gh[None, :] / b
    if normalise_step:
        dw = dw / jnp.maximum(jnp.max(jnp.abs(dw)), 1e-30)
    return -dw


def bcm(
    w: Array, theta: Array, x: Array, *, tau: float = 10.0, rectify: bool = True
) -> tuple[Array, Array]:
    r"""BCM rule with a sliding threshold (Bienenstock, Cooper & Munro 1982; Intrator &
    Cooper 1992): :math:`y = [xW]_+`,

    .. math:: \Delta W = \langle x\,y\,(y - \theta)\rangle,\qquad
              \theta \leftarrow \theta + \tfrac{1}{\tau}(\langle y^2\rangle - \theta).

    Activity above the threshold potentiates, below depresses; the threshold tracks the
    mean squared activity, which makes the stable fixed points *selective*: with :math:`K`
    equiprobable linearly independent inputs, a unit answers one of them with :math:`y = K`
    (then :math:`\theta = y^2/K = y`) and the others with 0. Returns
    ``(grads = -ΔW, new_theta)``; ``theta`` has shape ``(out,)``.

    >>> import jax.numpy as jnp
    >>> from plastix.local import bcm
    >>> g, th = bcm(jnp.ones((2, 1)), jnp.zeros(1), jnp.array([[1.0, 0.0]]), tau=1.0)
    >>> g.ravel().tolist(), th.tolist()
    ([-1.0, -0.0], [1.0])
    """
    _check(w, x, "bcm")
    if theta.shape != (w.shape[1],):
        raise ShapeError(f"bcm: theta must have shape ({w.shape[1]},), got {theta.shape}.")
    y = x @ w
    if rectify:
        y = jax.nn.relu(y)
    b = x.shape[0]
    dw = x.T @ (y * (y - theta[None, :])) / b
    new_theta = theta + (jnp.mean(y * y, axis=0) - theta) / tau
    return -dw, new_theta


def normalise_columns(w: Array, eps: float = 1e-12) -> Array:
    r"""Each column scaled to unit norm, :math:`W_{:j}/\lVert W_{:j}\rVert`: the exact
    normalisation step that keeps :func:`hebb` bounded when applied after each update.

    >>> import jax.numpy as jnp
    >>> from plastix.local import normalise_columns
    >>> normalise_columns(jnp.array([[3.0], [4.0]])).ravel().tolist()
    [0.6000000238418579, 0.800000011920929]
    """
    return w / jnp.maximum(jnp.linalg.norm(w, axis=0, keepdims=True), eps)


def triangle(u: Array, axis: int = -1) -> Array:
    r"""Triangle activation of SoftHebb networks (Journé et al. 2022):
    :math:`\max(0,\ u - \bar u)` with :math:`\bar u` the mean over ``axis`` (channels/units).

    >>> import jax.numpy as jnp
    >>> from plastix.local import triangle
    >>> triangle(jnp.array([[1.0, 2.0, 6.0]])).tolist()
    [[0.0, 0.0, 3.0]]
    """
    return jax.nn.relu(u - jnp.mean(u, axis=axis, keepdims=True))


def softhebb(
    w: Array,
    x: Array,
    *,
    temperature: float = 1.0,
    anti_hebbian: bool = True,
    adaptive: bool = True,
    lr_power: float = 0.5,
) -> Array:
    r"""SoftHebb (Moraitis et al. 2021; Journé et al. 2022, "Hebbian Deep Learning Without
    Feedback"), dense form. Pre-activations :math:`u = xW`, soft winner-take-all
    :math:`y = \mathrm{softmax}(u/T)` over units; with ``anti_hebbian`` every unit but the
    winner :math:`k = \arg\max_j u_j` gets :math:`-y_j` (soft anti-Hebbian plasticity). Then

    .. math:: \Delta W_{:j} = \langle y_j\,(x - u_j W_{:j})\rangle,

    i.e. :math:`dw = y x - (y u) w`, and with ``adaptive`` unit :math:`j`'s step is scaled by
    :math:`(|\lVert W_{:j}\rVert - 1| + 10^{-10})^{p}` (``lr_power`` :math:`p`), so it shrinks
    as the norm approaches 1. Since :math:`\frac{d}{dt}\lVert W_{:j}\rVert^2 = 2\langle y_j
    u_j\rangle(1 - \lVert W_{:j}\rVert^2)`, units with :math:`\langle y_j u_j\rangle > 0`
    (the ones that win) converge to unit norm. Returns ``grads = -ΔW``.

    >>> import jax.numpy as jnp
    >>> from plastix.local import softhebb
    >>> softhebb(jnp.eye(3)[:, :2], jnp.ones((4, 3))).shape
    (3, 2)
    """
    _check(w, x, "softhebb")
    if temperature <= 0:
        raise ConfigError(f"softhebb: temperature={temperature} must be > 0.")
    u = x @ w
    y = jax.nn.softmax(u / temperature, axis=1)
    if anti_hebbian:
        win = jax.nn.one_hot(jnp.argmax(u, axis=1), w.shape[1], dtype=bool)
        y = jnp.where(win, y, -y)
    b = x.shape[0]
    dw = x.T @ y / b - w * jnp.sum(y * u, axis=0)[None, :] / b
    if adaptive:
        norm = jnp.linalg.norm(w, axis=0)
        dw = dw * (jnp.abs(norm - 1.0) + 1e-10)[None, :] ** lr_power
    return -dw
