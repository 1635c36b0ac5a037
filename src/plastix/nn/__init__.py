"""Layers (edges of a network): dense, convolution, pooling, activations, containers."""

from ._layers import ACTIVATIONS as ACTIVATIONS
from ._layers import ELU as ELU
from ._layers import GELU as GELU
from ._layers import AvgPool as AvgPool
from ._layers import Conv2d as Conv2d
from ._layers import EqxModule as EqxModule
from ._layers import Flatten as Flatten
from ._layers import HardSigmoid as HardSigmoid
from ._layers import HardTanh as HardTanh
from ._layers import Identity as Identity
from ._layers import Lambda as Lambda
from ._layers import Layer as Layer
from ._layers import LeakyReLU as LeakyReLU
from ._layers import Linear as Linear
from ._layers import MaxPool as MaxPool
from ._layers import ReLU as ReLU
from ._layers import Reshape as Reshape
from ._layers import Sequential as Sequential
from ._layers import Sigmoid as Sigmoid
from ._layers import Tanh as Tanh
from ._layers import activation as activation
from ._layers import as_layer as as_layer
