"""Every picture is rendered and checked for what it shows: panels, labels, the data drawn,
no empty axes, and no change to matplotlib's global state."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

import recsys as rs
from recsys.cli import demo_chart
from recsys.evaluation import plots
from recsys.evaluation.experiment.report import PLOT_FILES, report_figures


@pytest.fixture(scope="module")
def demo_split():
    ds = rs.datasets.demo()
    train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
    return ds, train, test


@pytest.fixture(scope="module")
def results(demo_split):
    _, train, test = demo_split
    return {"pop": rs.evaluate(rs.Popularity().fit(train), test, k=10),
            "knn": rs.evaluate(rs.ItemKNN().fit(train), test, k=10)}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _drawn(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches)


def _dots(ax) -> np.ndarray:
    """x, y of every scatter point of an axis (all PathCollections)."""
    points = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    return np.vstack(points)


def test_no_global_state_is_touched(results):
    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    fig = plots.metrics(results)
    assert isinstance(fig, Figure)
    assert matplotlib.get_backend() == backend and plt.get_fignums() == figures
    assert _png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_metric_panels_show_each_model_with_its_ci(results):
    fig = plots.metrics(results, metrics=["ndcg@10", "recall@10", "coverage@10"])
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["ndcg@10", "recall@10", "coverage@10"]
    assert all(_drawn(ax) for ax in axes)
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["pop", "knn"]
    assert axes[0].get_xlabel() == "mean over users (95% CI)"
    assert axes[2].get_xlabel() == "share of catalog items"
    for ax, metric in zip(axes, ["ndcg@10", "recall@10", "coverage@10"], strict=True):
        means = [results[m].summary[metric] for m in ("pop", "knn")]
        drawn = _dots(ax)
        for mean in means:  # every model's mean is a dot (the best one twice: ring + fill)
            assert np.isclose(drawn[:, 0], mean).any()
        assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > max(means)
        texts = [t.get_text() for t in ax.texts]
        assert f"best: knn {max(means):.3f}" in texts
    # The CI of a mean over users: about +-1.96 standard errors (checked independently).
    values = results["knn"].per_user["ndcg@10"].dropna()
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    segments = [seg for c in axes[0].collections if not isinstance(c, PathCollection)
                for seg in c.get_segments()]
    widths = sorted(abs(seg[1][0] - seg[0][0]) for seg in segments if len(seg) == 2)
    assert widths and widths[-1] == pytest.approx(2 * half, rel=0.2)
    assert not any(isinstance(c, PathCollection) is False and c.get_segments()
                   for c in axes[2].collections if hasattr(c, "get_segments"))  # no CI


def test_metric_panels_from_a_compare_table_star_the_significant(demo_split):
    _, train, test = demo_split
    table = rs.compare({"pop": rs.Popularity(), "knn": rs.ItemKNN()}, train, test,
                       n_bootstrap=100)
    fig = plots.metrics(table, ncols=2)
    assert len(fig.axes) == table["metric"].nunique() == 4
    stars = sum(t.get_text() == "*" for ax in fig.axes for t in ax.texts)
    assert stars == int(table["significant"].sum()) > 0


def test_ax_argument_draws_on_the_given_axes():
    table = pd.DataFrame({"model": ["a", "b"], "metric": ["ndcg@10"] * 2, "mean": [0.1, 0.3]})
    fig, ax = plt.subplots()
    try:
        assert plots.metrics(table, ax=ax) is fig and ax.get_title() == "ndcg@10"
        with pytest.raises(ValueError, match="2 Axes"):
            plots.curves(pd.DataFrame(columns=["model", "metric", "k", "mean"]), ax=ax)
    finally:
        plt.close(fig)


def test_long_tail_is_linear_and_draws_the_counts(demo_split):
    ds, _, _ = demo_split
    inter = ds.interactions
    fig = plots.long_tail(inter)
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0
    counts = np.sort(np.bincount(inter.matrix.indices, minlength=inter.n_items))[::-1]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), counts)
    head = int(round(0.2 * inter.n_items))
    share = counts[:head].sum() / counts.sum()
    assert ax.get_legend().get_texts()[0].get_text() == \
        f"top 20% of items: {share:.0%} of interactions"
    assert ax.get_xlabel() == "item rank by popularity"


def test_popularity_bias_shares_on_a_linear_axis():
    counts = np.array([40, 30, 20, 10, 0, 0])
    fig = plots.popularity_bias(counts, {"pop": np.array([5, 5, 0, 0, 0, 0])}, n_bins=3)
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [0.7, 0.3, 0.0])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 0.0, 0.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "pop", "catalog (training interactions)"]


def test_curves_and_distributions_panels(results):
    frame = pd.DataFrame({"model": ["a", "a", "b", "b"] * 2, "metric": ["ndcg"] * 4 +
                          ["recall"] * 4, "k": [5, 10] * 4, "mean": np.arange(8) / 10})
    fig = plots.curves(frame)
    assert [ax.get_title() for ax in fig.axes] == ["Recall@k", "NDCG@k"]
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), [0.2, 0.3])
    per_user = {name: result.per_user for name, result in results.items()}
    fig = plots.distributions(per_user, ["ndcg@10", "recall@10"])
    assert [ax.get_title() for ax in fig.axes] == ["ndcg@10", "recall@10"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["pop", "knn"]
    assert all(_drawn(ax) for ax in fig.axes)


def test_every_report_figure_has_its_panels(demo_experiment):
    figures = report_figures(demo_experiment)
    assert set(figures) == set(PLOT_FILES)
    config = demo_experiment.config
    ok = [run.name for run in demo_experiment.runs if run.ok]
    metric_axes = figures["metrics"].axes
    assert [ax.get_title() for ax in metric_axes] == [f"{m}@10" for m in config.metrics]
    assert [t.get_text() for t in metric_axes[0].get_yticklabels()] == ok
    assert len(figures["curves"].axes) == 2
    assert len(figures["distributions"].axes) == 3  # ndcg, recall, novelty
    assert [line.get_label() for line in figures["popularity_bias"].axes[0].lines] == ok
    for role, fig in figures.items():
        assert fig.axes and all(_drawn(ax) for ax in fig.axes), role
        assert all(ax.get_xlabel() and ax.get_title() for ax in fig.axes), role


def test_demo_chart_labels_coverage_as_a_catalog_share(results):
    fig = demo_chart(results, ["ndcg@10", "coverage@10"], 10)
    assert [ax.get_title() for ax in fig.axes] == ["ndcg@10", "coverage@10"]
    assert fig.axes[0].get_xlabel() == "mean over users (95% CI)"
    assert fig.axes[1].get_xlabel() == "share of catalog items"
    assert "95% bootstrap CI" in fig._suptitle.get_text()
