"""Hebbian and plasticity family: local rules (Hebb, Oja, Sanger, WTA, Krotov-Hopfield, BCM)
as pure update functions in gradient form, STDP on LIF neurons, and Hopfield associative
memory, SoftHebb networks (:class:`SoftHebb` on :class:`HebbConv2d` / :class:`HebbDense`
blocks, a Trainer rule), with CANNs-style trainers (``train`` / ``predict`` / ``predict_batch``):
:class:`HopfieldTrainer` and :class:`LocalTrainer`."""

from ..nn import HebbConv2d as HebbConv2d
from ..nn import HebbDense as HebbDense
from ..nn import HebbianLayer as HebbianLayer
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
from ._local import LocalHebbian as LocalHebbian
from ._local import LocalUpdate as LocalUpdate
from ._plasticity import LIF as LIF
from ._plasticity import STDP as STDP
from ._plasticity import lif_stdp as lif_stdp
from ._plasticity import stdp_trains as stdp_trains
from ._rules import Bound as Bound
from ._rules import Similarity as Similarity
from ._rules import bcm as bcm
from ._rules import hebb as hebb
from ._rules import krotov_hopfield as krotov_hopfield
from ._rules import normalise_columns as normalise_columns
from ._rules import oja as oja
from ._rules import sanger as sanger
from ._rules import softhebb as softhebb
from ._rules import triangle as triangle
from ._rules import wta as wta
from ._softhebb import AbstractHebbianRule as AbstractHebbianRule
from ._softhebb import SoftHebb as SoftHebb
from ._softhebb import neuron_norms as neuron_norms
from ._softhebb import soft_wta as soft_wta
from ._softhebb import softhebb_delta as softhebb_delta
from ._trainer import LocalTrainer as LocalTrainer
