"""``plastix bench``: every rule on one dataset, same budget, one table (accuracy over seeds,
seconds per epoch, ratio to backprop on the same network, peak memory, alignment with BP)."""

from ._report import aggregate as aggregate
from ._report import markdown as markdown
from ._report import update_section as update_section
from ._report import write_report as write_report
from ._runner import RunResult as RunResult
from ._runner import run_suite as run_suite
from ._suites import SUITES as SUITES
from ._suites import Entry as Entry
from ._suites import Published as Published
from ._suites import Suite as Suite
