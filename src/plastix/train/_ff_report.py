"""Forward-Forward diagnostics: per-layer accuracy and goodness of positive vs negative data
(the numbers; ``plastix.viz.plot_ff_layers`` draws them)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from ..graph import Network
from ..rules import FF, Supervision


def ff_layer_report(
    rule: FF,
    net: Network,
    params: Any,
    x: Array,
    labels: Array,
    *,
    key: PRNGKeyArray,
    batch_size: int = 1000,
) -> dict[str, Any]:
    """Per FF layer, on inputs ``x`` with integer ``labels``: the goodness of positive and
    negative data (arrays, one value per sample), the fraction of both on the right side of
    the threshold (``ff_accuracy``) and, supervised, the accuracy of classifying by that
    layer's goodness alone (``goodness_accuracy``). Example (``benchmarks/ff_eval.py``)::

        rep = ff_layer_report(rule, net, params, x_test, y_test, key=jax.random.key(0))
        rep["layers"][0]["goodness_accuracy"], rep["layers"][0]["goodness_pos"].shape
        px.viz.plot_ff_layers(rep, "ff_layers.png")
    """
    c = rule.num_classes(net)

    @jax.jit
    def one(xb: Array, yb: Array, k: PRNGKeyArray) -> tuple[Any, Any, Any]:
        y1 = jax.nn.one_hot(yb, c, dtype=xb.dtype)
        pos, neg = rule.positives_negatives(net, params, xb, y1, k)
        gp = [rule.layer_goodness(a) for a in rule.activities(net, params, pos)]
        gn = [rule.layer_goodness(a) for a in rule.activities(net, params, neg)]
        if rule.supervision is Supervision.UNSUPERVISED:
            return gp, gn, None
        per_label = []
        for lab in range(c):
            onehot = jnp.broadcast_to(jax.nn.one_hot(lab, c, dtype=xb.dtype), y1.shape)
            acts = rule.activities(net, params, rule.encode(net, params, xb, onehot))
            per_label.append(jnp.stack([rule.layer_goodness(a) for a in acts], -1))
        scores = jnp.stack(per_label, -1)  # (batch, layers, labels)
        return gp, gn, jnp.argmax(scores, -1) == yb[:, None]

    gps, gns, hits = [], [], []
    for s in range(0, x.shape[0], batch_size):
        gp, gn, hit = one(
            x[s : s + batch_size], labels[s : s + batch_size], jax.random.fold_in(key, s)
        )
        gps.append(np.stack([np.asarray(g) for g in gp], -1))
        gns.append(np.stack([np.asarray(g) for g in gn], -1))
        if hit is not None:
            hits.append(np.asarray(hit))
    gp_all, gn_all = np.concatenate(gps), np.concatenate(gns)
    layers = []
    for l in range(gp_all.shape[1]):
        th = rule.theta(jnp.zeros((1, *net.node_shapes[net.edges[rule.chain(net)[l]].dst[0]])))
        rec: dict[str, Any] = {
            "goodness_pos": gp_all[:, l],
            "goodness_neg": gn_all[:, l],
            "threshold": th,
            "ff_accuracy": float(0.5 * (np.mean(gp_all[:, l] > th) + np.mean(gn_all[:, l] < th))),
        }
        if hits:
            rec["goodness_accuracy"] = float(np.mean(np.concatenate(hits)[:, l]))
        layers.append(rec)
    return {"layers": layers}
