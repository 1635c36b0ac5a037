"""Ready networks: one option class per model (``MLP``, ``ConvPool``, ...) and a function each."""

from ..nn import ACTIVATIONS as ACTIVATIONS
from ..nn import activation as activation
from ._models import ALL_MODELS as ALL_MODELS
from ._models import MLP as MLP
from ._models import MODELS as MODELS
from ._models import AbstractModel as AbstractModel
from ._models import ConvDemo as ConvDemo
from ._models import ConvPool as ConvPool
from ._models import ResidualConvNet as ResidualConvNet
from ._models import ResidualMLP as ResidualMLP
from ._models import SkipMLP as SkipMLP
from ._models import SoftHebbConv as SoftHebbConv
from ._models import SoftHebbMLP as SoftHebbMLP
from ._models import conv_demo as conv_demo
from ._models import conv_pool as conv_pool
from ._models import make_model as make_model
from ._models import mlp as mlp
from ._models import residual_mlp as residual_mlp
from ._models import skip_mlp as skip_mlp
from ._models import softhebb_conv as softhebb_conv
from ._models import softhebb_mlp as softhebb_mlp
from ._parametrisation import NTP as NTP
from ._parametrisation import PARAMETRISATIONS as PARAMETRISATIONS
from ._parametrisation import AbstractParametrisation as AbstractParametrisation
from ._parametrisation import MuPC as MuPC
from ._parametrisation import Standard as Standard
