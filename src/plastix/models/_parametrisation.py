r"""Parametrisations: where a network's scalings live (initialisation or forward pass).

A parametrisation rewrites the dense layers of an edge list. Under the standard one the
weights carry the scale (:class:`~plastix.nn.Linear`, :math:`U(\pm 1/\sqrt{n_{in}})`); under
the μP family (:class:`MuPC`, :class:`NTP`) the weights are :math:`\mathcal{N}(0, 1)` and the
forward pass is scaled (:class:`~plastix.nn.ScaledLinear`), by depth as well as width, so that
activities, errors and updates stay :math:`O(1)` as the network grows. The scalings follow
the network's graph, so they apply to any network, residual (skip) edges and nodes fed by
several edges included; every rule and the evaluation see the same forward pass.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx

from .. import nn
from .._errors import ConfigError, GraphError
from ..graph import Edge


class AbstractParametrisation(eqx.Module):
    """How the dense layers of a network are scaled; ``name`` is how a configuration names
    it. :meth:`apply` rewrites an edge list."""

    name: ClassVar[str]

    @abc.abstractmethod
    def apply(self, edges: Sequence[Edge]) -> list[Edge]:
        """The edges with their dense layers parametrised."""


class Standard(AbstractParametrisation):
    r"""The standard parametrisation: the edges as they are (a :class:`~plastix.nn.Linear`
    layer initialised :math:`U(\pm 1/\sqrt{n_{in}})`, no scale in the forward pass).

    >>> import plastix as px
    >>> edges = px.models.mlp(10, hidden=(8,))
    >>> px.models.Standard().apply(edges) == edges
    True
    """

    name: ClassVar[str] = "standard"

    def apply(self, edges: Sequence[Edge]) -> list[Edge]:
        return list(edges)


class _Graph:
    """What a parametrisation needs to know of an edge list: each edge's role."""

    def __init__(self, edges: Sequence[Edge]) -> None:
        nodes = {e.src for e in edges} | {d for e in edges for d in e.dst}
        targets = {d for e in edges for d in e.dst}
        sources = {e.src for e in edges}
        inputs = sorted(nodes - targets)
        outputs = sorted(nodes - sources)
        if len(inputs) != 1 or len(outputs) != 1:
            raise GraphError(
                f"a parametrisation needs one input and one output node; the edges have nodes "
                f"without incoming edges {inputs} and without outgoing edges {outputs}."
            )
        self.input, self.output = inputs[0], outputs[0]
        self.skip = [_is_skip(e.layer) for e in edges]
        self.dense = [len(_dense_layers(e.layer)) for e in edges]
        # in-degree of each node counted over the edges that carry weights
        self.weighted_in = {n: 0 for n in nodes}
        self.merge = set()  # nodes where a residual (identity) edge joins weighted edges
        for i, e in enumerate(edges):
            for d in e.dst:
                if self.skip[i]:
                    self.merge.add(d)
                elif self.dense[i]:
                    self.weighted_in[d] += 1
        self.depth = self._longest(edges)

    def _longest(self, edges: Sequence[Edge]) -> int:
        """Dense layers on the longest input -> output path (the network's depth L), by a
        topological sweep."""
        waiting = {n: 0 for n in self.weighted_in}
        for e in edges:
            for d in e.dst:
                waiting[d] += 1
        best, ready = {self.input: 0}, [self.input]
        while ready:
            n = ready.pop()
            for i, e in enumerate(edges):
                if e.src != n:
                    continue
                for d in e.dst:
                    best[d] = max(best.get(d, 0), best[n] + self.dense[i])
                    waiting[d] -= 1
                    if waiting[d] == 0:
                        ready.append(d)
        if any(waiting.values()):
            raise GraphError(
                "a parametrisation needs an acyclic network (its depth is the longest path)."
            )
        return max(best[self.output], 1)


def _is_skip(layer: nn.Layer) -> bool:
    """An identity edge: the residual stream."""
    if isinstance(layer, nn.Sequential):
        return all(_is_skip(l) for l in layer.layers)
    return isinstance(layer, nn.Identity)


_WEIGHTED = (nn.Linear, nn.ScaledLinear, nn.Conv2d, nn.ScaledConv2d)


def _dense_layers(layer: nn.Layer) -> list[nn.Layer]:
    """The weighted layers of an edge: dense and convolutional (a convolution's fan-in is
    :math:`k_h k_w c_{in}`)."""
    if isinstance(layer, nn.Sequential):
        return [d for l in layer.layers for d in _dense_layers(l)]
    if isinstance(layer, _WEIGHTED):
        return [layer]
    if isinstance(layer, (nn.HebbianLayer, nn.EqxModule)):
        raise ConfigError(
            f"{type(layer).__name__} edges cannot be parametrised (dense and convolutional "
            "layers only): use parametrisation 'standard' for this network."
        )
    return []


