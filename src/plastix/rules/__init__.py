"""Learning rules: one contract (``grads`` / ``step``), one module per family."""

from ._base import Batch as Batch
from ._base import Metrics as Metrics
from ._base import Rule as Rule
from ._base import check_batch as check_batch
from ._bipc import BiPC as BiPC
from ._bp import BP as BP
from ._check import exact_gradient as exact_gradient
from ._check import gradient_check as gradient_check
from ._costs import Cost as Cost
from ._costs import CrossEntropy as CrossEntropy
from ._costs import SquaredError as SquaredError
from ._costs import accuracy as accuracy
from ._ep import CHL as CHL
from ._ep import EP as EP
from ._pc import PC as PC
from ._pc import NudgeSign as NudgeSign
from ._pc import Nudging as Nudging
from ._pc import PCMode as PCMode
from ._registry import RULES as RULES
from ._registry import RuleSpec as RuleSpec
from ._registry import make_rule as make_rule
