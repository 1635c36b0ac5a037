"""Training: the Trainer, its options, weight optimizers as option objects, checkpoints."""

from ._checkpoint import CHECKPOINT_FORMAT as CHECKPOINT_FORMAT
from ._checkpoint import atomic_write_text as atomic_write_text
from ._checkpoint import latest_checkpoint as latest_checkpoint
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._ff_report import ff_layer_report as ff_layer_report
from ._generation import generation_quality as generation_quality
from ._optim import OPTIMIZERS as OPTIMIZERS
from ._optim import SCHEDULES as SCHEDULES
from ._optim import SGD as SGD
from ._optim import AbstractOptimizer as AbstractOptimizer
from ._optim import AbstractSchedule as AbstractSchedule
from ._optim import Adam as Adam
from ._optim import AdamW as AdamW
from ._optim import Constant as Constant
from ._optim import HoldLinear as HoldLinear
from ._optim import RMSprop as RMSprop
from ._optim import WarmupCosine as WarmupCosine
from ._options import TrainOptions as TrainOptions
from ._run_dir import RunLock as RunLock
from ._run_dir import config_differences as config_differences
from ._run_dir import read_run_config as read_run_config
from ._trainer import Trainer as Trainer
from ._trainer import local_shards as local_shards
