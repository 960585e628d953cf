"""LightFM hybrid matrix factorisation (Kula, 2015) on lightfm-next, an optional dependency.

Training runs in lightfm; scoring does not: the learned per-feature embeddings and biases are
kept as arrays and scores are computed here with one matrix product per batch, so a saved model
loads and serves without lightfm installed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int, check_real
from recsys._progress import progress
from recsys.data.dataset import Dataset
from recsys.data.features import Features, encode_rows, encoding_columns
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError, ModelFileError
from recsys.models._state import expect, expect_scalar
from recsys.models.base import (
    EVENT_COLUMNS,
    Changes,
    Recommender,
    padded,
    replace_rows,
)
from recsys.ranking.heldout import held_rows, mean_accuracy
from recsys.ranking.topk import take_rows
from recsys.split import random as random_split

if TYPE_CHECKING:  # typing.Self is Python 3.11+; annotations are not evaluated
    from typing_extensions import Self

LOG = logging.getLogger("recsys")

LOSSES = ("warp", "bpr", "logistic", "warp-kos")
# epochs="auto": early stopping on a validation split carved from the training data (see the
# class docstring for the measurements behind these numbers).
AUTO_VALID_SIZE = 0.2  # share of each user's entries held out
AUTO_MAX_EPOCHS = 100  # epochs tried at most
AUTO_DENSE = 10  # validation NDCG@10 is computed after every epoch up to this one,
AUTO_EVERY = 5  # then every this many epochs
AUTO_PATIENCE = 20  # epochs without a new best before the search stops
AUTO_K = 10  # cutoff of the validation NDCG
# The count trained on all the data per epoch best on the validation split: the final model
# sees 1 / (1 - AUTO_VALID_SIZE) times the data, and more data overfits later.
AUTO_SCALE = 1.0 / (1.0 - AUTO_VALID_SIZE)
AUTO_FALLBACK_EPOCHS = 50  # when there is nothing to validate on (no user has 2 entries)
NORMALIZATIONS = ("side", "row", None)
INSTALL_HINT = 'pip install "recsys-lab[lightfm]"'


def import_lightfm():
    """The lightfm package, or an ImportError that says how to install it."""
    try:
        import lightfm
    except ImportError as exc:
        raise ImportError(
            "rs.LightFM needs the optional dependency lightfm-next (import name lightfm); "
            f"install it with: {INSTALL_HINT}") from exc
    return lightfm


def lightfm_available() -> bool:
    """Whether the optional lightfm package can be imported."""
    import importlib.util

    return importlib.util.find_spec("lightfm") is not None


def feature_matrix(active: np.ndarray, side: Features | None, identity: bool,
                   normalize: str | None, what: str) -> sp.csr_matrix:
    """Rows of LightFM input features: one indicator per id, then the side features.

    The indicator of an id with no training interaction (``active`` false) is left out: its
    embedding would never be trained and would add only its random initial value to the
    representation, so a cold item or user is represented by its side features alone.
    """
    indicators = (sp.diags(active.astype(np.float32), format="csr", dtype=np.float32)
                  if identity else None)
    return assemble(indicators, None if side is None else side.matrix, normalize, what)


def assemble(indicators: sp.csr_matrix | None, side: sp.csr_matrix | None,
             normalize: str | None, what: str) -> sp.csr_matrix:
    """Feature rows from an identity block and side features, normalised as configured."""
    blocks = [] if indicators is None else [indicators]
    if side is not None:
        side_matrix = sp.csr_matrix(side, dtype=np.float32)
        blocks.append(_unit_rows(side_matrix) if normalize == "side" else side_matrix)
    if not blocks:
        raise ConfigError(f"LightFM has no {what} features: identity_features=False needs "
                          f"{what} side features in the Dataset (and use_{what}_features=True)")
    matrix = sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=np.float32)
    if normalize == "row":
        matrix = _unit_rows(matrix)
    matrix.eliminate_zeros()  # the identity of inactive ids
    matrix.sort_indices()
    return matrix


def _signs(matrix: sp.csr_matrix) -> sp.coo_matrix:
    """The training matrix lightfm is given: +1 for positives, -1 for the other entries
    (lightfm reads positives as data > 0; weights beyond the sign play no part)."""
    positive = matrix.data > 0
    return sp.coo_matrix((np.where(positive, 1.0, -1.0).astype(np.float32),
                          (np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)),
                           matrix.indices)), shape=matrix.shape)


def validation_ndcg(backend, user_features: sp.csr_matrix, item_features: sp.csr_matrix,
                    seen: sp.csr_matrix, relevant: sp.csr_matrix, k: int = AUTO_K) -> float:
    """Mean NDCG@k of a lightfm model over users given by their feature rows, ranking every
    item but their ``seen`` ones against their ``relevant`` ones (rows aligned with
    ``user_features``), scored as :meth:`LightFM._score` scores."""
    user_vectors = np.asarray(user_features @ backend.user_embeddings)
    user_bias = np.asarray(user_features @ backend.user_biases)
    item_vectors = np.asarray(item_features @ backend.item_embeddings)
    item_bias = np.asarray(item_features @ backend.item_biases)

    def scores_of(rows: np.ndarray) -> list[np.ndarray]:
        scores = user_vectors[rows] @ item_vectors.T
        scores += item_bias[None, :]
        scores += user_bias[rows, None]
        return [scores]

    return float(mean_accuracy(scores_of, seen, relevant, k=k)[0])


def _unit_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to absolute sum 1 (all-zero rows stay zero)."""
    sums = np.asarray(abs(matrix).sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix, dtype=np.float32)


