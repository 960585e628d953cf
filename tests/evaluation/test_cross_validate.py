import numpy as np
import pytest

import recsys as rs


def test_folds_are_evaluated_independently_and_summarised():
    inter = rs.datasets.demo().interactions
    model = rs.ItemKNN(k=20)
    cv = rs.cross_validate(model, inter, folds=3, k=10, metrics=["ndcg", "recall"], seed=1,
                           show_progress=False)
    assert not model.is_fitted  # the instance given is a template, never fitted
    assert list(cv.folds.index) == [1, 2, 3]
    folds = list(rs.split.kfold(inter, n_folds=3, seed=1))
    second = rs.evaluate(rs.ItemKNN(k=20).fit(folds[1][0]), folds[1][1], k=10,
                         metrics=["ndcg", "recall"]).summary
    assert cv.folds.loc[2, "ndcg@10"] == pytest.approx(second["ndcg@10"])
    values = cv.folds["recall@10"].to_numpy()
    assert cv.summary.loc["recall@10", "mean"] == pytest.approx(values.mean())
    assert cv.summary.loc["recall@10", "std"] == pytest.approx(np.std(values, ddof=1))
