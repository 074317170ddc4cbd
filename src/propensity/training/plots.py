"""Evaluation plots (ROC, precision–recall, confusion matrix, reliability, gains) from metrics.

Offline only: matplotlib is imported inside ``write_plots`` because the Lambda layer does not
ship it. Figures are built with the object-oriented API on an Agg canvas rather than pyplot, so
no global backend or figure registry is touched and nothing has to be shown or kept open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOT_FILES = {
    "roc": "roc.png",
    "pr": "pr.png",
    "confusion_matrix": "confusion_matrix.png",
    "calibration": "calibration.png",
    "gains": "gains.png",
}
_DPI = 110
_FIGSIZE = (5.5, 5.0)


def write_plots(
    metrics: Mapping[str, Any], out_dir: Path, labels: tuple[str, str] = ("0", "1")
) -> dict[str, Path]:
    """Write the evaluation plots into ``out_dir``; returns plot name → file path.

    The gains chart is drawn when the metrics hold a lift table (every trained version does).

    ``labels`` names the negative and positive class on the confusion-matrix axes.
    """
    # Imported here, not at module level: the Lambda layer has no matplotlib.
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'propensity[plots]'") from exc

    out_dir.mkdir(parents=True, exist_ok=True)
    drawers = {
        "roc": _draw_roc,
        "pr": _draw_pr,
        "confusion_matrix": lambda figure, m: _draw_confusion_matrix(figure, m, labels),
        "calibration": _draw_calibration,
    }
    if metrics.get("lift"):
        drawers["gains"] = _draw_gains
    written: dict[str, Path] = {}
    for name, draw in drawers.items():
        figure = Figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained")
        FigureCanvasAgg(figure)
        draw(figure, metrics)
        path = out_dir / PLOT_FILES[name]
        # No "Software" metadata: the same metrics give byte-identical files (stable SHA-256).
        figure.savefig(path, format="png", metadata={"Software": None})
        figure.clear()
        written[name] = path
    return written


def _title(metrics: Mapping[str, Any], what: str) -> str:
    evaluated_on = metrics.get("evaluated_on", {})
    rows = evaluated_on.get("rows")
    suffix = f" ({rows} rows)" if rows is not None else ""
    return f"{metrics.get('model', 'model')} — {what}{suffix}"


def _operating_point(matrix: Mapping[str, Any]) -> tuple[float, float, float]:
    """(false-positive rate, recall, precision) at the chosen threshold; NaN when undefined."""
    tn, fp, fn, tp = (int(matrix[key]) for key in ("tn", "fp", "fn", "tp"))
    nan = float("nan")
    fpr = fp / (fp + tn) if fp + tn else nan
    recall = tp / (tp + fn) if tp + fn else nan
    precision = tp / (tp + fp) if tp + fp else nan
    return fpr, recall, precision


def _threshold_label(metrics: Mapping[str, Any]) -> str:
    threshold = metrics["threshold"]
    return f"threshold {float(threshold['value']):.3f} ({threshold['strategy']})"


def _draw_roc(figure: Figure, metrics: Mapping[str, Any]) -> None:
    axes = figure.add_subplot()
    roc = metrics["curves"]["roc"]
    axes.plot(roc["fpr"], roc["tpr"], lw=2, label=f"model (AUC = {metrics['roc_auc']:.3f})")
    axes.plot([0, 1], [0, 1], ls="--", color="grey", label="chance (AUC = 0.500)")
    fpr, recall, _ = _operating_point(metrics["confusion_matrix"])
    axes.plot([fpr], [recall], "o", color="black", label=_threshold_label(metrics))
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="False positive rate",
        ylabel="True positive rate (recall)",
        title=_title(metrics, "ROC curve"),
    )
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)


def _prevalence(metrics: Mapping[str, Any]) -> float:
    evaluated_on = metrics.get("evaluated_on", {})
    if evaluated_on.get("rows"):
        return float(evaluated_on["positives"]) / float(evaluated_on["rows"])
    matrix = metrics["confusion_matrix"]
    total = sum(int(matrix[key]) for key in ("tn", "fp", "fn", "tp"))
    return (int(matrix["tp"]) + int(matrix["fn"])) / total if total else 0.0


def _draw_pr(figure: Figure, metrics: Mapping[str, Any]) -> None:
    axes = figure.add_subplot()
    pr = metrics["curves"]["pr"]
    axes.plot(
        pr["recall"], pr["precision"], lw=2, label=f"model (PR-AUC = {metrics['pr_auc']:.3f})"
    )
    # A classifier without skill has precision equal to the share of positives at every recall.
    prevalence = _prevalence(metrics)
    axes.axhline(prevalence, ls="--", color="grey", label=f"no skill (prevalence {prevalence:.3f})")
    _, recall, precision = _operating_point(metrics["confusion_matrix"])
    axes.plot([recall], [precision], "o", color="black", label=_threshold_label(metrics))
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="Recall",
        ylabel="Precision",
        title=_title(metrics, "precision–recall curve"),
    )
    axes.legend(loc="upper right")
    axes.grid(alpha=0.3)


def _draw_confusion_matrix(
    figure: Figure, metrics: Mapping[str, Any], labels: tuple[str, str]
) -> None:
    axes = figure.add_subplot()
    matrix = metrics["confusion_matrix"]
    counts = [[int(matrix["tn"]), int(matrix["fp"])], [int(matrix["fn"]), int(matrix["tp"])]]
    total = sum(map(sum, counts)) or 1
    image = axes.imshow(counts, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axes, shrink=0.8)
    largest = max(max(row) for row in counts)
    for actual, row in enumerate(counts):
        for predicted, count in enumerate(row):
            # White text on the dark cells, black on the light ones.
            colour = "white" if count > largest / 2 else "black"
            axes.text(
                predicted,
                actual,
                f"{count}\n{count / total:.1%}",
                ha="center",
                va="center",
                color=colour,
                fontsize=12,
            )
    axes.set_xticks([0, 1], labels=list(labels))
    axes.set_yticks([0, 1], labels=list(labels))
    axes.set(
        xlabel="Predicted",
        ylabel="Actual",
        title=_title(metrics, f"confusion matrix\n{_threshold_label(metrics)}"),
    )


def _calibration_points(
    bins: Sequence[Mapping[str, Any]],
) -> tuple[list[float], list[float], list[int]]:
    populated = [
        b
        for b in bins
        if int(b.get("count") or 0) > 0
        and b.get("mean_predicted") is not None
        and b.get("fraction_positive") is not None
    ]
    return (
        [float(b["mean_predicted"]) for b in populated],
        [float(b["fraction_positive"]) for b in populated],
        [int(b["count"]) for b in populated],
    )


def _draw_calibration(figure: Figure, metrics: Mapping[str, Any]) -> None:
    axes = figure.add_subplot()
    predicted, observed, counts = _calibration_points(metrics["calibration"]["bins"])
    axes.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    axes.plot(
        predicted, observed, "o-", lw=2, label=f"model (Brier = {float(metrics['brier']):.3f})"
    )
    for x, y, count in zip(predicted, observed, counts, strict=True):
        axes.annotate(str(count), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="Mean predicted probability per bin (labels: rows in the bin)",
        ylabel="Observed fraction of positives",
        title=_title(metrics, "reliability diagram"),
    )
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)


def _draw_gains(figure: Figure, metrics: Mapping[str, Any]) -> None:
    axes = figure.add_subplot()
    rows = metrics["lift"]
    shares = [0.0, *(float(r["cumulative_rows_share"]) for r in rows)]
    gains = [0.0, *(float(r["gain"]) for r in rows)]
    axes.plot([0, 1], [0, 1], ls="--", color="grey", label="calling at random")
    axes.plot(shares, gains, "o-", lw=2, label="model (cumulative gain)")
    for row, x, y in zip(rows, shares[1:], gains[1:], strict=True):
        axes.annotate(
            f"×{float(row['lift']):.1f}",
            (x, y),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
        )
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="Share of rows called, highest scores first (labels: decile lift)",
        ylabel="Share of all positives reached",
        title=_title(metrics, "cumulative gains by decile"),
    )
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
