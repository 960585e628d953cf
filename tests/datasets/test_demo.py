"""The embedded demo data set: sizes, determinism, and the structure planted in it."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.datasets import demo, make_demo
from recsys.datasets.demo import EVENT_WEIGHTS, demo_dir
from recsys.errors import DataError

FILES = ("items.csv.gz", "users.csv.gz", "events.csv.gz", "README.md")


@pytest.fixture(scope="module")
def ds():
    return demo()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    assert make_demo.main([str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def orders(ds) -> pd.DataFrame:
    """One row per purchased item with its order id, category and compatibility key."""
    bought = ds.events[ds.events["event"] == "purchase"]
    return bought.join(ds.items[["category", "compatibility"]], on="item_id")


# ---------------------------------------------------------------------------- shape and sizes
def test_committed_files_exist_and_are_small():
    folder = demo_dir()
    assert folder == Path(make_demo.__file__).resolve().parents[2] / "data" / "demo"
    sizes = {name: (folder / name).stat().st_size for name in FILES}
    assert sum(sizes.values()) < 3_000_000, sizes


def test_sizes(ds):
    inter = ds.interactions
    assert inter.shape == (2000, 1000)  # every user and every item has an event
    assert 80_000 <= len(ds.events) <= 120_000
    assert len(ds.items) == inter.n_items and len(ds.users) == inter.n_users
    assert inter.nnz > 30_000
    assert inter.timestamps is not None


def test_items_frame(ds):
    items = ds.items
    assert items.index.name == "item_id" and items.index.is_unique
    assert list(items.columns) == ["title", "category", "brand", "price", "description",
                                   "compatibility"]
    assert items["title"].is_unique
    assert items["category"].nunique() >= 15
    assert (items["price"] > 0).all()
    assert items["description"].str.len().between(20, 200).all()
    assert items[["title", "category", "brand", "price", "description"]].notna().all().all()


def test_events_frame(ds):
    events = ds.events
    assert list(events.columns) == ["user_id", "item_id", "event", "timestamp", "basket_id"]
    assert set(events["event"]) == {"view", "cart", "purchase"}
    counts = events["event"].value_counts()
    assert counts["view"] > counts["cart"] > counts["purchase"] > 5000
    assert events["timestamp"].is_monotonic_increasing
    assert events["timestamp"].min() >= pd.Timestamp("2024-01-01")
    assert events["timestamp"].max() < pd.Timestamp("2024-07-01")
    is_purchase = events["event"] == "purchase"
    assert events.loc[is_purchase, "basket_id"].notna().all()
    assert events.loc[~is_purchase, "basket_id"].isna().all()
    # an order belongs to one user
    assert (events[is_purchase].groupby("basket_id")["user_id"].nunique() == 1).all()


def test_interaction_weights_sum_event_weights(ds):
    events = ds.events.assign(weight=ds.events["event"].map(EVENT_WEIGHTS))
    expected = events.groupby(["user_id", "item_id"]).agg(
        weight=("weight", "sum"), timestamp=("timestamp", "max"))
    got = ds.interactions.to_pandas().set_index(["user", "item"]).sort_index()
    assert len(got) == len(expected)
    np.testing.assert_array_equal(got["weight"].to_numpy(),
                                  expected.loc[got.index, "weight"].to_numpy())
    seconds = expected.loc[got.index, "timestamp"].to_numpy().astype("datetime64[s]")
    np.testing.assert_array_equal(got["timestamp"].to_numpy(), seconds.astype(np.int64))


def test_features(ds):
    names = list(ds.item_features.names)
    assert "price" in names
    assert sum(n.startswith("category=") for n in names) == ds.items["category"].nunique()
    assert sum(n.startswith("brand=") for n in names) == ds.items["brand"].nunique()
    assert ds.item_features.index == ds.interactions.items
    assert ds.user_features.index == ds.interactions.users
    np.testing.assert_array_equal(ds.user_features.matrix.sum(axis=1), 2.0)


# ---------------------------------------------------------------------------- determinism
def test_regenerating_gives_the_committed_data(regenerated):
    for name in FILES:
        new, old = regenerated / name, demo_dir() / name
        if name.endswith(".gz"):
            # compare the CSV text: gzip bytes may differ between zlib builds
            assert gzip.decompress(new.read_bytes()) == gzip.decompress(old.read_bytes()), name
        else:
            assert new.read_text() == old.read_text(), name


def test_loading_the_regenerated_folder_gives_equal_frames(ds, regenerated):
    again = demo(regenerated)
    pd.testing.assert_frame_equal(again.events, ds.events)
    pd.testing.assert_frame_equal(again.items, ds.items)
    pd.testing.assert_frame_equal(again.users, ds.users)
    assert (again.interactions.matrix != ds.interactions.matrix).nnz == 0


def test_gzip_output_is_byte_stable(tmp_path):
    data = make_demo.csv_bytes(pd.DataFrame({"a": [1.5, 2.25], "b": ["x", "y"]}))
    assert data == b"a,b\n1.50,x\n2.25,y\n"
    make_demo.write_gzip(tmp_path / "one.gz", data)
    make_demo.write_gzip(tmp_path / "two.gz", data)
    raw = (tmp_path / "one.gz").read_bytes()
    assert raw == (tmp_path / "two.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # no modification time in the header


def test_missing_folder_says_how_to_regenerate(tmp_path):
    with pytest.raises(DataError, match="make_demo"):
        demo(tmp_path)


def test_bad_event_type_is_named(tmp_path, regenerated):
    for name in ("items.csv.gz", "users.csv.gz"):
        (tmp_path / name).write_bytes((regenerated / name).read_bytes())
    text = gzip.decompress((regenerated / "events.csv.gz").read_bytes()).decode()
    header, first, rest = text.split("\n", 2)
    (tmp_path / "events.csv.gz").write_bytes(
        gzip.compress("\n".join([header, first.replace(",view,", ",click,"), rest]).encode()))
    with pytest.raises(DataError, match="line 2: unknown event 'click'"):
        demo(tmp_path)


# ---------------------------------------------------------------------------- planted structure
@pytest.fixture(scope="module")
def order_categories(orders) -> pd.DataFrame:
    """orders x categories, True where the order holds an item of the category."""
    return pd.crosstab(orders["basket_id"], orders["category"]) > 0


@pytest.mark.parametrize("device, accessory", [
    ("Smartphones", "Phone cases"), ("Cameras", "Memory cards"),
    ("Game consoles", "Video games"), ("Printers", "Ink & toner"),
    ("Coffee machines", "Coffee"),
])
def test_complements_are_bought_together(order_categories, device, accessory):
    with_device = order_categories[device]
    with_accessory = order_categories[accessory]
    conditional, base = with_accessory[with_device].mean(), with_accessory.mean()
    assert conditional > 0.4
    assert conditional > 5 * base


def test_complements_fit_the_device(orders):
    """A case bought with a phone is made for a phone of that order (same compatibility)."""
    phones = orders[orders["category"] == "Smartphones"]
    models = phones.groupby("basket_id")["compatibility"].agg(set)
    cases = orders[(orders["category"] == "Phone cases")
                   & orders["basket_id"].isin(models.index)]
    assert len(cases) > 50
    fits = [key in models[basket] for basket, key in
            zip(cases["basket_id"], cases["compatibility"], strict=True)]
    assert np.mean(fits) > 0.95


def test_popularity_is_long_tailed(ds):
    counts = np.sort(ds.events["item_id"].value_counts().to_numpy())[::-1]
    share_top_decile = counts[: len(counts) // 10].sum() / counts.sum()
    assert share_top_decile > 0.4
    assert counts[0] / counts.sum() < 0.05  # no single item dominates
    assert counts[-1] >= 1


def test_users_have_taste_clusters(ds):
    """A user's categories are concentrated: the top 3 hold most of their events."""
    per_user = ds.events.join(ds.items["category"], on="item_id").groupby(
        ["user_id", "category"]).size()
    share = per_user.groupby(level=0).apply(lambda s: np.sort(s.to_numpy())[::-1][:3].sum()
                                            / s.sum())
    active = ds.events.groupby("user_id").size() >= 20
    assert share[active].median() > 0.6


