"""The conformance suite every recommender passes, shipped so your own family can pass it too.

The data is a block-structured matrix with a known right answer: users of block b interact
only with items of block b, each missing a few, so a personalized model must recommend
exactly the missing items of the user's own block. Each check fits what it needs and raises
``AssertionError`` naming what broke.

Examples
--------
>>> from recsys.models import ItemKNN
>>> check_recommender(lambda: ItemKNN(similarity="cosine", k=20))  # doctest: +ELLIPSIS
[...'known_answer', ...]
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import (
    ConfigError,
    NotFittedError,
    RecsysError,
    RecsysWarning,
    UnknownIdError,
)
from recsys.models.base import Recommender
from recsys.serving.persistence import load, save

N_BLOCKS, USERS_PER_BLOCK, ITEMS_PER_BLOCK, MISSING = 3, 20, 12, 3


def block_interactions(seed: int = 0) -> tuple[Interactions, dict[str, set[str]]]:
    """Users ``u<b>_<j>`` see all but MISSING random items ``i<b>_<j>`` of their block b,
    and the missing items per user.

    Popularity inside a block differs (item j of a block is missing for fewer users the larger
    j is) so that the popularity baseline has a well-defined order too.
    """
    rng = np.random.default_rng(seed)
    users: list[str] = []
    items: list[str] = []
    missing: dict[str, set[str]] = {}
    for block in range(N_BLOCKS):
        block_items = np.array([f"i{block}_{j:02d}" for j in range(ITEMS_PER_BLOCK)])
        p = np.linspace(2.0, 0.2, ITEMS_PER_BLOCK)  # lower-numbered items go missing more
        for j in range(USERS_PER_BLOCK):
            user = f"u{block}_{j:02d}"
            gone = rng.choice(ITEMS_PER_BLOCK, size=MISSING, replace=False, p=p / p.sum())
            keep = np.setdiff1d(np.arange(ITEMS_PER_BLOCK), gone)
            users += [user] * len(keep)
            items += block_items[keep].tolist()
            missing[user] = set(block_items[gone].tolist())
    weights = 1.0 + rng.integers(0, 3, size=len(users))
    return Interactions.from_arrays(users, items, weights=weights), missing


def block_items(inter: Interactions) -> Dataset:
    """The interactions with an items frame whose ``category`` is the item's block (for
    families that read item metadata)."""
    import pandas as pd

    ids = inter.items.ids
    items = pd.DataFrame({"category": [i.split("_")[0] for i in ids]}, index=ids)
    return Dataset(inter, items=items)


@dataclass
class Case:
    """A family under test: how to build it, and what ``fit`` receives.

    ``personalized=False`` marks baselines (the known answer is then the popularity order);
    ``data`` turns the block interactions into what ``fit`` takes (e.g. :func:`block_items`).
    """

    factory: Callable[[], Recommender]
    personalized: bool = True
    data: Callable[[Interactions], Any] | None = None
    _fitted: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return repr(self.factory())

    def fit_input(self, inter: Interactions) -> Any:
        return inter if self.data is None else self.data(inter)

    def fitted(self) -> tuple[Recommender, Interactions, dict[str, set[str]]]:
        """A model fitted on the block data (fitted once per case, then shared)."""
        if not self._fitted:
            inter, missing = block_interactions()
            self._fitted.update(model=self.factory().fit(self.fit_input(inter)), inter=inter,
                                missing=missing)
        return self._fitted["model"], self._fitted["inter"], self._fitted["missing"]


@contextmanager
def _raises(kind: type[BaseException], text: str = "") -> Iterator[None]:
    try:
        yield
    except kind as exc:
        assert text in str(exc), f"{kind.__name__} does not mention {text!r}: {exc}"
        return
    raise AssertionError(f"expected {kind.__name__}")


@contextmanager
def _warns(text: str) -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert any(issubclass(w.category, RecsysWarning) and text in str(w.message)
               for w in caught), f"expected a RecsysWarning mentioning {text!r}"


def _same(a: Any, b: Any, what: str) -> None:
    np.testing.assert_array_equal(a.positions, b.positions, err_msg=what)
    np.testing.assert_array_equal(a.scores, b.scores, err_msg=what)


def check_fit_returns_self_and_params_round_trip(case: Case) -> None:
    model, inter, _ = case.fitted()
    fresh = case.factory()
    assert fresh.fit(case.fit_input(inter)) is fresh, "fit must return self"
    params = model.get_params()
    assert type(model)(**params).get_params() == params, "get_params does not round-trip"
    assert repr(model).startswith(type(model).__name__ + "(")
    assert not model.clone().is_fitted, "clone must be unfitted"


def check_unfitted_model_raises(case: Case) -> None:
    with _raises(NotFittedError):
        case.factory().recommend(["u0_00"])


def check_known_answer(case: Case) -> None:
    model, inter, missing = case.fitted()
    users = sorted(missing)
    recs = model.recommend(users, k=MISSING)
    frame = inter.to_pandas()
    if case.personalized:
        for user in users:
            assert set(recs[user]) == missing[user], f"wrong items for {user}"
        return
    counts = frame.groupby("item")["weight"].agg(
        "size" if model.get_params().get("by", "count") == "count" else "sum")
    for user in users:
        seen = set(frame.loc[frame["user"] == user, "item"])
        expected = (counts.drop(list(seen)).reset_index()
                    .assign(pos=lambda f: inter.items.to_index(f["item"].to_numpy()))
                    .sort_values(["weight", "pos"], ascending=[False, True])["item"])
        assert recs[user] == expected.tolist()[:MISSING], f"wrong popularity order for {user}"


def check_seen_items_are_excluded(case: Case) -> None:
    model, inter, _ = case.fitted()
    frame = model.recommend(list(inter.users.ids), k=inter.n_items).to_pandas()
    seen = inter.to_pandas()[["user", "item"]]
    assert frame.merge(seen, on=["user", "item"]).empty, "a seen item was recommended"
    per_user = frame.groupby("user").size().sort_index()
    unseen = (inter.n_items - seen.groupby("user").size()).sort_index()
    assert (per_user == unseen).all(), "fewer than k items while k valid items exist"
    again = model.recommend(["u0_00"], k=inter.n_items, exclude_seen=False)
    assert len(again["u0_00"]) == inter.n_items, "exclude_seen=False must offer every item"


def check_allow_and_deny_lists(case: Case) -> None:
    model, inter, missing = case.fitted()
    allowed = ["i1_00", "i1_05", "i0_03", "i2_11", "not-an-item"]
    denied = ["i0_03"]
    recs = model.recommend(["u0_00", "u1_04"], k=10, items=allowed, exclude=denied)
    frame = inter.to_pandas()
    for user in ("u0_00", "u1_04"):
        seen = set(frame.loc[frame["user"] == user, "item"])
        assert set(recs[user]) == set(allowed[:4]) - set(denied) - seen, user
    denied_all = model.recommend(["u0_00"], k=5, exclude=sorted(missing["u0_00"]))
    assert not set(denied_all["u0_00"]) & missing["u0_00"], "a denied item was recommended"


def check_unknown_users_follow_the_policy(case: Case) -> None:
    model, _, _ = case.fitted()
    with _raises(UnknownIdError, "nobody"):
        model.recommend(["u0_00", "nobody"], k=3)
    skipped = model.recommend(["u0_00", "nobody"], k=3, on_unknown="skip")
    assert skipped.keys.tolist() == ["u0_00"], "skip must drop the unknown user"
    fallback = model.recommend(["nobody"], k=3, on_unknown="fallback")
    popular = np.argsort(-model.item_popularity_, kind="stable")[:3]
    assert fallback["nobody"] == model.items_.to_ids(popular).tolist(), "fallback order"
    with _warns("zzz"):
        only_unknown = model.recommend(["nobody"], k=3, history={"nobody": ["zzz"]},
                                       on_unknown="fallback")
    assert only_unknown["nobody"] == fallback["nobody"], "no known item must fall back"


def check_fold_in_matches_known_user(case: Case) -> None:
    model, inter, _ = case.fitted()
    if not model.supports_unknown_users:
        return
    frame = inter.to_pandas()
    history = frame[frame["user"] == "u2_07"].assign(user="newcomer")[["user", "item", "weight"]]
    folded = model.recommend(["newcomer"], k=5, history=history)
    known = model.recommend(["u2_07"], k=5)
    assert folded["newcomer"] == known["u2_07"], "fold-in differs from the known user"
    np.testing.assert_allclose(folded.scores, known.scores, rtol=1e-5)


def check_similar_items(case: Case) -> None:
    model, _, _ = case.fitted()
    with _raises(UnknownIdError, "no-such-item"):
        model.similar_items(["i0_00", "no-such-item"])
    skipped = model.similar_items(["no-such-item", "i0_00"], on_unknown="skip")
    assert skipped.keys.tolist() == ["i0_00"]
    sims = model.similar_items(["i0_00", "i2_05"], k=5)
    assert "i0_00" not in sims["i0_00"] and len(sims["i0_00"]) == 5, "the item itself"
    if case.personalized:
        assert all(item.startswith("i0_") for item in sims["i0_00"]), "left the block"
        assert all(item.startswith("i2_") for item in sims["i2_05"]), "left the block"


def check_basket_excludes_its_items(case: Case) -> None:
    model, _, _ = case.fitted()
    basket = ["i1_00", "i1_01", "i1_02", "unknown-item"]
    with _warns("unknown-item"):
        recs = model.recommend_for_basket(basket, k=4).to_pandas()
    assert not set(recs["item"]) & set(basket), "a basket item was recommended"
    assert len(recs) == 4 and recs["rank"].tolist() == [1, 2, 3, 4]
    if case.personalized:
        assert recs["item"].str.startswith("i1_").all(), "left the basket's block"


def check_batch_equals_one_by_one(case: Case) -> None:
    model, inter, _ = case.fitted()
    users = list(inter.users.ids[::7])
    batch = model.recommend(users, k=5)
    for i, user in enumerate(users):
        single = model.recommend(user, k=5)
        assert single[user] == batch[user], f"batch and single differ for {user}"
        np.testing.assert_allclose(single.scores[0], batch.scores[i], rtol=1e-6)


def check_refit_and_seed_determinism(case: Case) -> None:
    model, inter, _ = case.fitted()
    users = list(inter.users.ids)
    first = model.recommend(users, k=5)
    refit = case.factory().fit(case.fit_input(inter))
    again = refit.fit(case.fit_input(inter))
    for other in (refit, again):
        np.testing.assert_array_equal(first.positions, other.recommend(users, k=5).positions,
                                      err_msg="a refit with the same seed differs")


def check_failed_fit_leaves_the_model_intact(case: Case) -> None:
    """A fit that fails (on other data, late in the fit) leaves the fitted model as it was."""
    inter, _ = block_interactions()
    model = case.factory().fit(case.fit_input(inter))
    users = list(inter.users.ids)
    before = model.recommend(users, k=5)
    other, _ = block_interactions(seed=1)
    other = Interactions.from_arrays(
        [*other.to_pandas()["user"], "extra-user"], [*other.to_pandas()["item"], "extra-item"])
    family = type(model)
    real_fit, own = family._fit, "_fit" in vars(family)

    def failing_fit(self: Recommender, *args: Any) -> None:
        real_fit(self, *args)
        raise RuntimeError("late failure")

    family._fit = failing_fit  # type: ignore[method-assign, assignment]
    try:
        with _raises(RuntimeError, "late failure"):
            model.fit(case.fit_input(other))
    finally:
        if own:
            family._fit = real_fit  # type: ignore[method-assign]
        else:
            del family._fit
    assert model.is_fitted and len(model.users_) == inter.n_users, "state was replaced"
    _same(before, model.recommend(users, k=5), "answers changed after a failed fit")
    for name, value in model.get_params().items():  # a real failure: an invalid parameter
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        model.set_params(**{name: -1 if isinstance(value, (int, float)) else "<invalid>"})
        try:
            model.fit(case.fit_input(other))
            failed = False
        except RecsysError:
            failed = True
        model.set_params(**{name: value})
        if failed:
            _same(before, model.recommend(users, k=5), f"answers changed after {name}=-1")
        else:  # the value was valid: back to the block data for the next parameter
            model.fit(case.fit_input(inter))


def check_results_use_external_ids_and_sorted_scores(case: Case) -> None:
    model, inter, _ = case.fitted()
    frame = model.recommend(list(inter.users.ids[:10]), k=6).to_pandas()
    assert list(frame.columns) == ["user", "item", "score", "rank"]
    assert frame["item"].isin(inter.items.ids).all(), "an internal index leaked"
    assert (frame.groupby("user")["score"].diff().dropna() <= 0).all(), "not sorted by score"


def check_update_follows_events(case: Case) -> None:
    """``update`` with a known user's event, a new user and a new item: the ids grow, the
    taken item leaves the user's list, the new user is known; a bad batch changes nothing.
    A family that cannot update says so with a ConfigError and changes nothing either."""
    import pandas as pd

    inter, missing = block_interactions()
    model = case.factory().fit(case.fit_input(inter))
    users = list(inter.users.ids)
    before = model.recommend(users, k=5)
    taken = sorted(missing["u0_00"])[0]
    if case.personalized:  # one of the user's missing items, so in their list until taken
        assert taken in before["u0_00"], "the block's missing item was not recommended"
    events = pd.DataFrame({"user_id": ["u0_00", "newcomer", "newcomer", "u1_00"],
                           "item_id": [taken, "i1_00", "i1_01", "i-new"]})
    bad = events.assign(weight=[1.0, 1.0, float("nan"), 1.0])
    with _raises(RecsysError, "weight"):
        model.update(bad)
    _same(before, model.recommend(users, k=5), "answers changed after a rejected update")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RecsysWarning)  # new items a family cannot score
            assert model.update(events) is model, "update must return self"
    except ConfigError:
        _same(before, model.recommend(users, k=5), "answers changed after a refused update")
        return
    assert (len(model.users_), len(model.items_)) == (inter.n_users + 1, inter.n_items + 1)
    assert taken not in model.recommend("u0_00", k=inter.n_items + 1)["u0_00"], \
        "an item taken in an update was recommended again"
    newcomer = model.recommend("newcomer", k=5)["newcomer"]
    assert len(newcomer) == 5 and not {"i1_00", "i1_01"} & set(newcomer), "newcomer's items"
    assert model.item_popularity_[model.items_.to_index(["i-new"])[0]] == 1.0


def check_save_load_round_trip(case: Case) -> None:
    model, inter, _ = case.fitted()
    users = list(inter.users.ids)
    with tempfile.TemporaryDirectory() as directory:
        loaded = load(save(model, Path(directory) / "model"))
    assert type(loaded) is type(model) and repr(loaded) == repr(model), "parameters differ"
    _same(model.recommend(users, k=5), loaded.recommend(users, k=5), "after loading")
    assert loaded.similar_items(["i0_00"], k=3)["i0_00"] == model.similar_items(
        ["i0_00"], k=3)["i0_00"], "similar items differ after loading"


CHECKS: dict[str, Callable[[Case], None]] = {
    name.removeprefix("check_"): function for name, function in list(globals().items())
    if name.startswith("check_") and name != "check_recommender"
}


def check_recommender(factory: Callable[[], Recommender], *, personalized: bool = True,
                      data: Callable[[Interactions], Any] | None = None) -> list[str]:
    """Run every conformance check on the family ``factory`` builds; returns the names of
    the checks passed, or raises ``AssertionError`` naming the first that failed.

    Parameters
    ----------
    factory : callable
        Returns a new unfitted model (with a fixed seed, for the determinism check).
    personalized : bool
        False for baselines, whose known answer is the popularity order.
    data : callable, optional
        Turns the block :class:`~recsys.data.interactions.Interactions` into what ``fit``
        takes (e.g. :func:`block_items` for families that read item metadata).
    """
    case = Case(factory, personalized, data)
    for name, check in CHECKS.items():
        try:
            check(case)
        except AssertionError as exc:
            raise AssertionError(f"{case!r} fails the check {name!r}: {exc}") from exc
    return list(CHECKS)
