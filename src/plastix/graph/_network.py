"""Graph networks: nodes hold states, edges are layers from one source node to one or more
destination nodes. A node's prediction is the sum of the outputs of its incoming edges."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .._errors import GraphError, ShapeError
from ..nn import Layer, Params, Shape, as_layer

States = tuple[Array, ...]
"""One array per node, ``states[0]`` is the input; shapes ``(batch, *node_shape)``."""


@dataclass(frozen=True, eq=False)
class Edge:
    """A layer mapping node ``src`` to every node in ``dst`` (its output is added to each).

    Build with :func:`edge`, which takes the seed's adjacency notation.
    """

    layer: Layer
    src: int
    dst: tuple[int, ...]

    def __repr__(self) -> str:
        dst = self.dst[0] if len(self.dst) == 1 else list(self.dst)
        return f"{type(self.layer).__name__} {self.src} -> {dst}"


def edge(layer: Any, adj: Sequence[int] | Sequence[Sequence[int]]) -> Edge:
    """An edge from the adjacency ``adj``: ``[0, 1]`` (node 0 to node 1) or
    ``[[1, 2], [1, 3]]`` (node 1 to nodes 2 and 3: the same output feeds both).

    >>> import plastix as px
    >>> px.edge(px.nn.Linear(10), [[1, 2], [1, 3]])
    Linear 1 -> [2, 3]
    """
    pairs: list[tuple[int, int]]
    adj_list: list[Any] = list(adj)
    if len(adj_list) == 2 and all(isinstance(a, (int, np.integer)) for a in adj_list):
        pairs = [(int(adj_list[0]), int(adj_list[1]))]
    elif adj_list and all(isinstance(a, Sequence) and len(a) == 2 for a in adj_list):
        pairs = [(int(a[0]), int(a[1])) for a in adj_list]
    else:
        raise GraphError(
            f"bad adjacency {adj!r}: use [src, dst] or a list of [src, dst] pairs "
            "sharing one source, e.g. [[1, 2], [1, 3]]."
        )
    srcs = {s for s, _ in pairs}
    if len(srcs) != 1:
        raise GraphError(
            f"adjacency {adj!r} names several source nodes {sorted(srcs)}: an edge maps one "
            "source node to one or more destinations; use one edge per source."
        )
    dsts = tuple(d for _, d in pairs)
    if len(set(dsts)) != len(dsts):
        raise GraphError(f"adjacency {adj!r} names a destination twice.")
    return Edge(as_layer(layer), pairs[0][0], dsts)


class Network:
    """A network as a graph of nodes (states) and edges (layers).

    Node ``input`` (default 0) holds the data and has no incoming edge. The output node is the
    only node without outgoing edges, unless ``output`` names it. Node shapes are inferred from
    ``input_shape`` (the per-sample shape; see :meth:`from_example`), and the graph is validated
    when it is built: unreachable nodes, edges naming missing nodes and mismatched shapes raise
    :class:`~plastix.GraphError` / :class:`~plastix.ShapeError`.

    A network is static (hashable by identity), its parameters are a separate pytree:

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(
    ...     [px.edge(px.nn.Linear(8), [0, 1]), px.edge(px.nn.Tanh(), [1, 2]),
    ...      px.edge(px.nn.Linear(3), [2, 3])],
    ...     jnp.zeros((4, 5)),
    ... )
    >>> params = net.init(key=jax.random.key(0))
    >>> net(params, jnp.ones((4, 5))).shape
    (4, 3)
    """

    edges: tuple[Edge, ...]
    num_nodes: int
    input: int
    output: int
    input_shape: Shape
    node_shapes: tuple[Shape, ...]

    def __init__(
        self,
        edges: Sequence[Edge | tuple[Any, Any]],
        *,
        input_shape: Sequence[int],
        input: int = 0,
        output: int | None = None,
        num_nodes: int | None = None,
    ) -> None:
        es = tuple(e if isinstance(e, Edge) else edge(e[0], e[1]) for e in edges)
        if not es:
            raise GraphError("a network needs at least one edge.")
        named = {e.src for e in es} | {d for e in es for d in e.dst}
        if num_nodes is None:
            num_nodes = max(named) + 1
        for i, e in enumerate(es):
            for n in (e.src, *e.dst):
                if not 0 <= n < num_nodes:
                    raise GraphError(
                        f"edge {i} ({e!r}) names node {n}, but the network has nodes "
                        f"0..{num_nodes - 1}; fix the edge's adjacency or num_nodes."
                    )
        if not 0 <= input < num_nodes:
            raise GraphError(f"input node {input} is not one of the nodes 0..{num_nodes - 1}.")
        incoming: list[list[int]] = [[] for _ in range(num_nodes)]
        outgoing: list[list[int]] = [[] for _ in range(num_nodes)]
        for i, e in enumerate(es):
            outgoing[e.src].append(i)
            for d in e.dst:
                incoming[d].append(i)
        if incoming[input]:
            raise GraphError(
                f"the input node {input} has incoming edges {incoming[input]}: the input holds "
                "the data and cannot be predicted; route those edges to another node."
            )
        for n in range(num_nodes):
            if n != input and not incoming[n]:
                raise GraphError(
                    f"node {n} is not reached by any edge; every node except the input "
                    f"({input}) needs an incoming edge. Check the edges' adjacency."
                )
        if output is None:
            sinks = [n for n in range(num_nodes) if not outgoing[n] and n != input]
            if len(sinks) != 1:
                raise GraphError(
                    f"cannot tell the output node: nodes {sinks} have no outgoing edge; "
                    "pass output=<node>."
                )
            output = sinks[0]
        if not 0 <= output < num_nodes or output == input:
            raise GraphError(
                f"output node {output} must be a non-input node of 0..{num_nodes - 1}."
            )
        # every node must lie on a path from the input to the output
        from_input = _reach(
            input, [[d for i in outgoing[n] for d in es[i].dst] for n in range(num_nodes)]
        )
        to_output = _reach(output, [[es[i].src for i in incoming[n]] for n in range(num_nodes)])
        for n in range(num_nodes):
            if n not in from_input:
                raise GraphError(f"node {n} cannot be reached from the input node {input}.")
            if n not in to_output:
                raise GraphError(
                    f"node {n} does not lead to the output node {output}; connect it or remove it."
                )
        self.edges = es
        self.num_nodes = num_nodes
        self.input = input
        self.output = output
        self.incoming = tuple(tuple(x) for x in incoming)
        self.outgoing = tuple(tuple(x) for x in outgoing)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.node_shapes = self._infer_shapes()

    @classmethod
    def from_example(
        cls, edges: Sequence[Edge | tuple[Any, Any]], example: Any, **kwargs: Any
    ) -> Network:
        """Build a network whose input shape is inferred from one example batch."""
        shape = np.shape(example)
        if len(shape) < 2:
            raise ShapeError(
                f"the example must be a batch (batch, *features); got shape {shape}. "
                "Add a leading batch axis, e.g. x[None]."
            )
        return cls(edges, input_shape=shape[1:], **kwargs)

    # --- structure -------------------------------------------------------------------------

    @functools.cached_property
    def topological_order(self) -> tuple[int, ...] | None:
        """Nodes in an order where every edge goes forward, or ``None`` if there is a cycle."""
        indeg = [len({self.edges[i].src for i in self.incoming[n]}) for n in range(self.num_nodes)]
        order, ready = [], [n for n in range(self.num_nodes) if indeg[n] == 0]
        while ready:
            n = ready.pop(0)
            order.append(n)
            for d in sorted({d for i in self.outgoing[n] for d in self.edges[i].dst}):
                indeg[d] -= 1
                if indeg[d] == 0:
                    ready.append(d)
        return tuple(order) if len(order) == self.num_nodes else None

    @property
    def is_dag(self) -> bool:
        return self.topological_order is not None

    def require_dag(self, who: str) -> None:
        """Raise :class:`~plastix.GraphError` naming a cycle if the graph is not acyclic."""
        if self.is_dag:
            return
        raise GraphError(
            f"{who} needs an acyclic graph, but the edges form the cycle "
            f"{' -> '.join(map(str, self._a_cycle()))}; remove an edge of it or use a rule "
            "that relaxes states on cyclic graphs."
        )

    def chain(
        self, who: str, hint: str = "use a chain network such as models.mlp"
    ) -> tuple[int, ...]:
        """The edge indices of a chain ``input -> ... -> output`` in order (every node fed by
        one edge and feeding one, every edge with one destination); else a
        :class:`~plastix.GraphError` naming the node that branches, ``who`` needs the chain
        and ``hint`` says what to do.

        >>> import jax.numpy as jnp, plastix as px
        >>> px.Network.from_example(px.models.mlp(3, hidden=(4, 4)), jnp.zeros((1, 2))).chain("X")
        (0, 1, 2)
        """
        self.require_dag(who)
        for n in range(self.num_nodes):
            if len(self.incoming[n]) > 1 or len(self.outgoing[n]) > 1:
                raise GraphError(
                    f"{who} needs a chain of layers (each node fed by one edge and feeding one), "
                    f"but node {n} has {len(self.incoming[n])} incoming and "
                    f"{len(self.outgoing[n])} outgoing edges; {hint}."
                )
        order, n = [], self.input
        while self.outgoing[n]:
            (i,) = self.outgoing[n]
            if len(self.edges[i].dst) != 1:
                raise GraphError(
                    f"{who} needs a chain of layers, each edge with one destination; edge {i} "
                    f"has {len(self.edges[i].dst)}; {hint}."
                )
            order.append(i)
            n = self.edges[i].dst[0]
        if n != self.output:  # pragma: no cover - a chain from the input ends at the output
            raise GraphError(f"{who} needs a chain from the input to the output node; {hint}.")
        return tuple(order)

    def _a_cycle(self) -> list[int]:
        succ = [
            sorted({d for i in self.outgoing[n] for d in self.edges[i].dst})
            for n in range(self.num_nodes)
        ]
        color = [0] * self.num_nodes
        stack: list[int] = []

        def dfs(n: int) -> list[int] | None:
            color[n] = 1
            stack.append(n)
            for m in succ[n]:
                if color[m] == 1:
                    return stack[stack.index(m) :] + [m]
                if color[m] == 0 and (c := dfs(m)):
                    return c
            stack.pop()
            color[n] = 2
            return None

        for n in range(self.num_nodes):
            if color[n] == 0 and (c := dfs(n)):
                return c
        return []

    def _infer_shapes(self) -> tuple[Shape, ...]:
        shapes: dict[int, Shape] = {self.input: self.input_shape}
        edge_out: dict[int, Shape] = {}
        pending = list(range(len(self.edges)))
        key = jax.random.key(0)
        while pending:
            progressed = False
            for i in list(pending):
                e = self.edges[i]
                if e.src not in shapes:
                    continue
                edge_out[i] = self._edge_shape(i, shapes[e.src], key)
                pending.remove(i)
                progressed = True
                for d in e.dst:
                    if d not in shapes:
                        shapes[d] = edge_out[i]
            if not progressed:  # only cycles unreachable from shaped nodes remain
                raise GraphError(
                    f"cannot infer the shapes of nodes {sorted({d for i in pending for d in self.edges[i].dst} - set(shapes))}: "
                    "every cycle must be entered from a node with a known shape."
                )
        for n in range(self.num_nodes):
            if n == self.input:
                continue
            for i in self.incoming[n]:
                if edge_out[i] != shapes[n]:
                    first = next(j for j in self.incoming[n] if edge_out[j] == shapes[n])
                    raise ShapeError(
                        f"node {n} receives edges of different shapes: edge {first} "
                        f"({self.edges[first]!r}) gives {shapes[n]} but edge {i} "
                        f"({self.edges[i]!r}) gives {edge_out[i]}; a node's prediction is the sum "
                        "of its incoming edges, so their outputs must have one shape."
                    )
        return tuple(shapes[n] for n in range(self.num_nodes))

    def _edge_shape(self, i: int, in_shape: Shape, key: PRNGKeyArray) -> Shape:
        e = self.edges[i]
        x = jax.ShapeDtypeStruct((1, *in_shape), jnp.float32)
        try:
            p = jax.eval_shape(lambda k: e.layer.init(in_shape, key=k), key)
            out = jax.eval_shape(e.layer, p, x)
        except ShapeError as err:
            raise ShapeError(f"edge {i} ({e!r}) on input of shape {in_shape}: {err}") from err
        except (TypeError, ValueError) as err:
            raise ShapeError(
                f"edge {i} ({e!r}) cannot be applied to its input of per-sample shape "
                f"{in_shape}: {err}"
            ) from err
        if not hasattr(out, "shape"):
            raise ShapeError(f"edge {i} ({e!r}) must return one array, got {type(out).__name__}.")
        return tuple(out.shape[1:])

    # --- parameters and passes -------------------------------------------------------------

    def init(self, *, key: PRNGKeyArray) -> tuple[Params, ...]:
        """Parameters: a tuple with one pytree per edge (``None`` for parameter-free edges)."""
        keys = jax.random.split(key, len(self.edges))
        return tuple(e.layer.init(self.node_shapes[e.src], key=k) for e, k in zip(self.edges, keys))

    def check_input(self, x: Any) -> None:
        """Raise :class:`~plastix.ShapeError` unless ``x`` is a batch of network inputs."""
        shape = tuple(np.shape(x))
        if shape[1:] != self.input_shape or len(shape) != len(self.input_shape) + 1:
            raise ShapeError(
                f"the network expects inputs of shape (batch, {', '.join(map(str, self.input_shape))}) "
                f"(inferred when it was built), got {shape}; reshape the data or rebuild the network "
                "from an example of it."
            )

    def input_edge_outputs(self, params: Sequence[Params], x: Array) -> dict[int, Array]:
        """Outputs of the edges leaving the input node: they do not change while the other
        states relax, so rules compute them once and pass them to :meth:`predictions`."""
        return {i: e.layer(params[i], x) for i, e in enumerate(self.edges) if e.src == self.input}

    def predictions(
        self,
        params: Sequence[Params],
        states: Sequence[Array],
        *,
        cache: dict[int, Array] | None = None,
    ) -> tuple[Array | None, ...]:
        r"""Every node's prediction :math:`\mu_n = \sum_{e: n \in dst(e)} f_e(\theta_e, z_{src(e)})`
        from the given states (``None`` for the input node). ``cache`` maps edge indices to
        precomputed outputs (see :meth:`input_edge_outputs`)."""
        cache = cache or {}
        outs = [
            cache[i] if i in cache else e.layer(p, states[e.src])
            for i, (e, p) in enumerate(zip(self.edges, params))
        ]
        mus: list[Array | None] = []
        for n in range(self.num_nodes):
            if n == self.input:
                mus.append(None)
                continue
            terms = [outs[i] for i in self.incoming[n]]
            mus.append(functools.reduce(jnp.add, terms))  # type: ignore[arg-type]
        return tuple(mus)

    def feedforward(
        self,
        params: Sequence[Params],
        x: Array,
        *,
        masks: Sequence[Array | None] | None = None,
        apply: Callable[[int, Params, Array], Array] | None = None,
    ) -> States:
        """Every node's activity in a forward pass: each node equals its prediction. With
        ``masks`` (one per node or ``None``; e.g. :meth:`plastix.Dropout.masks`), each node's
        activity is multiplied by its mask before the edges leaving it see it. ``apply(i,
        params_i, x_src)`` replaces edge ``i``'s own call (rules that run the pass with other
        backward maps, or record each edge's ``vjp``)."""
        return self.forward(params, x, masks=masks, apply=apply)[0]

    def forward(
        self,
        params: Sequence[Params],
        x: Array,
        *,
        errors: Mapping[int, Array] | None = None,
        clamp: Mapping[int, Array] | None = None,
        cache: Mapping[int, Array] | None = None,
        masks: Sequence[Array | None] | None = None,
        apply: Callable[[int, Params, Array], Array] | None = None,
    ) -> tuple[States, tuple[Array | None, ...]]:
        """The forward pass, every node's activity and prediction (``None`` for the input):
        node ``n``'s activity is its prediction plus ``errors[n]`` (where given; ePC's states
        follow from its errors so), or ``clamp[n]`` in place of it. ``cache`` maps edges to
        outputs computed already (:meth:`input_edge_outputs`); ``masks`` and ``apply`` as in
        :meth:`feedforward`."""
        self.require_dag("the feedforward pass")
        self.check_input(x)
        errors, clamp = errors or {}, clamp or {}
        acts: list[Array | None] = [None] * self.num_nodes
        mus: list[Array | None] = [None] * self.num_nodes
        acts[self.input] = masked(x, masks, self.input)
        outs: dict[int, Array] = dict(cache or {})
        for n in self.topological_order:  # type: ignore[union-attr]
            if n == self.input:
                continue
            for i in self.incoming[n]:
                if i not in outs:
                    e = self.edges[i]
                    src = acts[e.src]
                    assert src is not None
                    outs[i] = e.layer(params[i], src) if apply is None else apply(i, params[i], src)
            mu = functools.reduce(jnp.add, [outs[i] for i in self.incoming[n]])
            mus[n] = mu
            if n in clamp:
                acts[n] = clamp[n]
            else:
                acts[n] = masked(mu + errors[n] if n in errors else mu, masks, n)
        return tuple(acts), tuple(mus)  # type: ignore[arg-type]

    def __call__(self, params: Sequence[Params], x: Array) -> Array:
        """The output node's activity in a forward pass."""
        return self.feedforward(params, x)[self.output]

    def __repr__(self) -> str:
        lines = [f"Network(nodes={self.num_nodes}, input={self.input}, output={self.output})"]
        for i, e in enumerate(self.edges):
            lines.append(
                f"  [{i}] {e!r}: {self.node_shapes[e.src]} -> {self.node_shapes[e.dst[0]]}"
            )
        return "\n".join(lines)


def masked(a: Array, masks: Sequence[Array | None] | None, n: int) -> Array:
    """``a`` (node ``n``'s activity, or the error reaching it) times node ``n``'s mask, when
    it has one."""
    m = None if masks is None else masks[n]
    return a if m is None else a * m


def _reach(start: int, succ: list[list[int]]) -> set[int]:
    seen, todo = {start}, [start]
    while todo:
        for m in succ[todo.pop()]:
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen
