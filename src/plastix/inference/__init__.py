"""State relaxation (inference) for energy-based rules."""

from ._inference import Inference as Inference
from ._inference import InferenceInfo as InferenceInfo
