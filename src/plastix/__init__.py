"""plastix: biologically plausible local learning rules on one graph network description."""

import importlib
import importlib.metadata

from . import config as config
from . import data as data
from . import local as local
from . import memory as memory
from . import models as models
from . import nn as nn
from . import rules as rules
from . import train as train
from ._errors import CheckpointError as CheckpointError
from ._errors import ConfigError as ConfigError
from ._errors import DataError as DataError
from ._errors import DivergenceError as DivergenceError
from ._errors import GraphError as GraphError
from ._errors import PlastixError as PlastixError
from ._errors import ShapeError as ShapeError
from ._option import option as option
from .graph import Edge as Edge
from .graph import Network as Network
from .graph import edge as edge
from .inference import Inference as Inference
from .inference import InferenceInfo as InferenceInfo
from .inference import ODEInference as ODEInference
from .rules import BP as BP
from .rules import CHL as CHL
from .rules import DFA as DFA
from .rules import DRTP as DRTP
from .rules import DTP as DTP
from .rules import EP as EP
from .rules import FA as FA
from .rules import FF as FF
from .rules import PC as PC
from .rules import TP as TP
from .rules import BinaryCrossEntropy as BinaryCrossEntropy
from .rules import BiPC as BiPC
from .rules import CrossEntropy as CrossEntropy
from .rules import Dropout as Dropout
from .rules import HolomorphicEP as HolomorphicEP
from .rules import HybridPC as HybridPC
from .rules import IncrementalPC as IncrementalPC
from .rules import NudgeSign as NudgeSign
from .rules import Nudging as Nudging
from .rules import PCMode as PCMode
from .rules import PCVariables as PCVariables
from .rules import Rule as Rule
from .rules import SignSymmetry as SignSymmetry
from .rules import SquaredError as SquaredError
from .rules import TanhPower as TanhPower
from .train import Trainer as Trainer

try:
    __version__ = importlib.metadata.version("plastix")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> object:
    """``plastix.viz`` (matplotlib) loads on first use, so ``import plastix`` and ``plastix
    --help`` stay fast."""
    if name == "viz":
        return importlib.import_module(".viz", __name__)
    raise AttributeError(f"module 'plastix' has no attribute {name!r}")