class _DepthMuP(AbstractParametrisation):
    r"""The μP family for predictive coding (Innocenti, Achour & Buckley 2025, Table 1;
    jpc's ``param_type``), generalised to graphs as fabricpc does: weights
    :math:`\mathcal{N}(0, 1)`, and each dense or convolutional layer scaled in the forward
    pass by (a convolution's :math:`n_{in}` is its fan-in :math:`k_h k_w c_{in}`, as in
    Depth-μP for convolutions)

    - :math:`1/\sqrt{n_{in} K}` (``K``: the weighted edges into its node);
    - :math:`1/\sqrt{n_{in} K L}` into a node a residual (identity) edge also feeds, ``L``
      the depth: the dense layers on the longest input -> output path;
    - the readout (edges into the output node) :math:`1/(n_{in}^{p} \sqrt{K})`.

    Identity (skip) edges are unscaled. A dense layer inside an edge before its last one is
    scaled :math:`1/\sqrt{n_{in}}`.
    """

    readout_power: ClassVar[float]

    def apply(self, edges: Sequence[Edge]) -> list[Edge]:
        g = _Graph(edges)
        out = []
        for i, e in enumerate(edges):
            if g.skip[i] or not g.dense[i]:
                out.append(e)
                continue
            roles = {self._role(g, d) for d in e.dst}
            if len(roles) != 1:
                raise GraphError(
                    f"edge {i} ({e!r}) feeds nodes that need different scalings {sorted(roles)}; "
                    "split it into one edge per destination."
                )
            ((power, multiplier),) = roles
            layer = _rewrite(e.layer, power, multiplier, [g.dense[i]])
            out.append(Edge(layer, e.src, e.dst))
        return out

    def _role(self, g: _Graph, node: int) -> tuple[float, float]:
        k = g.weighted_in[node]
        power = self.readout_power if node == g.output else 0.5
        multiplier = 1.0 / math.sqrt(k * (g.depth if node in g.merge else 1))
        return power, multiplier


def _rewrite(layer: nn.Layer, power: float, multiplier: float, left: list[int]) -> nn.Layer:
    """``layer`` with each dense layer made a :class:`~plastix.nn.ScaledLinear` and each
    convolution a :class:`~plastix.nn.ScaledConv2d`: the last one (``left[0]`` counts down)
    with the edge's scaling, earlier ones ``1/sqrt(n_in)``."""
    if isinstance(layer, nn.Sequential):
        return nn.Sequential([_rewrite(l, power, multiplier, left) for l in layer.layers])
    if isinstance(layer, _WEIGHTED):
        left[0] -= 1
        last = left[0] == 0
        p, c = (power, multiplier) if last else (0.5, 1.0)
        if isinstance(layer, (nn.Conv2d, nn.ScaledConv2d)):
            return nn.ScaledConv2d(
                layer.out_channels,
                layer.kernel_size,
                layer.stride,
                layer.padding,
                use_bias=layer.use_bias,
                fan_in_power=p,
                multiplier=c,
            )
        return nn.ScaledLinear(
            layer.out_features, fan_in_power=p, multiplier=c, use_bias=layer.use_bias
        )
    return layer


class MuPC(_DepthMuP):
    r"""μPC (Innocenti, Achour & Buckley, NeurIPS 2025): Depth-μP for predictive coding.
    On jpc's residual MLP (:class:`ResidualMLP`) the scalings are the paper's,
    :math:`a_1 = 1/\sqrt{D}`, :math:`a_\ell = 1/\sqrt{N L}`, :math:`a_L = 1/N`, with
    :math:`\mathcal{N}(0, 1)` weights; on other graphs, see :class:`_DepthMuP`'s rules
    (readout :math:`1/(n_{in}\sqrt{K})`).

    >>> import plastix as px
    >>> edges = px.models.MuPC().apply(px.models.ResidualMLP(width=8, depth=4).edges(10))
    >>> edges[-1].layer.layers[-1].fan_in_power
    1.0
    """

    name: ClassVar[str] = "mupc"
    readout_power: ClassVar[float] = 1.0


class NTP(_DepthMuP):
    r"""The neural tangent parametrisation with the depth scaling of :class:`MuPC`: the same
    scalings except the readout, :math:`a_L = 1/\sqrt{N}` (jpc's ``"ntp"``; its weights are
    :math:`\mathcal{N}(0, 1)` here, the textbook NTP)."""

    name: ClassVar[str] = "ntp"
    readout_power: ClassVar[float] = 0.5


PARAMETRISATIONS: tuple[type[AbstractParametrisation], ...] = (Standard, MuPC, NTP)
"""The parametrisations a configuration can name."""
