"""Features.from_pandas: one-hot, multi-label, numeric blocks aligned to an IdIndex; errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.data.features import Features
from recsys.data.ids import IdIndex
from recsys.data.interactions import Interactions
from recsys.errors import ColumnError, DataError

ITEMS = IdIndex(["i1", "i2", "i3"])


def dense(feats: Features) -> dict:
    """{row id: {feature name: value}} without zeros."""
    matrix = feats.matrix.toarray()
    return {
        rid: {name: float(v) for name, v in zip(feats.names, row, strict=True) if v}
        for rid, row in zip(feats.index.ids.tolist(), matrix, strict=True)
    }


def test_categorical_one_hot_follows_the_index():
    df = pd.DataFrame({"item_id": ["i3", "i1"], "color": ["red", "blue"]})
    feats = Features.from_pandas(df, "item_id", ITEMS, categorical=["color"])
    assert feats.names.tolist() == ["color=blue", "color=red"]
    assert dense(feats) == {"i1": {"color=blue": 1.0}, "i2": {}, "i3": {"color=red": 1.0}}
    assert feats.matrix.dtype == np.float32 and isinstance(feats.matrix, sp.csr_matrix)
    assert feats.index is ITEMS and feats.n_features == 2
    assert repr(feats) == "Features(n_rows=3, n_features=2)"


def test_categorical_missing_value_sets_no_feature_and_mixed_types_work():
    df = pd.DataFrame({"item_id": ["i1", "i2", "i3"],
                       "c": pd.Series(["a", None, 3], dtype=object)})
    feats = Features.from_pandas(df, "item_id", ITEMS, categorical=["c"])
    assert sorted(feats.names.tolist()) == ["c=3", "c=a"]
    assert dense(feats)["i2"] == {}


def test_multilabel_strings_lists_and_separators():
    df = pd.DataFrame({
        "item_id": ["i1", "i2", "i3"],
        "genres": ["Drama|Comedy|Drama", "", None],
        "tags": [["x", "y"], ("y",), ["", None, "z"]],
        "kw": ["a; b", "b", "c ;"],
    })
    feats = Features.from_pandas(df, "item_id", ITEMS, multilabel={"genres": "|", "tags": "|",
                                                                    "kw": ";"})
    got = dense(feats)
    assert got["i1"] == {"genres=Comedy": 1.0, "genres=Drama": 1.0, "tags=x": 1.0,
                         "tags=y": 1.0, "kw=a": 1.0, "kw=b": 1.0}
    assert got["i2"] == {"tags=y": 1.0, "kw=b": 1.0}
    assert got["i3"] == {"tags=z": 1.0, "kw=c": 1.0}


def test_numeric_scaled_and_raw():
    df = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "price": [1.0, 2.0, 3.0]})
    raw = Features.from_pandas(df, "item_id", ITEMS, numeric=["price"], scale=False)
    assert raw.matrix.toarray().ravel().tolist() == [1.0, 2.0, 3.0]
    scaled = Features.from_pandas(df, "item_id", ITEMS, numeric=["price"])
    values = scaled.matrix.toarray().ravel()
    assert values.mean() == pytest.approx(0.0, abs=1e-6)
    assert values.std() == pytest.approx(1.0, abs=1e-6)
    constant = Features.from_pandas(df.assign(price=5.0), "item_id", ITEMS, numeric=["price"])
    assert np.all(constant.matrix.toarray() == 0.0)


def test_blocks_combine_in_order():
    df = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "c": ["a", "b", "a"],
                       "g": ["x|y", "y", "x"], "p": [1, 2, 3]})
    feats = Features.from_pandas(df, "item_id", ITEMS, categorical=["c"], multilabel=["g"],
                                 numeric=["p"], scale=False)
    assert feats.names.tolist() == ["c=a", "c=b", "g=x", "g=y", "p"]
    assert feats.matrix.toarray().tolist() == [[1, 0, 1, 1, 1], [0, 1, 0, 1, 2], [1, 0, 1, 0, 3]]


def test_ids_absent_from_the_index_are_an_error_naming_them():
    df = pd.DataFrame({"item_id": ["i1", "nope", "i2"], "c": ["a", "b", "c"]}, index=[5, 6, 7])
    with pytest.raises(DataError, match=r"1 id\(s\) in column 'item_id' are not in the index, "
                                        r"e.g. \['nope'\] \(first at row 6\)"):
        Features.from_pandas(df, "item_id", ITEMS, categorical=["c"])


def test_other_errors():
    df = pd.DataFrame({"item_id": ["i1", "i2"], "c": ["a", "b"], "p": [1.0, np.nan]})
    with pytest.raises(ColumnError, match="'color'"):
        Features.from_pandas(df, "item_id", ITEMS, categorical=["color"])
    with pytest.raises(ColumnError, match="'id'"):
        Features.from_pandas(df, "id", ITEMS, categorical=["c"])
    with pytest.raises(DataError, match="repeats id"):
        Features.from_pandas(pd.concat([df, df]), "item_id", ITEMS, categorical=["c"])
    with pytest.raises(DataError, match="missing id.*row 1"):
        Features.from_pandas(df.assign(item_id=["i1", None]), "item_id", ITEMS,
                             categorical=["c"])
    with pytest.raises(DataError, match="numeric column 'p'.*row 1"):
        Features.from_pandas(df, "item_id", ITEMS, numeric=["p"])
    with pytest.raises(DataError, match="numeric column 'p'"):
        Features.from_pandas(df.assign(p=pd.array([1, None], dtype="Int64")), "item_id", ITEMS,
                             numeric=["p"])
    with pytest.raises(DataError, match="no feature columns"):
        Features.from_pandas(df, "item_id", ITEMS)
    with pytest.raises(DataError, match="unhashable"):
        Features.from_pandas(df.assign(c=[["a"], ["b"]]), "item_id", ITEMS, categorical=["c"])
    with pytest.raises(DataError, match="does not match"):
        Features(sp.csr_matrix((2, 2)), ["a", "b"], ITEMS)


def test_identity():
    feats = Features.identity(ITEMS)
    assert feats.names.tolist() == ["id=i1", "id=i2", "id=i3"]
    assert (feats.matrix != sp.identity(3)).nnz == 0


def test_movielens_genres(ml100k_dir):
    """u.item: 19 genre flags per movie, aligned to the ratings' item index."""
    inter = Interactions.read_csv(ml100k_dir / "u.data", user="user", item="item", sep="\t",
                                  names=["user", "item", "rating", "time"])
    genres = pd.read_csv(ml100k_dir / "u.genre", sep="|", names=["genre", "code"])
    columns = ["item", "title", "release", "video", "url", *genres["genre"]]
    movies = pd.read_csv(ml100k_dir / "u.item", sep="|", names=columns, encoding="latin-1")
    flags = movies[genres["genre"]].to_numpy().astype(bool)
    movies["genres"] = [[g for g, on in zip(genres["genre"], row, strict=True) if on]
                        for row in flags]
    feats = Features.from_pandas(movies, "item", inter.items, multilabel=["genres"])
    assert feats.matrix.shape == (1682, 19)
    assert feats.matrix.nnz == int(flags.sum())
    rows = inter.items.to_index(movies["item"])
    names = [f"genres={g}" for g in genres["genre"]]
    order = [feats.names.tolist().index(n) for n in names]
    assert np.array_equal(feats.matrix.toarray()[rows][:, order], flags.astype(np.float32))
