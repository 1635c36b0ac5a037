"""State relaxation (inference) for energy-based rules."""

from ._inference import SGD as SGD
from ._inference import STATE_OPTIMIZERS as STATE_OPTIMIZERS
from ._inference import AbstractInference as AbstractInference
from ._inference import AbstractStateOptimizer as AbstractStateOptimizer
from ._inference import Inference as Inference
from ._inference import InferenceInfo as InferenceInfo
from ._inference import per_sample_norm as per_sample_norm
from ._ode import INFERENCES as INFERENCES
from ._ode import ODE_SOLVERS as ODE_SOLVERS
from ._ode import ODEInference as ODEInference
