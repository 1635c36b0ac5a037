"""Ready networks: option classes (one per model, its options as fields) that build edge
lists, and a function per model for Python users."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx

from .. import nn
from .._errors import ConfigError
from .._option import option
from ..graph import Edge, edge
from ..nn import activation
from ._parametrisation import AbstractParametrisation, MuPC


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(a) for a in v)


def _floats(v: Any) -> tuple[float, ...]:
    return tuple(float(a) for a in v)


class AbstractModel(eqx.Module):
    """A network family: its options are fields; :meth:`edges` builds the edge list for a
    number of classes. ``name`` is how a configuration names it."""

    name: ClassVar[str]

    @abc.abstractmethod
    def edges(self, num_classes: int) -> list[Edge]:
        """The network's edges, with an output node of ``num_classes`` units."""


class MLP(AbstractModel):
    r"""Multi-layer perceptron as a chain of nodes ``0 -> 1 -> ... -> L``:
    node :math:`i` predicts :math:`\sigma(W_i z_{i-1} + b_i)`, the output node
    :math:`W_L z_{L-1} + b_L`. The input is flattened by the first edge.

    >>> import plastix as px
    >>> [repr(e) for e in px.models.MLP(hidden=(32,)).edges(10)]
    ['Sequential 0 -> 1', 'Linear 1 -> 2']
    """

    name: ClassVar[str] = "mlp"
    hidden: tuple[int, ...] = option(
        (128, 128, 128), converter=_ints, help="width of each hidden layer"
    )
    activation: nn.Layer = option(
        default_factory=nn.GELU, converter=activation, help="activation of the hidden layers"
    )

    def edges(self, num_classes: int) -> list[Edge]:
        act, hidden = self.activation, self.hidden
        edges = []
        for i, h in enumerate(hidden):
            layers = [nn.Linear(h), act] if i else [nn.Flatten(), nn.Linear(h), act]
            edges.append(edge(nn.Sequential(layers), [i, i + 1]))
        last = nn.Linear(num_classes)
        if not hidden:
            edges.append(edge(nn.Sequential([nn.Flatten(), last]), [0, 1]))
        else:
            edges.append(edge(last, [len(hidden), len(hidden) + 1]))
        return edges


class ResidualMLP(AbstractModel):
    r"""The residual MLP of μPC (Innocenti, Achour & Buckley 2025; jpc's ``make_mlp`` with
    ``make_skip_model``). It has ``depth`` hidden nodes of ``width`` units,

    .. math:: z_1 = a_1 W_1 x, \qquad z_\ell = a_\ell W_\ell\, \phi(z_{\ell-1}) + z_{\ell-1}
              \ (1 < \ell \le H), \qquad \hat y = a_L W_L\, \phi(z_H),

    the activation before each dense layer, an identity (skip) edge into every hidden node but
    the first, no biases. The scalings :math:`a` and the initialisation come from
    ``parametrisation`` (:class:`MuPC` by default; :class:`Standard`: no scalings,
    :math:`U(\pm 1/\sqrt{n_{in}})` weights).

    >>> import plastix as px
    >>> [repr(e) for e in px.models.ResidualMLP(width=16, depth=3).edges(10)]
    ['Sequential 0 -> 1', 'Sequential 1 -> 2', 'Identity 1 -> 2', 'Sequential 2 -> 3', 'Identity 2 -> 3', 'Sequential 3 -> 4']
    """

    name: ClassVar[str] = "residual-mlp"
    width: int = option(128, help="units of every hidden node")
    depth: int = option(16, help="hidden nodes H (the network has H + 1 dense layers)")
    activation: nn.Layer = option(
        default_factory=nn.ReLU, converter=activation, help="activation before each dense layer"
    )
    parametrisation: AbstractParametrisation = option(
        default_factory=MuPC, help="scalings and initialisation: standard | mupc | ntp"
    )

    def __check_init__(self) -> None:
        if not isinstance(self.width, int) or self.width < 1:
            raise ConfigError(f"ResidualMLP(width={self.width!r}): need a positive int.")
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ConfigError(f"ResidualMLP(depth={self.depth!r}): need a positive int.")

    def edges(self, num_classes: int) -> list[Edge]:
        act, n, h = self.activation, self.width, self.depth
        edges = [edge(nn.Sequential([nn.Flatten(), nn.Linear(n, use_bias=False)]), [0, 1])]
        for i in range(1, h):
            edges.append(edge(nn.Sequential([act, nn.Linear(n, use_bias=False)]), [i, i + 1]))
            edges.append(edge(nn.Identity(), [i, i + 1]))
        edges.append(edge(nn.Sequential([act, nn.Linear(num_classes, use_bias=False)]), [h, h + 1]))
        return self.parametrisation.apply(edges)


