"""Ready networks and presets."""

from ._models import ACTIVATIONS as ACTIVATIONS
from ._models import MODEL_OPTIONS as MODEL_OPTIONS
from ._models import MODELS as MODELS
from ._models import activation as activation
from ._models import conv_demo as conv_demo
from ._models import conv_pool as conv_pool
from ._models import make_model as make_model
from ._models import mlp as mlp
from ._models import skip_mlp as skip_mlp
from ._models import softhebb_conv as softhebb_conv
from ._models import softhebb_mlp as softhebb_mlp
