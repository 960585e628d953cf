import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.errors import DataError


def test_counts_and_weights():
    inter = rs.Interactions.from_arrays(["u1", "u2", "u3", "u3"], ["a", "a", "b", "c"],
                                        weights=[1.0, 1.0, 5.0, 1.5])
    by_count = rs.Popularity().fit(inter).recommend("u3", k=2, exclude_seen=False)
    assert by_count["u3"] == ["a", "b"]  # a: 2 users; b and c tie at 1, b has the lower index
    by_weight = rs.Popularity(by="weight").fit(inter).recommend("u1", k=3, exclude_seen=False)
    assert by_weight["u1"] == ["b", "a", "c"]
    np.testing.assert_allclose(by_weight.scores[0], [5.0, 2.0, 1.5])


def test_half_life_halves_old_interactions():
    day = 86_400
    frame = pd.DataFrame({"user": ["u1", "u2", "u3"], "item": ["old", "old", "new"],
                          "t": [0, 0, 2 * day]})
    inter = rs.Interactions.from_pandas(frame, "user", "item", timestamp="t")
    model = rs.Popularity(half_life=day).fit(inter)
    recs = model.recommend("u1", k=2, exclude_seen=False)
    # Two interactions two half-lives old weigh 2 * 0.25 = 0.5; the fresh one weighs 1.
    assert recs["u1"] == ["new", "old"]
    np.testing.assert_allclose(recs.scores[0], [1.0, 0.5])


def test_half_life_needs_timestamps():
    inter = rs.Interactions.from_arrays(["u1"], ["a"])
    with pytest.raises(DataError, match="timestamps"):
        rs.Popularity(half_life=10.0).fit(inter)