class ResidualConvNet(AbstractModel):
    r"""A residual convolutional network for μPC at depth, the convolutional
    :class:`ResidualMLP`: a stem convolution (3x3, ``channels``, stride ``stem_stride``), then
    ``depth - 1`` residual blocks

    .. math:: z_\ell = a_\ell\, W_\ell * \phi(z_{\ell-1}) + z_{\ell-1}

    (3x3 convolutions that keep the shape, an identity (skip) edge beside each), and a dense
    read-out of the flattened :math:`\phi(z_H)`; no biases. The scalings :math:`a` and the
    initialisation come from ``parametrisation`` (:class:`MuPC` by default: a convolution's
    fan-in :math:`9 c_{in}` takes the place of the width).

    >>> import plastix as px
    >>> [repr(e) for e in px.models.ResidualConvNet(channels=4, depth=2).edges(10)]
    ['ScaledConv2d 0 -> 1', 'Sequential 1 -> 2', 'Identity 1 -> 2', 'Sequential 2 -> 3']
    """

    name: ClassVar[str] = "residual-conv"
    channels: int = option(16, help="channels of every hidden node")
    depth: int = option(8, help="hidden nodes H (H convolutions and a dense read-out)")
    stem_stride: int = option(2, help="stride of the stem convolution (2: half the image side)")
    activation: nn.Layer = option(
        default_factory=nn.ReLU, converter=activation, help="activation before each layer"
    )
    parametrisation: AbstractParametrisation = option(
        default_factory=MuPC, help="scalings and initialisation: standard | mupc | ntp"
    )

    def __check_init__(self) -> None:
        for key in ("channels", "depth", "stem_stride"):
            v = getattr(self, key)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"ResidualConvNet({key}={v!r}): need a positive int.")

    def edges(self, num_classes: int) -> list[Edge]:
        act, c, h = self.activation, self.channels, self.depth
        conv = lambda stride: nn.Conv2d(c, 3, stride=stride, padding=1, use_bias=False)  # noqa: E731
        edges = [edge(conv(self.stem_stride), [0, 1])]
        for i in range(1, h):
            edges.append(edge(nn.Sequential([act, conv(1)]), [i, i + 1]))
            edges.append(edge(nn.Identity(), [i, i + 1]))
        readout = nn.Sequential([act, nn.Flatten(), nn.Linear(num_classes, use_bias=False)])
        edges.append(edge(readout, [h, h + 1]))
        return self.parametrisation.apply(edges)


class SkipMLP(AbstractModel):
    """The seed's skip-connection MLP (``CorMLP``): 256 -> 128 -> 128 -> classes, where node 1's
    edge feeds nodes 2 and 3 (``adj_mat=[[1, 2], [1, 3]]``), so node 3 sums two edges."""

    name: ClassVar[str] = "skip-mlp"
    activation: nn.Layer = option(
        default_factory=nn.Tanh, converter=activation, help="activation of the hidden layers"
    )

    def edges(self, num_classes: int) -> list[Edge]:
        act = self.activation
        return [
            edge(nn.Sequential([nn.Flatten(), nn.Linear(256), act]), [0, 1]),
            edge(nn.Sequential([nn.Linear(128), act]), [[1, 2], [1, 3]]),
            edge(nn.Sequential([nn.Linear(128), act]), [2, 3]),
            edge(nn.Linear(num_classes), [3, 4]),
        ]


