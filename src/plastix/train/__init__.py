"""Training: the Trainer, checkpoints, optimizers from options, plots."""

from ._checkpoint import latest_checkpoint as latest_checkpoint
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._ff_plot import ff_layer_report as ff_layer_report
from ._ff_plot import plot_ff_layers as plot_ff_layers
from ._generation import generation_quality as generation_quality
from ._optim import OPTIMIZER_DEFAULTS as OPTIMIZER_DEFAULTS
from ._optim import OPTIMIZER_DOCS as OPTIMIZER_DOCS
from ._optim import make_optimizer as make_optimizer
from ._plot import plot_curves as plot_curves
from ._plot import plot_image_grid as plot_image_grid
from ._presets import PRESET_HELP as PRESET_HELP
from ._presets import PRESETS as PRESETS
from ._trainer import Trainer as Trainer
