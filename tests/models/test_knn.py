"""ItemKNN against raw implicit on MovieLens 100K, and the quality bar over Popularity."""

import numpy as np
import pytest
from implicit import nearest_neighbours as nn

import recsys as rs


@pytest.mark.parametrize("similarity, backend", [
    ("cosine", nn.CosineRecommender), ("bm25", nn.BM25Recommender),
    ("tfidf", nn.TFIDFRecommender)])
def test_scores_equal_raw_implicit(ml100k, similarity, backend):
    model = rs.ItemKNN(similarity=similarity, k=50, weighting="binary").fit(ml100k)
    binary = ml100k.matrix.copy()
    binary.data[:] = 1.0
    raw = backend(K=50)
    raw.fit(binary, show_progress=False)
    rows = np.arange(0, ml100k.n_users, 37)
    raw_ids, raw_scores = raw.recommend(rows, binary[rows], N=10)
    ours = model.recommend(ml100k.users.ids[rows], k=10)
    np.testing.assert_allclose(ours.scores, raw_scores, rtol=1e-4)
    # Same items wherever the raw list has no tie inside it (tie order is ours: by index).
    for i in range(len(rows)):
        if len(np.unique(raw_scores[i])) == 10:
            assert ours.positions[i].tolist() == raw_ids[i].tolist()


def test_itemknn_beats_popularity_on_movielens(ml100k):
    train, test = rs.split.random(ml100k, test_size=0.2, seed=42)
    pop = rs.evaluate(rs.Popularity().fit(train), test, k=10).summary
    knn = rs.evaluate(rs.ItemKNN().fit(train), test, k=10).summary
    assert knn["ndcg@10"] > pop["ndcg@10"] * 1.3
    assert knn["recall@10"] > pop["recall@10"]
    assert knn["coverage@10"] > pop["coverage@10"]


def test_invalid_parameters_are_named():
    inter = rs.Interactions.from_arrays([1, 2], ["a", "b"])
    with pytest.raises(ValueError, match="similarity"):
        rs.ItemKNN(similarity="jaccard").fit(inter)
    with pytest.raises(ValueError, match="k must be"):
        rs.ItemKNN(k=0).fit(inter)