class ConvDemo(AbstractModel):
    """The seed's CIFAR ``ConvDemo``: conv(10, 3x3) tanh maxpool(2, stride 1) -> conv(5, 3x3)
    tanh flatten -> 50 tanh -> 30 tanh -> classes; five edges, nodes 0..5."""

    name: ClassVar[str] = "conv-demo"

    def edges(self, num_classes: int) -> list[Edge]:
        return [
            edge(nn.Sequential([nn.Conv2d(10, 3), nn.Tanh(), nn.MaxPool(2, stride=1)]), [0, 1]),
            edge(nn.Sequential([nn.Conv2d(5, 3), nn.Tanh(), nn.Flatten()]), [1, 2]),
            edge(nn.Sequential([nn.Linear(50), nn.Tanh()]), [2, 3]),
            edge(nn.Sequential([nn.Linear(30), nn.Tanh()]), [3, 4]),
            edge(nn.Linear(num_classes), [4, 5]),
        ]


class ConvPool(AbstractModel):
    """A chain of ``conv 3x3 (padding 1) -> [activation] -> max-pool 2x2`` edges, then a linear
    layer: with the default channels and no activation in the edges, the 4-conv-layer
    network of Laborieux et al. (2021) for equilibrium propagation on CIFAR-10 (EP applies its
    own activation to the states)."""

    name: ClassVar[str] = "conv-pool"
    channels: tuple[int, ...] = option(
        (128, 256, 512, 512), converter=_ints, help="output channels of each conv edge"
    )
    activation: nn.Layer = option(
        default_factory=nn.Identity,
        converter=activation,
        help="activation after each conv (identity: none, as EP's couplings)",
    )

    def edges(self, num_classes: int) -> list[Edge]:
        act = self.activation
        edges = []
        for i, c in enumerate(self.channels):
            layers = [nn.Conv2d(int(c), 3, padding=1), nn.MaxPool(2)]
            if not isinstance(act, nn.Identity):
                layers.insert(1, act)
            edges.append(edge(nn.Sequential(layers), [i, i + 1]))
        n = len(self.channels)
        edges.append(edge(nn.Sequential([nn.Flatten(), nn.Linear(num_classes)]), [n, n + 1]))
        return edges


class SoftHebbConv(AbstractModel):
    """The SoftHebb network of Journé et al. (2022): Hebbian conv blocks (batch norm without
    affine, conv with reflect padding ``k // 2``, triangle to the power ``p``, pooling: ``max``
    = 4x4 stride 2 padding 1, ``avg`` = 2x2 stride 2), then ``Flatten -> Linear`` read-out.
    The defaults are their CIFAR-10 network (96-384-1536 channels)."""

    name: ClassVar[str] = "softhebb-conv"
    channels: tuple[int, ...] = option(
        (96, 384, 1536), converter=_ints, help="output channels of each Hebbian block"
    )
    kernels: tuple[int, ...] = option((5, 3, 3), converter=_ints, help="kernel size per block")
    powers: tuple[float, ...] = option(
        (0.7, 1.4, 1.0), converter=_floats, help="power of the triangle activation per block"
    )
    pools: tuple[str, ...] = option(
        ("max", "max", "avg"), converter=tuple, help="pooling per block: max | avg"
    )

    def __check_init__(self) -> None:
        n = len(self.channels)
        if not (len(self.kernels) == len(self.powers) == len(self.pools) == n) or n == 0:
            raise ConfigError(
                f"softhebb-conv: channels, kernels, powers and pools need one entry per block; "
                f"got {len(self.channels)}, {len(self.kernels)}, {len(self.powers)}, "
                f"{len(self.pools)}."
            )
        for pl in self.pools:
            if pl not in ("max", "avg"):
                raise ConfigError(f"softhebb-conv: unknown pool {pl!r}; choose 'max' or 'avg'.")

    def edges(self, num_classes: int) -> list[Edge]:
        pool_layers = {"max": nn.MaxPool(4, stride=2, padding=1), "avg": nn.AvgPool(2, stride=2)}
        edges = []
        for i, (c, k, pw, pl) in enumerate(
            zip(self.channels, self.kernels, self.powers, self.pools)
        ):
            block = nn.HebbConv2d(
                out_channels=int(c),
                kernel_size=int(k),
                padding=int(k) // 2,
                power=float(pw),
                pool=pool_layers[pl],
            )
            edges.append(edge(block, [i, i + 1]))
        n = len(self.channels)
        edges.append(edge(nn.Sequential([nn.Flatten(), nn.Linear(num_classes)]), [n, n + 1]))
        return edges