class LightFM(Recommender):
    """Hybrid matrix factorisation: users and items are sums of the embeddings of their
    features (an identity indicator plus side features such as genres or demographics).

    The score of user u for item i is ``(f_u @ E_user) . (g_i @ E_item) + f_u @ b_user +
    g_i @ b_item``, with ``f_u`` / ``g_i`` the rows of the user / item feature matrices.
    Items and users without interactions but with side features (cold start) are scored
    from those features, provided they are in the fitted id index (a Dataset built on the
    full catalog and split with :mod:`recsys.split` keeps them). An id with neither
    interactions nor side features has an empty feature row: its scores are the item biases
    alone, a learned popularity ranking.

    Parameters
    ----------
    loss : {"warp", "bpr", "logistic", "warp-kos"}
        Ranking loss; "logistic" needs explicit negatives (entries with weight <= 0).
    components : int
        Embedding dimension.
    learning_rate : float
        Initial adagrad learning rate.
    epochs : int or "auto"
        Passes over the interactions. "auto" chooses the count at ``fit`` by early stopping
        on a validation split carved from the training data (see Notes); the count used is
        ``epochs_``.
    item_alpha, user_alpha : float
        L2 penalty on item / user feature embeddings.
    max_sampled : int
        Negatives WARP samples at most per positive before it gives up.
    use_item_features, use_user_features : bool
        Use the Dataset's ``item_features`` / ``user_features`` (ignored when fitting on
        plain Interactions, or when the Dataset has none).
    identity_features : bool
        Give every user and item its own indicator feature (pure collaborative filtering when
        there are no side features). Without it, rows are represented by side features only.
    normalize_features : {"side", "row", None}
        "side" scales each row's side features to sum to 1 (in absolute value) while the
        identity feature keeps weight 1: a row with many side features weighs no more than a
        row with one, and the collaborative part is not diluted. "row" scales whole rows to
        sum to 1 (lightfm.data.Dataset's convention); None uses the features as given.
    seed : int, optional
        Seed of the initialisation and of the negative sampling.
    threads : int
        Training threads; 0 uses every core. With more than one thread lightfm updates
        asynchronously (Hogwild) and results are not reproducible bit for bit.

    Attributes
    ----------
    user_features_, item_features_ : scipy.sparse.csr_matrix
        The feature matrices the model was trained with (identity block first).
    user_embeddings_, item_embeddings_ : numpy.ndarray, shape (n_features, components)
    user_biases_, item_biases_ : numpy.ndarray, shape (n_features,)
        lightfm's learned parameters, one row per feature.
    epochs_ : int
        The number of epochs trained (``epochs`` with "auto" resolved).
    epoch_search_ : numpy.ndarray, shape (n_checks, 2)
        ``epochs="auto"`` only: the validation curve the count was read from, one row
        (epochs, NDCG@10) per check; ``epochs_`` is the epochs of its best row (the first of
        equal ones) times 1/0.8, rounded, at most 100. Empty when no user had an entry to
        hold out (every user has one interaction); ``epochs_`` is then 50.

    Notes
    -----
    Memory O((n_user_features + n_item_features) x components) for the parameters, plus the
    per-id representations rebuilt from them (O((n_users + n_items) x components), float64,
    so that scores do not depend on the batch a user is scored in). Training
    costs O(epochs x nnz x components) times the number of negatives WARP samples, which
    grows as the model improves. Scoring a batch is one dense product, as for any factor
    model.

    The defaults were chosen on validation splits of ML-100K and of the demo data
    (benchmarks/tune_ease_rp3_lightfm.py): WARP, 64 components, learning rate 0.02, 50 epochs
    (now chosen per fit, below), no L2 was the best of 20 settings on ML-100K (128 components
    tie at twice the cost; learning rate 0.05 overfits within 25 epochs). With
    ``normalize_features="side"`` item features cost nothing on ML-100K and gain 0.02 NDCG@10 on
    the demo data, where normalising whole rows ("row") cost 0.025 on ML-100K by diluting the
    identity feature. User features cost 0.002 (ML-100K) and 0.012 (demo); they stay on because
    a Dataset that carries them is a request to use them, and they score cold-start users.

    **epochs="auto"** (the default). The right number of epochs depends on the data more than
    any constant allows: on groceries (users are baskets of about 4.4 of 169 items) WARP
    overfits after 4 epochs, NDCG@10 on test falling from 0.228 (4 epochs) to 0.161 (25) and
    0.126 (50), while MovieLens 100K peaks near 75 epochs (0.426), Steam play time near 85
    (0.285) and the demo data near 95 (0.363) (per-user random 80/20 split, seed 42). A fixed 50
    epochs reached 0.78 of the validation-tuned optimum on groceries (issue 13).

    So the count is chosen per fit: 20% of each user's training entries are held out (seed
    ``seed``, 0 when None), a model with the same hyperparameters is trained on the rest epoch
    by epoch, and its NDCG@10 on the held-out entries (full ranking, training items excluded;
    of up to 10,000 users, a random sample beyond) is computed after each of the first 10
    epochs and every 5 epochs after that, up to 100; the search stops 20 epochs after its
    last new best. The best count (the first of equal ones)
    times 1/0.8, rounded and at most 100, is then trained on all the data: the final model sees
    1/0.8 times the data, and more data overfits later.

    Measured (``benchmarks/defaults.py``: a validation split of each training part, seed 7, and
    test): on two validation seeds the best count was 3-4 (groceries), 50-70 (MovieLens), 60-80
    (Steam) and 80-85 (demo), and the best count on the whole training part was 1.1-1.4 times
    that on the three data sets that train long. Scaling by 1/0.8 (the only factor tried besides
    1) raised the validation NDCG@10 of "auto" by 0.0025 to 0.0034 on MovieLens, Steam and demo
    and lowered it by 0.0018 on groceries. On test "auto" then reaches 1.01, 1.00, 1.00 and 1.00
    of the validation-tuned candidate (fixed 5, 10, 25, 50 or 100 epochs at learning rate 0.02,
    25 or 50 at 0.05) on MovieLens, Steam, groceries and demo, and is the leave-one-data-set-out
    choice on each. Unscaled it scored 0.99-1.00 but lost that choice to a constant 100 epochs
    on the three data sets other than groceries, where 100 epochs scores 0.48 of the optimum.

    Cost: before the final fit, a fit on 80% of the data for the best count plus 20 epochs (at
    most 100) and 13 to 28 validation rankings. On one thread, fitting the 80% training parts
    took 12.2 s (62 epochs chosen) on MovieLens, 12.5 s (100) on Steam, 7.8 s (100) on demo and
    1.0 s (4) on groceries, against 4.6, 3.1, 1.8 and 1.4 s for a fixed 50 epochs: 2.6-4.3 times
    as long where the data want many epochs (half of it the longer final fit), less where they
    want few. An integer ``epochs`` trains exactly that many epochs, with no search.

    Examples
    --------
    >>> import recsys as rs
    >>> ds = rs.datasets.demo()
    >>> model = rs.LightFM(epochs=5).fit(ds)  # doctest: +SKIP
    >>> len(model.recommend(ds.interactions.users.ids[:2], k=3))  # doctest: +SKIP
    2
    >>> auto = rs.LightFM().fit(ds)  # doctest: +SKIP
    >>> auto.get_params()["epochs"], auto.epochs_ >= 1  # doctest: +SKIP
    ('auto', True)
    """

    supports_cold_items = True
    supports_add_items = True
    uses_item_features = True

    def __init__(self, loss: str = "warp", components: int = 64, learning_rate: float = 0.02,
                 epochs: int | str = "auto", item_alpha: float = 0.0, user_alpha: float = 0.0,
                 max_sampled: int = 10, use_item_features: bool = True,
                 use_user_features: bool = True, identity_features: bool = True,
                 normalize_features: str | None = "side", seed: int | None = 0,
                 threads: int = 1) -> None:
        self.loss = loss
        self.components = components
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.max_sampled = max_sampled
        self.use_item_features = use_item_features
        self.use_user_features = use_user_features
        self.identity_features = identity_features
        self.normalize_features = normalize_features
        self.seed = seed
        self.threads = threads

    # ------------------------------------------------------------------ fitting
    def _backend(self):
        """An untrained lightfm.LightFM with this model's hyperparameters."""
        lightfm = import_lightfm()
        check_choice("loss", self.loss, LOSSES)
        if self.normalize_features not in NORMALIZATIONS:  # check_choice cannot sort None
            raise ConfigError("normalize_features must be 'side', 'row' or None, got "
                              f"{self.normalize_features!r}")
        return lightfm.LightFM(
            no_components=check_int("components", self.components),
            loss=self.loss,
            learning_rate=check_real("learning_rate", self.learning_rate, strict=True),
            item_alpha=check_real("item_alpha", self.item_alpha),
            user_alpha=check_real("user_alpha", self.user_alpha),
            max_sampled=check_int("max_sampled", self.max_sampled),
            random_state=None if self.seed is None else check_int("seed", self.seed, minimum=0),
        )

    def _epochs(self) -> int | str:
        """``epochs`` checked: a positive integer or "auto"."""
        if isinstance(self.epochs, str) and self.epochs == "auto":
            return "auto"
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)) \
                or self.epochs < 1:
            raise ConfigError(f'epochs must be an integer >= 1 or "auto", got {self.epochs!r}')
        return int(self.epochs)

    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        backend = self._backend()
        epochs = self._epochs()
        threads = check_int("threads", self.threads, minimum=0) or (os.cpu_count() or 1)
        matrix = interactions.matrix
        item_side = dataset.item_features if dataset is not None and self.use_item_features \
            else None
        user_side = dataset.user_features if dataset is not None and self.use_user_features \
            else None
        if not (matrix.data > 0).any():
            raise DataError("LightFM needs at least one interaction with a positive weight")
        if isinstance(epochs, str):  # "auto"
            self.epochs_, self.epoch_search_ = self._searched_epochs(
                interactions, item_side, user_side, threads, show_progress)
        else:
            self.epochs_ = epochs
        self.item_features_, self.user_features_ = self._features(matrix, item_side, user_side)
        # What add_items needs to encode a new item's features as these were.
        self.item_feature_encoding_ = None if item_side is None else item_side.encoding
        self.item_side_names_ = np.asarray([] if item_side is None else item_side.names,
                                           dtype=str)
        train = _signs(matrix)
        for _ in progress(range(self.epochs_), desc="LightFM", unit="epoch",
                          disable=not show_progress):
            # One epoch per call draws the same random stream as fit(epochs=n).
            backend.fit_partial(train, user_features=self.user_features_,
                                item_features=self.item_features_, epochs=1,
                                num_threads=threads)
        self.item_embeddings_ = backend.item_embeddings
        self.item_biases_ = backend.item_biases
        self.user_embeddings_ = backend.user_embeddings
        self.user_biases_ = backend.user_biases
        self._restore()

    def _features(self, matrix: sp.csr_matrix, item_side: Features | None,
                  user_side: Features | None) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Item and user feature rows for training on ``matrix``."""
        active_items = np.bincount(matrix.indices, minlength=matrix.shape[1]) > 0
        active_users = np.diff(matrix.indptr) > 0
        return (feature_matrix(active_items, item_side, self.identity_features,
                               self.normalize_features, "item"),
                feature_matrix(active_users, user_side, self.identity_features,
                               self.normalize_features, "user"))

    def _searched_epochs(self, interactions: Interactions, item_side: Features | None,
                         user_side: Features | None, threads: int,
                         show_progress: bool) -> tuple[int, np.ndarray]:
        """``epochs="auto"``: the epoch count with the best NDCG@10 on a validation split
        carved from the training data, and the curve it was read from (epochs, NDCG@10)."""
        part, valid = random_split(interactions, test_size=AUTO_VALID_SIZE,
                                   seed=0 if self.seed is None else self.seed)
        held = sp.csr_matrix(valid.matrix > 0, dtype=np.float32)
        held.eliminate_zeros()
        users = held_rows(held, seed=0 if self.seed is None else self.seed)
        if len(users) == 0:
            LOG.warning("LightFM: no validation entry to choose epochs on (users have too "
                        "few interactions); %d epochs", AUTO_FALLBACK_EPOCHS)
            return AUTO_FALLBACK_EPOCHS, np.empty((0, 2))
        relevant = take_rows(held, users)
        seen = take_rows(part.matrix, users)
        backend = self._backend()
        item_features, user_features = self._features(part.matrix, item_side, user_side)
        train = _signs(part.matrix)
        scored = take_rows(user_features, users)
        curve: list[tuple[int, float]] = []
        best = 0
        for epoch in progress(range(1, AUTO_MAX_EPOCHS + 1), desc="LightFM epochs=auto",
                              unit="epoch", disable=not show_progress):
            backend.fit_partial(train, user_features=user_features,
                                item_features=item_features, epochs=1, num_threads=threads)
            if epoch > AUTO_DENSE and epoch % AUTO_EVERY:
                continue
            curve.append((epoch, validation_ndcg(backend, scored, item_features, seen,
                                                 relevant)))
            if curve[-1][1] > curve[best][1]:
                best = len(curve) - 1
            elif epoch - curve[best][0] >= AUTO_PATIENCE:
                break
        search = np.asarray(curve, dtype=np.float64)
        chosen = min(AUTO_MAX_EPOCHS, max(1, round(AUTO_SCALE * search[best, 0])))
        LOG.info("LightFM epochs=auto: %d epochs (validation NDCG@%d %.4f)", chosen, AUTO_K,
                 search[best, 1])
        return chosen, search

    def _update(self, changes: Changes, show_progress: bool) -> None:
        """Embeddings are kept: a new user or item has an empty feature row until the next
        fit (a new user is ranked by the item biases; a new item scores by the user's bias
        alone, or from its features after :meth:`add_items`)."""
        self._grow(changes)
        self._restore()
        self._warn_unscored(changes, "add_items gives their features (or the next fit)")

    def _grow(self, changes: Changes) -> None:
        n_users, n_items = changes.added.shape
        self.user_features_ = padded(self.user_features_, (n_users,
                                                           self.user_features_.shape[1]))
        self.item_features_ = padded(self.item_features_, (n_items,
                                                           self.item_features_.shape[1]))

    def add_items(self, features: pd.DataFrame, *, show_progress: bool = False) -> Self:
        """Add items, or replace the side features of known ones, without refitting: an
        item's representation is the sum of its features' embeddings, so a new item is
        scored at once from the feature embeddings learned at fit.

        ``features`` has the item ids in column ``item_id`` and the columns
        ``Dataset.item_features`` was built from with :meth:`Features.from_pandas
        <recsys.data.features.Features.from_pandas>` (e.g. ``category``, ``brand``,
        ``price`` on the demo data). They are encoded as at fit: a category or label the
        model has not seen sets no feature, numbers are scaled with the fitted statistics,
        and ``normalize_features`` applies. A new item has no identity feature (it had no
        interaction at fit: its embedding was never trained); a known item keeps its own.
        Needs a model fitted with item features from ``Features.from_pandas``. Everything
        else is as :meth:`Recommender.add_items`.

        Examples
        --------
        >>> import recsys as rs
        >>> ds = rs.datasets.demo()
        >>> model = rs.LightFM(epochs=5).fit(ds)  # doctest: +SKIP
        >>> new = ds.items.rename_axis("item_id").reset_index().iloc[:1].assign(
        ...     item_id="new-item")[["item_id", "category", "brand", "price"]]
        >>> model.add_items(new).n_items  # doctest: +SKIP
        1001
        """
        return super().add_items(features, show_progress=show_progress)

    def _feature_columns(self) -> tuple[list[str], list[str]]:
        encoding = getattr(self, "item_feature_encoding_", None)
        if encoding is None:
            raise ConfigError("LightFM.add_items needs a model fitted with item features built "
                              "by Features.from_pandas (Dataset.item_features and "
                              "use_item_features=True): this one has none to encode with")
        return encoding_columns(encoding), encoding_columns(encoding)

    def _add_items(self, changes: Changes, features: pd.DataFrame,
                   show_progress: bool) -> None:
        ids = features[EVENT_COLUMNS[1]].to_numpy()
        side = encode_rows(features, self.item_feature_encoding_ or [], self.item_side_names_,
                           ids)
        self._grow(changes)
        rows = self.items_.to_index(ids)
        n_identity = self.item_features_.shape[1] - len(self.item_side_names_)
        indicators = None
        if self.identity_features:  # a known item active at fit keeps its indicator
            own = np.minimum(rows, n_identity - 1)
            keep = (rows < n_identity) & (np.asarray(
                self.item_features_[rows, own]).ravel() != 0)
            indicators = sp.csr_matrix((np.ones(int(keep.sum()), np.float32),
                                        (np.flatnonzero(keep), rows[keep])),
                                       shape=(len(rows), n_identity))
        self.item_features_ = replace_rows(
            self.item_features_, rows,
            assemble(indicators, side, self.normalize_features, "item"))
        self._restore()

    def _restore(self, derived: Mapping[str, np.ndarray] | None = None) -> None:
        # Per-id representations: the same sums lightfm's predict forms pair by pair. Kept in
        # float64 so that a user's scores do not depend on the batch it is scored in (float32
        # BLAS sums in a different order per block shape, which moves scores by an ulp).
        def combine(features: sp.csr_matrix, params: np.ndarray) -> np.ndarray:
            return np.asarray(features.astype(np.float64) @ params.astype(np.float64))

        self._user_vectors = combine(self.user_features_, self.user_embeddings_)
        self._user_bias = combine(self.user_features_, self.user_biases_)
        self._item_vectors = combine(self.item_features_, self.item_embeddings_)
        self._item_bias = combine(self.item_features_, self.item_biases_)

    # ------------------------------------------------------------------ scoring
    def _score(self, user_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        items = self._item_vectors if item_cols is None else self._item_vectors[item_cols]
        item_bias = self._item_bias if item_cols is None else self._item_bias[item_cols]
        scores = self._user_vectors[user_rows] @ items.T
        scores += item_bias[None, :]
        scores += self._user_bias[user_rows, None]
        return scores.astype(np.float32)

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        """Cosine similarity of the item representations (biases left out)."""
        norms = np.linalg.norm(self._item_vectors, axis=1)
        unit = self._item_vectors / np.maximum(norms, 1e-12)[:, None]
        columns = unit if item_cols is None else unit[item_cols]
        return (unit[item_rows] @ columns.T).astype(np.float32)

    def _check_state(self) -> None:
        for side, ids in (("user", self.users_), ("item", self.items_)):
            features = expect(self, f"{side}_features_", (len(ids), None), sparse=True)
            n_features = features.shape[1]
            embeddings = expect(self, f"{side}_embeddings_", (n_features, None))
            expect(self, f"{side}_biases_", (n_features,))
            if side == "item" and len(getattr(self, "item_side_names_", ())) > n_features:
                raise ModelFileError("LightFM.item_side_names_ names more features than "
                                     "item_features_ has")
            if side == "item" and embeddings.shape[1] != self.user_embeddings_.shape[1]:
                raise ModelFileError("LightFM.item_embeddings_ and user_embeddings_ differ "
                                     "in width")
        if hasattr(self, "epochs_"):  # models saved before epochs="auto" have none
            expect_scalar(self, "epochs_", (int,), lambda v: check_int("epochs_", v))
        if hasattr(self, "epoch_search_"):
            expect(self, "epoch_search_", (None, 2), dtype="float64")
