"""Every picture plastix draws (matplotlib, Agg backend): training curves, angles to backprop,
Forward-Forward's layers, image grids, memory models' pictures and the bench's plots.

The training loop writes data only (``metrics.jsonl``, ``summary.json``, checkpoints);
:func:`plot_run` draws a run directory's pictures (the command line calls it after a run; from
Python, pass it to ``Trainer(after_fit=(plot_run,))`` or call it on the directory).
"""

from ._bench import plot_suite as plot_suite
from ._figure import save_figure as save_figure
from ._memory import plot_capacity as plot_capacity
from ._memory import plot_energy as plot_energy
from ._memory import plot_recall as plot_recall
from ._memory import plot_receptive_fields as plot_receptive_fields
from ._memory import plot_stdp as plot_stdp
from ._memory import plot_weights as plot_weights
from ._training import plot_alignment as plot_alignment
from ._training import plot_curves as plot_curves
from ._training import plot_diagnostics as plot_diagnostics
from ._training import plot_ff_layers as plot_ff_layers
from ._training import plot_image_grid as plot_image_grid
from ._training import plot_run as plot_run
