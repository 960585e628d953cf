"""rs.compare: intervals, paired tests and Holm correction, against independent computations."""

import numpy as np
import pytest
from scipy import stats

import recsys as rs
from recsys.errors import ConfigError
from recsys.evaluation.compare import bootstrap_ci, format_comparison, holm


def test_holm_by_hand():
    # Sorted p: 0.001 (x4), 0.01 (x3), 0.02 (x2), 0.04 (x1); running max keeps it monotone.
    adjusted = holm([0.04, 0.001, 0.02, 0.01])
    np.testing.assert_allclose(adjusted, [0.04, 0.004, 0.04, 0.03])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    values = np.random.default_rng(3).normal(size=(500, 2))
    ci = bootstrap_ci(values, n_resamples=2000, seed=5)
    assert (ci[0] < values.mean(axis=0)).all() and (values.mean(axis=0) < ci[1]).all()
    # Width close to the normal approximation 2 * 1.96 * sd / sqrt(n).
    expected = 2 * 1.96 * values.std(axis=0) / np.sqrt(len(values))
    np.testing.assert_allclose(ci[1] - ci[0], expected, rtol=0.15)
    np.testing.assert_array_equal(ci, bootstrap_ci(values, n_resamples=2000, seed=5))


@pytest.fixture(scope="module")
def demo_split():
    return rs.split.random(rs.datasets.demo().interactions, test_size=0.2, seed=42)


def test_compare_matches_scipy_on_the_same_users(demo_split):
    train, test = demo_split
    pop, knn = rs.Popularity().fit(train), rs.ItemKNN().fit(train)
    table = rs.compare({"pop": pop, "knn": knn, "pop-again": rs.Popularity()}, train, test,
                       k=10, baseline="pop", n_bootstrap=300, metrics=["ndcg", "recall"])
    assert set(table["metric"]) == {"ndcg@10", "recall@10"} and len(table) == 6
    a = rs.evaluate(pop, test, k=10).per_user["ndcg@10"]
    b = rs.evaluate(knn, test, k=10).per_user["ndcg@10"].loc[a.index]
    row = table.set_index(["model", "metric"]).loc[("knn", "ndcg@10")]
    assert row["mean"] == pytest.approx(b.mean())
    assert row["diff"] == pytest.approx(b.mean() - a.mean())
    assert row["p_ttest"] == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)
    assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(b - a).pvalue, rel=1e-9)
    assert row["p_holm"] == pytest.approx(min(1.0, 2 * row["p_ttest"]))  # 2 tested models
    assert row["significant"] and row["ci_low"] < row["mean"] < row["ci_high"]
    same = table.set_index(["model", "metric"]).loc[("pop-again", "ndcg@10")]
    assert same["diff"] == 0 and same["p_ttest"] == 1.0 and not same["significant"]
    text = format_comparison(table)
    assert "knn" in text and "*" in text and "'pop'" in text


def test_compare_rejects_an_unknown_baseline(demo_split):
    train, test = demo_split
    with pytest.raises(ConfigError, match="baseline 'als'"):
        rs.compare({"pop": rs.Popularity()}, train, test, baseline="als")
