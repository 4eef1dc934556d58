"""Customer segmentation: k-means on ``ml.feat_customer_segmentation`` with a documented choice of k and
deterministic human labels.

Method (README "Design decisions"):

1. Rows are sorted by ``customer_id`` (the fit never depends on warehouse row order); every random step uses a
   fixed seed.
2. **Choice of k**: on a seeded sample (≤ 10,000 customers) fit k-means for k = 4..8; score each k by the
   silhouette coefficient on a seeded 4,000-row sub-sample; keep the k with the **highest silhouette among those
   whose smallest cluster holds ≥ 2 % of the sample**. (If no k qualifies, the highest silhouette wins and the
   metadata says so.)
3. **Final fit** on all customers: full-batch ``KMeans`` (Lloyd) started from the sample's centroids (``n_init=1``).
   Measured against ``MiniBatchKMeans`` in ``benchmarks/bench_ml.py``: see README for the figures.
4. **Labels from centroid profiles**: each centroid is expressed as z-scores of its feature means against all
   customers; each candidate label has a fixed weight vector over the features (e.g. *High Value* = monetary +
   order value + frequency, *Dormant* = −recency − sessions − frequency); labels are assigned one-to-one by
   maximising the total score (Hungarian assignment). ``segment_id`` is the label's fixed position in
   :data:`SEGMENT_LABELS` (1 = High Value …), so an id means the same segment across refits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score

from customer360.ml.features import ID, feature_columns, to_matrix
from customer360.ml.thresholds import MIN_SEGMENT_SHARE

SEED = 42
REVISION = 1  # bump when fitting or features change incompatibly: a saved model of another revision refits
K_RANGE = tuple(range(4, 9))
SELECTION_SAMPLE = 10_000
SILHOUETTE_SAMPLE = 4_000

# label -> weights on feature z-scores (features absent from the table are ignored)
SEGMENT_LABELS: dict[str, dict[str, float]] = {
    "High Value": {"monetary_norm": 1.0, "avg_order_value_norm": 0.6, "frequency_norm": 0.6},
    "Loyal": {"frequency_norm": 1.0, "tenure_norm": 0.6, "recency_norm": 0.5, "email_open_rate_norm": 0.2},
    "New": {"tenure_norm": -1.0, "recency_norm": 0.4},
    "At Risk": {"recency_norm": -1.0, "frequency_norm": 0.4, "support_ticket_rate_norm": 0.5},
    "Dormant": {
        "recency_norm": -0.8,
        "session_frequency_norm": -0.7,
        "frequency_norm": -0.5,
        "email_open_rate_norm": -0.3,
    },
    "Bargain Hunter": {
        "avg_order_value_norm": -1.0,
        "frequency_norm": 0.4,
        "click_rate_norm": 0.5,
        "email_open_rate_norm": 0.3,
    },
    "Engaged Browser": {"session_frequency_norm": 1.0, "avg_session_dur_norm": 0.6, "monetary_norm": -0.5},
    "Occasional": {"category_diversity_norm": -0.5, "session_frequency_norm": -0.2, "recency_norm": 0.2},
}
DRIFT_EDGES = tuple(i + 0.5 for i in range(1, len(SEGMENT_LABELS)))  # one drift (PSI) bin per segment_id


@dataclass
class SegmentationModel:
    features: list[str]
    k: int
    kmeans: Any  # fitted KMeans / MiniBatchKMeans
    cluster_labels: dict[int, str]  # cluster index -> human label
    cluster_segment_ids: dict[int, int]  # cluster index -> stable segment_id
    selection: list[dict[str, float]] = field(default_factory=list)  # per-k silhouette / min share
    params: dict[str, Any] = field(default_factory=dict)


def _kmeans(k: int, algorithm: str, init: Any = "k-means++", n_init: int = 4):
    if algorithm == "minibatch":
        return MiniBatchKMeans(n_clusters=k, init=init, n_init=n_init, random_state=SEED, batch_size=4096)
    return KMeans(n_clusters=k, init=init, n_init=n_init, random_state=SEED)


def choose_k(
    x: np.ndarray,
    k_range: tuple[int, ...] = K_RANGE,
    min_share: float = MIN_SEGMENT_SHARE,
    sample: int = SELECTION_SAMPLE,
) -> tuple[int, np.ndarray, list[dict[str, float]]]:
    """Return (k, centroids fitted on the sample, per-k table) under the documented criterion."""
    rng = np.random.default_rng(SEED)
    xs = x[rng.choice(len(x), size=min(sample, len(x)), replace=False)] if len(x) > sample else x
    sil_idx = rng.choice(len(xs), size=min(SILHOUETTE_SAMPLE, len(xs)), replace=False)
    table, centres = [], {}
    for k in k_range:
        if k >= len(xs):
            continue
        km = _kmeans(k, "kmeans", n_init=2).fit(xs)
        labels = km.labels_
        share = np.bincount(labels, minlength=k).min() / len(xs)
        sil = float(silhouette_score(xs[sil_idx], labels[sil_idx])) if len(set(labels[sil_idx])) > 1 else -1.0
        table.append({"k": k, "silhouette": sil, "min_share": float(share), "eligible": bool(share >= min_share)})
        centres[k] = km.cluster_centers_
    if not table:
        raise ValueError(f"too few customers ({len(x)}) to segment into {min(k_range)}+ clusters")
    eligible = [r for r in table if r["eligible"]] or table
    best = max(eligible, key=lambda r: (r["silhouette"], -r["k"]))
    for r in table:
        r["chosen"] = r["k"] == best["k"]
    return int(best["k"]), centres[best["k"]], table


def label_clusters(centroids: np.ndarray, features: list[str], mean: np.ndarray, std: np.ndarray) -> dict[int, str]:
    """One-to-one human labels for clusters from their centroid profiles (see module docstring)."""
    z = (centroids - mean) / np.where(std > 1e-12, std, 1.0)
    names = list(SEGMENT_LABELS)
    w = np.zeros((len(names), len(features)))
    for i, name in enumerate(names):
        for f, weight in SEGMENT_LABELS[name].items():
            if f in features:
                w[i, features.index(f)] = weight
    score = z @ w.T  # clusters x labels
    if len(centroids) > len(names):
        raise ValueError(f"{len(centroids)} clusters but only {len(names)} labels")
    rows, cols = linear_sum_assignment(-score)
    return {int(r): names[c] for r, c in zip(rows, cols, strict=True)}


def fit_segmentation(
    features: pl.DataFrame,
    *,
    algorithm: str = "kmeans",
    k: int | None = None,
    k_range: tuple[int, ...] = K_RANGE,
    min_share: float = MIN_SEGMENT_SHARE,
) -> SegmentationModel:
    """Fit the segmentation model on a feature table (one row per customer)."""
    df = features.sort(ID)
    cols = feature_columns(df)
    x = to_matrix(df, cols)
    chosen, init, table = choose_k(x, k_range, min_share)
    if k is not None and k != chosen:
        chosen, init = k, "k-means++"
    final = _kmeans(chosen, algorithm, init=init, n_init=1 if not isinstance(init, str) else 4).fit(x)
    mean, std = x.mean(axis=0), x.std(axis=0)
    labels = label_clusters(final.cluster_centers_, cols, mean, std)
    names = list(SEGMENT_LABELS)
    return SegmentationModel(
        features=cols,
        k=chosen,
        kmeans=final,
        cluster_labels=labels,
        cluster_segment_ids={c: names.index(lbl) + 1 for c, lbl in labels.items()},
        selection=table,
        params={
            "algorithm": algorithm,
            "seed": SEED,
            "k_range": list(k_range),
            "min_segment_share": min_share,
            "selection_sample": SELECTION_SAMPLE,
            "silhouette_sample": SILHOUETTE_SAMPLE,
        },
    )


def assign_segments(model: SegmentationModel, features: pl.DataFrame) -> pl.DataFrame:
    """customer_id, segment_id, customer_segment for every row of ``features``."""
    missing = [c for c in model.features if c not in features.columns]
    if missing:
        raise ValueError(f"feature table lacks the model's features {missing}: refit")
    df = features.sort(ID)
    clusters = model.kmeans.predict(to_matrix(df, model.features))
    seg_ids = np.array([model.cluster_segment_ids[int(c)] for c in range(model.k)], dtype=np.int32)[clusters]
    names = np.array([model.cluster_labels[int(c)] for c in range(model.k)], dtype=object)[clusters]
    return pl.DataFrame(
        {
            ID: df[ID],
            "segment_id": pl.Series(seg_ids, dtype=pl.Int32),
            "customer_segment": pl.Series(names, dtype=pl.Utf8),
        }
    )


def segment_quality(features: pl.DataFrame, assigned: pl.DataFrame, features_cols: list[str]) -> dict[str, float]:
    """Silhouette on a seeded sample and segment shares — reported in metadata and the benchmark."""
    df = features.sort(ID).join(assigned.select(ID, "segment_id"), on=ID, how="inner")
    x = to_matrix(df, features_cols)
    labels = df["segment_id"].to_numpy()
    rng = np.random.default_rng(SEED + 1)
    idx = rng.choice(len(x), size=min(SILHOUETTE_SAMPLE * 2, len(x)), replace=False)
    sil = float(silhouette_score(x[idx], labels[idx])) if len(set(labels[idx])) > 1 else float("nan")
    shares = np.bincount(labels)[np.unique(labels)] / len(labels)
    return {"silhouette": sil, "min_segment_share": float(shares.min()), "n_segments": len(shares)}


def segment_profile(features: pl.DataFrame, assigned: pl.DataFrame, features_cols: list[str]) -> pl.DataFrame:
    """Per segment: size, share and mean of every feature (the centroid profile)."""
    df = features.join(assigned, on=ID, how="inner")
    n = df.height
    return (
        df.group_by("segment_id", "customer_segment")
        .agg(pl.len().alias("customers"), *(pl.col(c).mean() for c in features_cols))
        .with_columns((pl.col("customers") / n).alias("share"))
        .select("segment_id", "customer_segment", "customers", "share", *features_cols)
        .sort("segment_id")
    )
