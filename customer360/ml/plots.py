"""Small matplotlib (Agg) plots rendered as base64 PNG for Dagster markdown metadata, and markdown tables."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=72)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def md_image(title: str, b64: str) -> str:
    return f"**{title}**\n\n![{title}](data:image/png;base64,{b64})"


def md_table(df: pl.DataFrame, float_fmt: str = "{:.3f}") -> str:
    cols = df.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.iter_rows():
        cells = [float_fmt.format(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def roc_pr_plot(y_true: np.ndarray, y_score: np.ndarray) -> str:
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y_true, y_score)
    prec, rec, _ = precision_recall_curve(y_true, y_score)
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.5))
    a.plot(fpr, tpr)
    a.plot([0, 1], [0, 1], "--", color="grey")
    a.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    b.plot(rec, prec)
    b.set(title="Precision-recall", xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    return _png(fig)


def calibration_plot(y_true: np.ndarray, y_prob: np.ndarray, bins: int = 10) -> str:
    from sklearn.calibration import calibration_curve

    frac, mean = calibration_curve(y_true, y_prob, n_bins=bins, strategy="quantile")
    fig, ax = plt.subplots(figsize=(4, 3.5))
    ax.plot(mean, frac, "o-")
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set(title="Calibration (holdout)", xlabel="predicted probability", ylabel="observed churn rate")
    return _png(fig)


def segment_profile_plot(profile: pl.DataFrame, label_col: str = "customer_segment") -> str:
    feats = [c for c in profile.columns if c.endswith("_norm")]
    mat = profile.select(feats).to_numpy()
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(feats), 0.6 + 0.45 * profile.height))
    im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=0, vmax=max(1e-9, float(mat.max())))
    ax.set_xticks(range(len(feats)), [f.removesuffix("_norm") for f in feats], rotation=45, ha="right")
    ax.set_yticks(range(profile.height), profile[label_col].to_list())
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title("Segment centroids (mean feature value)")
    return _png(fig)


def histogram_plot(values: np.ndarray, title: str, xlabel: str, lines: dict[str, float] | None = None) -> str:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(values, bins=60, log=True)
    for name, x in (lines or {}).items():
        ax.axvline(x, color="red", linestyle="--")
        ax.text(x, ax.get_ylim()[1] * 0.5, name, rotation=90, va="top", ha="right", fontsize=8)
    ax.set(title=title, xlabel=xlabel, ylabel="customers (log)")
    return _png(fig)


def scatter_plot(x: np.ndarray, y: np.ndarray, title: str, xlabel: str, ylabel: str, max_points: int = 4000) -> str:
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x), size=min(len(x), max_points), replace=False) if len(x) else np.array([], dtype=int)
    fig, ax = plt.subplots(figsize=(4, 3.5))
    ax.scatter(np.log1p(x[idx]), np.log1p(y[idx]), s=3, alpha=0.4)
    ax.set(title=title, xlabel=f"log1p {xlabel}", ylabel=f"log1p {ylabel}")
    return _png(fig)