def recall_at_k(scores: np.ndarray, train: sp.csr_matrix, test: sp.csr_matrix, k=10) -> float:
    scores = np.where(train.toarray() > 0, -np.inf, scores)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    relevant = test.toarray() > 0
    hits = np.take_along_axis(relevant, top, axis=1).sum(axis=1)
    n_relevant = relevant.sum(axis=1)
    ok = n_relevant > 0
    return float((hits[ok] / np.minimum(n_relevant[ok], k)).mean())


def test_item_knn_clearly_beats_popularity(ds):
    """The planted structure is learnable: item-item cosine kNN >> most popular items."""
    binary = ds.interactions.matrix.copy().tocoo()
    rng = np.random.default_rng(0)
    held_out = rng.random(binary.nnz) < 0.2
    def part(mask):
        return sp.csr_matrix((np.ones(mask.sum()), (binary.row[mask], binary.col[mask])),
                             shape=binary.shape)
    train, test = part(~held_out), part(held_out)
    popularity = np.asarray(train.sum(axis=0)).ravel()
    pop = recall_at_k(np.broadcast_to(popularity, train.shape), train, test)
    norms = np.sqrt(np.asarray(train.sum(axis=0)).ravel()) + 1e-9
    similarity = (train.T @ train).toarray() / np.outer(norms, norms)
    np.fill_diagonal(similarity, 0.0)
    knn = recall_at_k(np.asarray(train @ similarity), train, test)
    assert knn > 2 * pop, (knn, pop)
    assert pop < 0.2  # the most popular items are not simply the answer