class SoftHebbMLP(AbstractModel):
    """Dense Hebbian blocks (batch norm without affine, no bias, the triangle activation by
    default), then a linear read-out. Krotov & Hopfield's network is
    ``SoftHebbMLP(activation=HebbianActivation.RELU, power=4.5, batch_norm=False,
    readout_bias=False)``."""

    name: ClassVar[str] = "softhebb-mlp"
    hidden: tuple[int, ...] = option((2000,), converter=_ints, help="units of each dense block")
    power: float = option(1.0, help="power of the blocks' activation")
    activation: nn.HebbianActivation = option(
        nn.HebbianActivation.TRIANGLE,
        help="the blocks' activation: triangle (SoftHebb) | relu (Krotov & Hopfield) | identity "
        "(linear, for the PCA rules)",
    )
    batch_norm: bool = option(True, help="standardise each block's input (batch norm)")
    init_radius: float = option(
        25.0, help="initial weights init_radius / sqrt(fan_in) * N(0, 1) (norm ~init_radius)"
    )
    readout_bias: bool = option(True, help="the read-out has a bias")

    def edges(self, num_classes: int) -> list[Edge]:
        edges = [
            edge(
                nn.HebbDense(
                    units=int(h),
                    power=float(self.power),
                    activation=self.activation,
                    batch_norm=self.batch_norm,
                    init_radius=float(self.init_radius),
                ),
                [i, i + 1],
            )
            for i, h in enumerate(self.hidden)
        ]
        n = len(self.hidden)
        edges.append(edge(nn.Linear(num_classes, use_bias=self.readout_bias), [n, n + 1]))
        return edges


ALL_MODELS: tuple[type[AbstractModel], ...] = (
    MLP,
    ResidualMLP,
    ResidualConvNet,
    SkipMLP,
    ConvDemo,
    ConvPool,
    SoftHebbConv,
    SoftHebbMLP,
)
"""The models a configuration can name."""
MODELS: dict[str, type[AbstractModel]] = {cls.name: cls for cls in ALL_MODELS}


def make_model(name: str, num_classes: int, **options: Any) -> list[Edge]:
    """The edges of model ``name`` (a key of :data:`MODELS`) with its options."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}.")
    try:
        return MODELS[name](**options).edges(num_classes)
    except TypeError as err:
        raise ConfigError(f"model {name!r}: {err}") from err


def mlp(num_classes: int = 10, **options: Any) -> list[Edge]:
    """:class:`MLP` ``(**options)``'s edges (options ``hidden``, ``activation``).

    >>> import plastix as px
    >>> [repr(e) for e in px.models.mlp(10, hidden=(32,))]
    ['Sequential 0 -> 1', 'Linear 1 -> 2']
    """
    return MLP(**options).edges(num_classes)


def residual_mlp(num_classes: int = 10, **options: Any) -> list[Edge]:
    """:class:`ResidualMLP`'s edges (μPC by default)."""
    return ResidualMLP(**options).edges(num_classes)


def skip_mlp(num_classes: int = 10, **options: Any) -> list[Edge]:
    """:class:`SkipMLP` ``(**options)``'s edges (option ``activation``)."""
    return SkipMLP(**options).edges(num_classes)


def conv_demo(num_classes: int = 10) -> list[Edge]:
    """:class:`ConvDemo`'s edges."""
    return ConvDemo().edges(num_classes)


def conv_pool(num_classes: int = 10, **options: Any) -> list[Edge]:
    """:class:`ConvPool` ``(**options)``'s edges (options ``channels``, ``activation``)."""
    return ConvPool(**options).edges(num_classes)


def softhebb_conv(num_classes: int = 10, **options: Any) -> list[Edge]:
    """:class:`SoftHebbConv` ``(**options)``'s edges (``channels``, ``kernels``, ``powers``,
    ``pools``)."""
    return SoftHebbConv(**options).edges(num_classes)


def softhebb_mlp(num_classes: int = 10, **options: Any) -> list[Edge]:
    """:class:`SoftHebbMLP` ``(**options)``'s edges (options ``hidden``, ``power``)."""
    return SoftHebbMLP(**options).edges(num_classes)
