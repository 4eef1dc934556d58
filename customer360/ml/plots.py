"""matplotlib (Agg) plots as PNG bytes (saved with the model, embedded as base64 in Dagster markdown metadata), sized for the reader.

Dagster's UI shows a markdown value longer than 1,000 characters (any embedded PNG) behind "[Show Markdown]", in
a dialog as wide as its content (up to 80 % of the window) that never scales an image: the PNG's pixel size is
the size on screen. So every plot is drawn :data:`WIDTH_IN` × :data:`DPI` = 1,000 px wide with 13 px+ text (the
old 72 dpi, 4–8 inch figures gave 288–576 px with 7 px labels).
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl

DPI = 100
WIDTH_IN = 10.0  # → 1,000 px
FONT_PT = 12  # ≈ 17 px at 100 dpi; tick labels 11 pt
_STYLE = {
    "font.size": FONT_PT,
    "axes.titlesize": FONT_PT + 2,
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT - 1,
    "ytick.labelsize": FONT_PT - 1,
    "legend.fontsize": FONT_PT - 1,
}


def _figure(height_in: float, ncols: int = 1):
    with plt.rc_context(_STYLE):
        return plt.subplots(1, ncols, figsize=(WIDTH_IN, height_in))


def _png(fig) -> bytes:
    buf = io.BytesIO()
    with plt.rc_context(_STYLE):
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def md_image(title: str, png: bytes) -> str:
    return f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


def roc_pr_plot(y_true: np.ndarray, y_score: np.ndarray) -> bytes:
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y_true, y_score)
    prec, rec, _ = precision_recall_curve(y_true, y_score)
    fig, (a, b) = _figure(4.6, ncols=2)
    a.plot(fpr, tpr, linewidth=2)
    a.plot([0, 1], [0, 1], "--", color="grey")
    a.set(title="ROC (holdout)", xlabel="false positive rate", ylabel="true positive rate")
    b.plot(rec, prec, linewidth=2)
    b.axhline(float(np.mean(y_true)), linestyle="--", color="grey")
    b.set(title="Precision-recall (holdout)", xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    return _png(fig)


def calibration_plot(y_true: np.ndarray, y_prob: np.ndarray, bins: int = 10) -> bytes:
    from sklearn.calibration import calibration_curve

    frac, mean = calibration_curve(y_true, y_prob, n_bins=bins, strategy="quantile")
    fig, (ax, hist) = _figure(4.6, ncols=2)
    ax.plot(mean, frac, "o-", linewidth=2)
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set(
        title="Calibration (holdout)",
        xlabel="mean predicted probability",
        ylabel="observed churn rate",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    hist.hist(y_prob, bins=20, range=(0, 1))
    hist.set(title="Predicted probability (holdout)", xlabel="churn probability", ylabel="customers")
    return _png(fig)


def segment_profile_plot(profile: pl.DataFrame, label_col: str = "customer_segment") -> bytes:
    feats = [c for c in profile.columns if c.endswith("_norm")]
    mat = profile.select(feats).to_numpy()
    fig, ax = _figure(2.6 + 0.5 * profile.height)
    im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=0, vmax=max(1e-9, float(mat.max())))
    ax.set_xticks(range(len(feats)), [f.removesuffix("_norm") for f in feats], rotation=35, ha="right")
    ax.set_yticks(range(profile.height), profile[label_col].to_list())
    for (i, j), v in np.ndenumerate(mat):
        ax.text(
            j,
            i,
            f"{v:.2f}",
            ha="center",
            va="center",
            fontsize=FONT_PT - 2,
            color="white" if v < 0.6 * mat.max() else "black",
        )
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title("Segment centroids (mean normalised feature value)")
    return _png(fig)


def histogram_plot(values: np.ndarray, title: str, xlabel: str, lines: dict[str, float] | None = None) -> bytes:
    fig, ax = _figure(4.6)
    ax.hist(values, bins=60, log=True)
    for name, x in (lines or {}).items():
        ax.axvline(x, color="red", linestyle="--")
        ax.text(x, ax.get_ylim()[1] * 0.5, f"{name} ", rotation=90, va="top", ha="right", fontsize=FONT_PT)
    ax.set(title=title, xlabel=xlabel, ylabel="customers (log)")
    return _png(fig)


def scatter_plot(x: np.ndarray, y: np.ndarray, title: str, xlabel: str, ylabel: str, max_points: int = 4000) -> bytes:
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x), size=min(len(x), max_points), replace=False) if len(x) else np.array([], dtype=int)
    fig, ax = _figure(5.5)
    ax.scatter(np.log1p(x[idx]), np.log1p(y[idx]), s=8, alpha=0.4)
    top = float(max(np.log1p(x).max(initial=0.0), np.log1p(y).max(initial=0.0)))
    ax.plot([0, top], [0, top], "--", color="grey")
    ax.set(title=title, xlabel=f"log1p {xlabel}", ylabel=f"log1p {ylabel}")
    return _png(fig)
