"""Memory and spiking plasticity, with the CANNs library's trainer interface (``train`` /
``predict`` / ``predict_batch`` / ``configure_progress``): Hopfield associative memory with a
unit threshold (:class:`Hopfield`, Hebbian storage by :class:`HopfieldTrainer`, alias
:data:`HebbianTrainer`, anti-Hebbian unlearning by :class:`AntiHebbianTrainer`, capacity
curves), STDP on leaky integrate-and-fire neurons (:class:`LIF`, :class:`STDP`,
:func:`lif_stdp`, :class:`STDPTrainer`) and :class:`LocalTrainer` for the local updates of
:mod:`plastix.local` on a single weight matrix."""

from ._hopfield import AbstractStorageTrainer as AbstractStorageTrainer
from ._hopfield import AntiHebbianTrainer as AntiHebbianTrainer
from ._hopfield import HebbianTrainer as HebbianTrainer
from ._hopfield import Hopfield as Hopfield
from ._hopfield import HopfieldTrainer as HopfieldTrainer
from ._hopfield import PatternError as PatternError
from ._hopfield import Unit as Unit
from ._hopfield import Update as Update
from ._hopfield import capacity_curve as capacity_curve
from ._hopfield import energy as energy
from ._hopfield import flip as flip
from ._hopfield import overlap as overlap
from ._hopfield import random_patterns as random_patterns
from ._hopfield import recall as recall
from ._hopfield import sweep as sweep
from ._stdp import LIF as LIF
from ._stdp import STDP as STDP
from ._stdp import STDPTrainer as STDPTrainer
from ._stdp import lif_stdp as lif_stdp
from ._stdp import stdp_trains as stdp_trains
from ._tasks import TASKS as TASKS
from ._tasks import HopfieldTask as HopfieldTask
from ._tasks import PatternSource as PatternSource
from ._tasks import STDPTask as STDPTask
from ._tasks import image_patterns as image_patterns
from ._trainer import LocalTrainer as LocalTrainer
