"""Local plasticity: the classic Hebbian-family updates (Hebb, Oja, Sanger, WTA,
Krotov-Hopfield, BCM, SoftHebb) as pure functions in gradient form and as update objects
(:class:`Oja`, :class:`BCM`, ...), and the network rules that train Hebbian blocks with them
without feedback before a read-out learns: :class:`SoftHebb` (Journé et al. 2022) on
:class:`HebbConv2d` / :class:`HebbDense` blocks and :class:`LocalHebbian`
(``LocalHebbian(update=Oja())``)."""

from ..nn import HebbConv2d as HebbConv2d
from ..nn import HebbDense as HebbDense
from ..nn import HebbianLayer as HebbianLayer
from ._functions import Bound as Bound
from ._functions import Similarity as Similarity
from ._functions import bcm as bcm
from ._functions import hebb as hebb
from ._functions import krotov_hopfield as krotov_hopfield
from ._functions import normalise_columns as normalise_columns
from ._functions import oja as oja
from ._functions import sanger as sanger
from ._functions import softhebb as softhebb
from ._functions import triangle as triangle
from ._functions import wta as wta
from ._local import LocalHebbian as LocalHebbian
from ._softhebb import AbstractHebbianRule as AbstractHebbianRule
from ._softhebb import SoftHebb as SoftHebb
from ._softhebb import neuron_norms as neuron_norms
from ._softhebb import soft_wta as soft_wta
from ._softhebb import softhebb_delta as softhebb_delta
from ._updates import BCM as BCM
from ._updates import LOCAL_UPDATES as LOCAL_UPDATES
from ._updates import WTA as WTA
from ._updates import AbstractLocalUpdate as AbstractLocalUpdate
from ._updates import Hebb as Hebb
from ._updates import KrotovHopfield as KrotovHopfield
from ._updates import Oja as Oja
from ._updates import Sanger as Sanger
