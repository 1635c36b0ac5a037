"""The ``plastix`` command line: ``plastix train``, ``plastix list``, ``plastix download``."""

from ._main import build_parser as build_parser
from ._main import main as main
from ._main import run_train as run_train
