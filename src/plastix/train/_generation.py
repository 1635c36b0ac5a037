"""How well generated images match their classes: distances to the test set's class means."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import ShapeError


def generation_quality(images: Any, x: Any, y: Any) -> dict[str, float]:
    r"""Score one generated image per class against real images ``x`` with labels ``y``.

    With :math:`\bar x_c` the mean real image of class :math:`c` and :math:`g_c` the image
    generated from label :math:`c`:

    - ``rmse_to_class_mean``: :math:`\frac1K\sum_c \mathrm{RMSE}(g_c, \bar x_c)`;
    - ``reference_rmse``: the same distance for the real images,
      :math:`\frac1N\sum_n \mathrm{RMSE}(x_n, \bar x_{y_n})` (the scale to read the first by);
    - ``nearest_mean_accuracy``: the fraction of classes whose :math:`g_c` is nearer to
      :math:`\bar x_c` than to any other class mean (chance: :math:`1/K`).

    >>> import numpy as np
    >>> x = np.stack([np.full((2, 2, 1), v, np.float32) for v in (0.0, 0.1, 1.0, 1.1)])
    >>> y = np.array([0, 0, 1, 1])
    >>> q = generation_quality(np.stack([x[:2].mean(0), x[2:].mean(0)]), x, y)
    >>> round(q["rmse_to_class_mean"], 6), round(q["reference_rmse"], 6), q["nearest_mean_accuracy"]
    (0.0, 0.05, 1.0)
    """
    g = np.asarray(images, np.float64)
    x = np.asarray(x, np.float64)
    y = np.asarray(y)
    k = g.shape[0]
    if g.shape[1:] != x.shape[1:]:
        raise ShapeError(
            f"generated images have shape {g.shape[1:]} per image but the real ones "
            f"{x.shape[1:]}: generate in the data's (transformed) space."
        )
    missing = sorted(set(range(k)) - set(np.unique(y).tolist()))
    if missing:
        raise ShapeError(
            f"no real images of class(es) {missing} to compare the generated ones with."
        )
    means = np.stack([x[y == c].mean(0) for c in range(k)])
    g2, m2, x2 = g.reshape(k, -1), means.reshape(k, -1), x.reshape(len(x), -1)
    dist = np.sqrt(((g2[:, None, :] - m2[None, :, :]) ** 2).mean(-1))  # (generated, mean)
    ref = np.sqrt(((x2 - m2[y]) ** 2).mean(-1))
    return {
        "rmse_to_class_mean": float(np.mean(np.diag(dist))),
        "reference_rmse": float(np.mean(ref)),
        "nearest_mean_accuracy": float(np.mean(np.argmin(dist, axis=1) == np.arange(k))),
    }
