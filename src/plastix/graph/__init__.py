"""Graph networks: nodes (states) and edges (layers)."""

from ._network import Edge as Edge
from ._network import Network as Network
from ._network import States as States
from ._network import edge as edge
from ._network import masked as masked
