"""Association rules over baskets: frequent itemsets, rules A -> C, and ranking by rules.

Two engines mine the same rules:

- ``engine="sparse"``: our miner for 1 -> 1 and 2 -> 1 rules. Pair counts are the entries of
  X^T X for the binary baskets x items matrix X restricted to the frequent items; triple counts
  are the entries of P^T X restricted to triples whose three sub-pairs are frequent (P: the
  baskets x frequent-pairs incidence). Both products are computed by enumerating, per basket,
  the co-occurring frequent items (vectorized per basket length, never per basket) and
  counting the codes with ``bincount`` (or a sort, for very large code spaces).
- ``engine="mlxtend"``: ``fpgrowth`` + ``association_rules`` from mlxtend, any length.

Why enumerate rather than call scipy's sparse product: on 1M baskets x 20k items scipy's
X^T X (two passes of Gustavson's algorithm with a dense accumulator per row) took 2-4x longer
than gathering the pairs of each basket length at once and counting them with ``bincount``;
the counts are the same.

Thresholds are applied on integer counts with exact rational arithmetic (see
:func:`support_count` and :func:`ratio_at_least`), so both engines keep exactly the same
rules, and a rule sitting on a boundary is neither lost nor added by float rounding.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int
from recsys.data.dataset import Dataset
from recsys.data.ids import IdIndex
from recsys.data.interactions import Interactions
from recsys.errors import ColumnError, ConfigError, DataError, ModelFileError
from recsys.models._state import expect, expect_range, expect_scalar
from recsys.models.base import Recommendations, Recommender
from recsys.models.topk import top_k_columns

LOG = logging.getLogger("recsys")

ENGINES = ("sparse", "mlxtend")
METRICS = ("lift", "confidence")
ITEM_COLUMNS = ("item", "item_id")
# Counting tables up to this many cells are dense (np.bincount, 128 MiB of int64); larger code
# spaces are counted by sorting the codes instead, whose memory follows the data, not F^2.
DENSE_BINS = 1 << 24
# Pair tables up to this many cells are summed step by step (no array of all pair codes).
SMALL_TABLE = 1 << 14
# Combinations generated per vectorized step; bounds the temporaries of one step.
CHUNK = 1 << 22
# Rows of one length from which one step per position tuple beats one block step.
PER_TUPLE_MIN_ROWS = 2048
# Relative band around a threshold inside which the float test is not trusted and the
# comparison is redone in exact integer arithmetic (float ratios here are off by < 1e-15).
_TRIAGE = 1e-9


# ---------------------------------------------------------------------------- thresholds


def exact_fraction(name: str, value: Any, low: Fraction | int = 0,
                   high: Fraction | int | None = 1) -> Fraction:
    """``value`` as an exact fraction, checked to lie in ``[low, high]``.

    A float means its shortest decimal representation (``0.006`` is exactly 6/1000, not the
    binary double nearest to it, 0.006000000000000000125...), because that is the number
    the user wrote. ``Fraction`` and ``Decimal`` are taken as they are.

    Examples
    --------
    >>> exact_fraction("min_confidence", 0.25)
    Fraction(1, 4)
    >>> exact_fraction("min_support", 0.006)
    Fraction(3, 500)
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, Decimal)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        exact = Fraction(repr(float(value)))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        exact = Fraction(value)
    else:
        exact = Fraction(value)
    if exact < low or (high is not None and exact > high):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be in {bounds}, got {value!r}")
    return exact


def support_count(min_support: Any, n_baskets: int) -> int:
    """The integer support threshold: an itemset is frequent when its count >= this.

    An ``int`` is an absolute count (>= 1). A fraction in (0, 1] gives the smallest integer
    count whose share of ``n_baskets`` reaches it, ``ceil(min_support * n_baskets)`` computed
    on exact fractions: ``0.006 * 9835`` is 59.01, so 60; ``0.07 * 100`` is exactly 7 (in
    floats it is 7.000000000000001, whose ceiling, 8, would lose the itemsets counted 7).

    Examples
    --------
    >>> support_count(0.006, 9835), support_count(0.07, 100), support_count(5, 100)
    (60, 7, 5)
    """
    if isinstance(min_support, Integral) and not isinstance(min_support, (bool, np.bool_)):
        if min_support < 1:
            raise ConfigError(f"min_support as a count must be >= 1, got {min_support!r} "
                              "(pass a float in (0, 1] for a share of the baskets)")
        return int(min_support)
    share = exact_fraction("min_support", min_support, 0, 1)
    if share == 0:
        raise ConfigError(f"min_support must be in (0, 1] as a share or an int >= 1 as a "
                          f"count, got {min_support!r}")
    return max(1, -((-share.numerator * n_baskets) // share.denominator))


def ratio_at_least(numerator: np.ndarray, denominator: np.ndarray,
                   threshold: Fraction) -> np.ndarray:
    """Exactly ``numerator / denominator >= threshold`` for int64 arrays (denominators > 0).

    The float ratio decides every entry that is clearly away from the threshold; the few
    within a relative 1e-9 of it are decided in Python integers (``n * q >= p * d``), so the
    result is exact without multiplying large numbers for every entry.
    """
    keep = np.ones(len(numerator), bool)
    if threshold == 0 or len(numerator) == 0:
        return keep
    ratio = numerator / denominator
    limit = float(threshold)
    keep = ratio >= limit
    unsure = np.flatnonzero(np.abs(ratio - limit) <= _TRIAGE * limit)
    p, q = threshold.numerator, threshold.denominator
    for i in unsure.tolist():
        keep[i] = int(numerator[i]) * q >= p * int(denominator[i])
    return keep


def rule_metrics(count: np.ndarray, antecedent_count: np.ndarray,
                 consequent_count: np.ndarray, n_baskets: int) -> dict[str, np.ndarray]:
    """Supports, confidence, lift, leverage and conviction as mlxtend defines them.

    Each metric is the correctly rounded value of its exact ratio of integer counts (the
    numerators and denominators are computed in integers first), so results never depend on
    the order of float operations; mlxtend's agree to a few units in the last place.
    Conviction is ``inf`` where confidence is 1.
    """
    n = np.int64(n_baskets)
    c_ac, c_a, c_c = (np.asarray(v, np.int64) for v in
                      (count, antecedent_count, consequent_count))
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = ((n - c_c) * c_a) / (n * (c_a - c_ac))
    conviction[c_a == c_ac] = np.inf
    return {
        "antecedent support": c_a / n,
        "consequent support": c_c / n,
        "support": c_ac / n,
        "confidence": c_ac / c_a,
        "lift": (c_ac * n) / (c_a * c_c),
        "leverage": (c_ac * n - c_a * c_c) / (n * n),
        "conviction": conviction,
    }


# ---------------------------------------------------------------------------- sparse miner


class Candidates(NamedTuple):
    """Candidate rules before the confidence/lift filter (item indices, -1 padded)."""

    antecedents: np.ndarray  # (n, width) int32
    consequents: np.ndarray  # (n, width) int32
    count: np.ndarray  # baskets holding antecedent and consequent
    antecedent_count: np.ndarray
    consequent_count: np.ndarray


def _no_candidates(width: int = 1) -> Candidates:
    empty = np.empty(0, np.int64)
    return Candidates(np.empty((0, width), np.int32), np.empty((0, 1), np.int32),
                      empty, empty, empty)


def _rows_by_length(lengths: np.ndarray, minimum: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(length, rows)`` for every row length >= ``minimum``: one vectorized step per length."""
    histogram = np.bincount(lengths)
    if len(histogram) <= minimum:
        return
    # A stable radix sort on 16-bit keys is linear; longer baskets are rare enough for the
    # general sort (and the memory estimate refuses absurd ones).
    keys = lengths.astype(np.uint16) if len(histogram) <= (1 << 16) else lengths
    order = np.argsort(keys, kind="stable")
    ends = np.cumsum(histogram)
    for length in np.flatnonzero(histogram[minimum:]).tolist():
        length += minimum
        yield length, order[ends[length] - histogram[length]:ends[length]]


@functools.lru_cache(maxsize=256)
def _combinations(length: int, r: int) -> tuple[np.ndarray, ...]:
    """Position tuples ``i < j (< l)`` of all r-combinations of ``range(length)``, r in 2, 3.

    Cached (read-only arrays): every fit asks for the same few basket lengths.
    """
    # Pairs in row-major order: i once per later position j = i + 1 + (rank within i).
    later = np.arange(length - 1, -1, -1)
    first = np.repeat(np.arange(length), later)
    second = np.arange(later.sum()) - np.repeat(np.cumsum(later) - later, later) + first + 1
    combos: tuple[np.ndarray, ...] = (first, second)
    if r == 3:
        extra = length - 1 - second
        before = np.cumsum(extra) - extra
        third = np.repeat(second + 1 - before, extra) + np.arange(extra.sum())
        combos = (np.repeat(first, extra), np.repeat(second, extra), third)
    for array in combos:
        array.flags.writeable = False
    return combos


def _item_combinations(items: np.ndarray, indptr: np.ndarray, lengths: np.ndarray,
                       r: int) -> Iterator[tuple[np.ndarray, ...]]:
    """All r-combinations (r = 2, 3) of the items of each row, as r parallel arrays per step.

    Rows are processed by length, so one step covers every row of a length: for few
    combinations per row, one step per position tuple over the gathered columns (no index
    arrays); otherwise blocks of rows x combinations, cut to about CHUNK combinations.
    Items keep their in-row order, so ``x < y (< z)`` for sorted rows.
    """
    for length, rows in _rows_by_length(lengths, r):
        starts = indptr[rows]
        # Per-tuple steps pay a fixed cost per call: only worth it over many rows.
        if math.comb(length, r) <= 128 and len(rows) >= PER_TUPLE_MIN_ROWS:
            columns = [items[starts + j] for j in range(length)]
            for combo in itertools.combinations(range(length), r):
                yield tuple(columns[j] for j in combo)
            continue
        combos = _combinations(length, r)
        step = max(1, CHUNK // len(combos[0]))
        offsets = np.arange(length)
        for start in range(0, len(rows), step):
            block = items[starts[start:start + step, None] + offsets]
            yield tuple(block[:, positions].ravel() for positions in combos)


def _frequent_codes(codes: np.ndarray, n_codes: int,
                    min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct codes counted at least ``min_count`` times, with their counts."""
    if n_codes <= DENSE_BINS:
        counts = np.bincount(codes, minlength=n_codes)
        hits = np.flatnonzero(counts >= min_count)
        return hits, counts[hits]
    distinct, counts = np.unique(codes, return_counts=True)
    keep = counts >= min_count
    return distinct[keep], counts[keep]


class _PairLookup:
    """Maps item pairs (a < b, frequent-item numbering) to their frequent-pair id or -1."""

    def __init__(self, codes: np.ndarray, n_frequent: int) -> None:
        self.n = n_frequent
        if n_frequent * n_frequent <= DENSE_BINS:
            self.table: np.ndarray | None = np.full(n_frequent * n_frequent, -1, np.int32)
            self.table[codes] = np.arange(len(codes), dtype=np.int32)
        else:
            # A hash table: binary searches over a large code array were 5x slower here
            # (random probes miss the cache).
            self.table = None
            self.index = pd.Index(codes)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        code = a.astype(np.int64) * self.n + b
        if self.table is not None:
            return self.table[code]
        return self.index.get_indexer(code)


def _choose(histogram: np.ndarray, r: int) -> int:
    """Sum over baskets of C(length, r), from ``histogram[length]`` = number of baskets."""
    return sum(int(count) * math.comb(length, r)
               for length, count in enumerate(histogram.tolist()) if count and length >= r)


def sparse_memory_estimate(histogram: np.ndarray, n_frequent: int, max_len: int) -> int:
    """Peak bytes of the sparse miner after restriction to frequent items (upper bound).

    ``histogram[L]`` is the number of baskets holding L frequent items. Pair stage: one int64
    code per co-occurring pair, the counting table (dense F^2 cells, or a sorted copy of the
    codes) and the step temporaries. Triple stage (``max_len >= 3``): at most one code per
    triple of frequent items in a basket with its step temporaries, the pair-id table and
    the triple counting table.
    """
    n_pairs = _choose(histogram, 2)
    table = n_frequent * n_frequent
    total = n_pairs * 8 + (table * 8 if table <= DENSE_BINS else n_pairs * 16)
    total += min(CHUNK, n_pairs) * 8 * 4
    if max_len >= 3:
        n_triples = _choose(histogram, 3)
        cells = n_frequent * (n_frequent - 1) // 2 * n_frequent  # frequent pairs x items
        total += n_triples * 8 + min(CHUNK, n_triples) * 8 * 8
        total += table * 4 if table <= DENSE_BINS else 0
        total += min(cells, DENSE_BINS) * 8 + (n_triples * 16 if cells > DENSE_BINS else 0)
    return total


def _check_memory(needed: int, budget: int | None, what: str) -> None:
    if budget is not None and needed > budget:
        raise ConfigError(
            f"{what} would need about {needed / 2**30:.2f} GiB, more than the "
            f"{budget / 2**30:.2f} GiB allowed (max_memory; default: the memory available now)"
            "; raise min_support, lower max_len, or pass a larger max_memory")


def mine_sparse(baskets: sp.csr_matrix, item_counts: np.ndarray, min_count: int,
                max_len: int, budget: int | None = None) -> Candidates:
    """Candidate 1 -> 1 and (``max_len >= 3``) 2 -> 1 rules of the frequent itemsets.

    Parameters
    ----------
    baskets : scipy.sparse.csr_matrix
        Baskets x items; its structure is the presence (sorted, unique column indices),
        the stored values are ignored.
    item_counts : numpy.ndarray
        Baskets holding each item.
    min_count : int
        Integer support threshold.
    max_len : int
        2 (pairs) or 3 (pairs and triples).
    budget : int, optional
        Bytes the mining may use; refused up front with the estimate when exceeded.

    Returns
    -------
    Candidates
        Every rule whose itemset is frequent, with its counts.
    """
    frequent = np.flatnonzero(item_counts >= min_count)
    n_frequent = len(frequent)
    if n_frequent < 2:
        return _no_candidates(max_len - 1)
    kept = int(item_counts[frequent].sum())
    _check_memory(kept * (4 + baskets.data.itemsize) + baskets.shape[0] * 16, budget,
                  "restricting the baskets to the frequent items")
    # scipy's column selection (C++) renumbers the frequent items 0..F-1 in order, so each
    # basket's items stay sorted.
    restricted = baskets[:, frequent]
    items, starts = restricted.indices, restricted.indptr
    lengths = np.diff(starts)
    histogram = np.bincount(lengths)
    _check_memory(sparse_memory_estimate(histogram, n_frequent, max_len), budget,
                  f"mining rules up to length {max_len} over {n_frequent} frequent items")

    # Pairs: the upper triangle of X^T X, by enumerating each basket's frequent-item pairs.
    n_codes = n_frequent * n_frequent
    if n_codes <= SMALL_TABLE:
        # A small table is cheaper to add up step by step than to fill an array of codes.
        table = np.zeros(n_codes, np.int64)
        for x, y in _item_combinations(items, starts, lengths, 2):
            code = x * n_frequent
            code += y
            table += np.bincount(code, minlength=n_codes)
        pair_codes = np.flatnonzero(table >= min_count)
        pair_counts = table[pair_codes]
    else:
        codes = np.empty(_choose(histogram, 2), np.int64)
        filled = 0
        for x, y in _item_combinations(items, starts, lengths, 2):
            out = codes[filled:filled + len(x)]
            np.multiply(x, n_frequent, out=out, casting="unsafe")
            out += y
            filled += len(x)
        pair_codes, pair_counts = _frequent_codes(codes, n_codes, min_count)
        del codes
    a, b = pair_codes // n_frequent, pair_codes % n_frequent
    counts = item_counts[frequent].astype(np.int64)
    parts = [Candidates(np.r_[a, b][:, None], np.r_[b, a][:, None],
                        np.r_[pair_counts, pair_counts], counts[np.r_[a, b]],
                        counts[np.r_[b, a]])]
    if max_len >= 3 and len(pair_codes) >= 3:
        parts.append(_triple_candidates(restricted, a, b, pair_codes, pair_counts, counts,
                                        min_count))
    merged = _concat(parts, max(p.antecedents.shape[1] for p in parts))
    return merged._replace(antecedents=_rename(merged.antecedents, frequent),
                           consequents=_rename(merged.consequents, frequent))


def _triple_candidates(restricted: sp.csr_matrix, a: np.ndarray, b: np.ndarray,
                       pair_codes: np.ndarray, pair_counts: np.ndarray, counts: np.ndarray,
                       min_count: int) -> Candidates:
    """2 -> 1 candidates: triples counted as (frequent pair, item) codes, i.e. P^T X."""
    n_frequent = restricted.shape[1]
    # An item in no frequent pair is in no frequent triple: drop it from the baskets first,
    # which shrinks the cubic number of triples per basket.
    paired = np.union1d(a, b)
    reduced = restricted[:, paired]
    # Back to the frequent-item numbering (increasing, so each basket stays sorted).
    items, starts = paired[reduced.indices], reduced.indptr
    lengths = np.diff(starts)
    pair_id = _PairLookup(pair_codes, n_frequent)
    found = []
    for x, y, z in _item_combinations(items, starts, lengths, 3):
        # All three sub-pairs of a frequent triple are frequent (apriori pruning); each
        # lookup only sees the candidates that survived the previous one.
        xy = pair_id(x, y)
        ok = np.flatnonzero(xy >= 0)
        ok = ok[pair_id(x[ok], z[ok]) >= 0]
        ok = ok[pair_id(y[ok], z[ok]) >= 0]
        found.append(xy[ok].astype(np.int64) * n_frequent + z[ok])
    if not found:
        return _no_candidates(2)
    triple_codes, triple_counts = _frequent_codes(
        np.concatenate(found), len(pair_codes) * n_frequent, min_count)
    xy, z = triple_codes // n_frequent, triple_codes % n_frequent
    x, y = a[xy], b[xy]
    # Each frequent triple {x < y < z} gives three rules, one per consequent.
    antecedents = np.concatenate([np.c_[x, y], np.c_[x, z], np.c_[y, z]])
    consequents = np.r_[z, y, x][:, None]
    antecedent_counts = pair_counts[np.r_[xy, pair_id(x, z), pair_id(y, z)]]
    return Candidates(antecedents, consequents, np.tile(triple_counts, 3),
                      antecedent_counts, counts[consequents[:, 0]])


def _pad(array: np.ndarray, width: int) -> np.ndarray:
    out = np.full((len(array), width), -1, np.int32)
    out[:, :array.shape[1]] = array
    return out


def _concat(parts: list[Candidates], width: int) -> Candidates:
    c_width = max(p.consequents.shape[1] for p in parts)
    return Candidates(
        np.concatenate([_pad(p.antecedents, width) for p in parts]),
        np.concatenate([_pad(p.consequents, c_width) for p in parts]),
        *(np.concatenate([np.asarray(getattr(p, f), np.int64) for p in parts])
          for f in ("count", "antecedent_count", "consequent_count")))


def _rename(positions: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Frequent-item numbers -> item indices, keeping the -1 padding."""
    return np.where(positions >= 0, names[np.maximum(positions, 0)], -1).astype(np.int32)


# ---------------------------------------------------------------------------- mlxtend engine


def mine_mlxtend(baskets: sp.csr_matrix, item_counts: np.ndarray, min_count: int,
                 max_len: int | None, min_confidence: Fraction,
                 budget: int | None = None) -> Candidates:
    """Candidate rules (every length up to ``max_len``) by mlxtend fpgrowth + association_rules.

    mlxtend thresholds are floats; it is given thresholds a little below ours (half a basket
    for support, a relative 1e-9 for confidence) so that it returns a superset, and the exact
    integer thresholds are applied afterwards, like for the sparse engine.
    """
    with warnings.catch_warnings():
        # mlxtend sets a process-wide "always" filter for DeprecationWarning on import;
        # importing inside catch_warnings restores the caller's filters afterwards.
        from mlxtend.frequent_patterns import association_rules, fpgrowth

    n_baskets = baskets.shape[0]
    frequent = np.flatnonzero(item_counts >= min_count)
    if len(frequent) < 2:
        return _no_candidates()
    n_frequent_entries = int(item_counts[frequent].sum())
    # fpgrowth densifies the frame (n_baskets x n_frequent bools) and builds a Python tree.
    _check_memory(n_baskets * len(frequent) + n_frequent_entries * 200, budget,
                  f"mlxtend fpgrowth over {len(frequent)} frequent items")
    matrix = sp.csr_matrix((np.ones(baskets.nnz, bool), baskets.indices, baskets.indptr),
                           shape=baskets.shape)[:, frequent]
    frame = pd.DataFrame.sparse.from_spmatrix(matrix, columns=range(len(frequent)))
    itemsets = fpgrowth(frame, min_support=(min_count - 0.5) / n_baskets, max_len=max_len)
    counts = np.rint(itemsets["support"].to_numpy() * n_baskets).astype(np.int64)
    itemsets = itemsets[counts >= min_count]
    counts = counts[counts >= min_count]
    if not (itemsets["itemsets"].map(len) >= 2).any():
        return _no_candidates()
    count_of = dict(zip(itemsets["itemsets"], counts.tolist(), strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        # mlxtend also computes metrics we recompute or skip (certainty divides by zero
        # when a consequent is in every basket).
        rules = association_rules(itemsets, num_itemsets=n_baskets, metric="confidence",
                                  min_threshold=float(min_confidence) * (1 - _TRIAGE))
    antecedents = [sorted(s) for s in rules["antecedents"]]
    consequents = [sorted(s) for s in rules["consequents"]]
    width = max((len(s) for s in antecedents), default=1)
    c_width = max((len(s) for s in consequents), default=1)

    def as_array(sets: list[list[int]], w: int) -> np.ndarray:
        out = np.full((len(sets), w), -1, np.int32)
        for row, members in enumerate(sets):
            out[row, :len(members)] = frequent[members]
        return out

    pairs = zip(rules["antecedents"], rules["consequents"], strict=True)
    return Candidates(
        as_array(antecedents, width), as_array(consequents, c_width),
        np.array([count_of[a | c] for a, c in pairs], np.int64),
        np.array([count_of[a] for a in rules["antecedents"]], np.int64),
        np.array([count_of[c] for c in rules["consequents"]], np.int64))


# ---------------------------------------------------------------------------- selection


def _trim(array: np.ndarray) -> np.ndarray:
    """Drop padding columns no row uses (padding is on the right); keep at least one."""
    used = int((array >= 0).sum(axis=1).max(initial=1))
    return np.ascontiguousarray(array[:, :max(1, used)])


def select_rules(candidates: Candidates, n_baskets: int, min_confidence: Fraction,
                 min_lift: Fraction) -> Candidates:
    """Rules passing the exact confidence and lift thresholds, in canonical order.

    Canonical order: antecedent size, antecedent items, consequent size, consequent items
    (item indices), so both engines give identical arrays.
    """
    c = candidates
    keep = ratio_at_least(c.count, c.antecedent_count, min_confidence)
    keep &= ratio_at_least(c.count * np.int64(n_baskets),
                           c.antecedent_count * c.consequent_count, min_lift)
    c = Candidates(*(np.asarray(field)[keep] for field in c))
    # Width = the longest antecedent (consequent) kept, so both engines give equal arrays.
    c = c._replace(antecedents=_trim(c.antecedents), consequents=_trim(c.consequents))
    a_size = (c.antecedents >= 0).sum(axis=1)
    c_size = (c.consequents >= 0).sum(axis=1)
    keys = [c.consequents[:, j] for j in reversed(range(c.consequents.shape[1]))]
    keys += [c_size] + [c.antecedents[:, j] for j in reversed(range(c.antecedents.shape[1]))]
    order = np.lexsort(keys + [a_size])
    return Candidates(*(np.asarray(field)[order] for field in c))


# ---------------------------------------------------------------------------- scoring


class _Matcher(NamedTuple):
    """Rules with one consequent and antecedents of one size, arranged for scoring.

    ``antecedents_t``: items x distinct antecedents (binary), so ``history @ antecedents_t``
    counts how many items of each antecedent a basket holds (size 1: None, the history's own
    entries are the matches); ``indptr``/``items``/``rule``: per distinct antecedent, its
    rules' consequents and rule numbers (CSR layout).
    """

    size: int
    antecedents_t: sp.csr_matrix | None
    indptr: np.ndarray
    items: np.ndarray
    rule: np.ndarray


def _matchers(antecedents: np.ndarray, consequents: np.ndarray,
              n_items: int) -> list[_Matcher]:
    single = (consequents[:, 1:] < 0).all(axis=1) if consequents.shape[1] > 1 else \
        np.ones(len(consequents), bool)
    sizes = (antecedents >= 0).sum(axis=1)
    out = []
    for size in np.unique(sizes[single]).tolist():
        rules = np.flatnonzero(single & (sizes == size))
        members = antecedents[rules, :size]
        if size == 1:
            groups, n_groups, matrix_t = members[:, 0].astype(np.int64), n_items, None
        else:
            distinct, groups = np.unique(members, axis=0, return_inverse=True)
            groups, n_groups = groups.ravel(), len(distinct)
            matrix = sp.csr_matrix(
                (np.ones(distinct.size, np.float32), distinct.ravel(),
                 np.arange(0, distinct.size + 1, size)), shape=(n_groups, n_items))
            matrix_t = matrix.T.tocsr()
        order = np.argsort(groups, kind="stable")
        indptr = np.zeros(n_groups + 1, np.int64)
        np.cumsum(np.bincount(groups, minlength=n_groups), out=indptr[1:])
        out.append(_Matcher(size, matrix_t, indptr,
                            consequents[rules[order], 0].astype(np.int64), rules[order]))
    return out


def _presence(history: sp.csr_matrix) -> sp.csr_matrix:
    """Binary rows: an item is in a basket when its (summed) stored weight is positive."""
    binary = sp.csr_matrix(history, dtype=np.float32, copy=True)
    binary.sum_duplicates()
    binary.data = (binary.data > 0).astype(np.float32)
    binary.eliminate_zeros()
    return binary


def max_rule_scores(history: sp.csr_matrix, matchers: list[_Matcher], values: np.ndarray,
                    item_cols: np.ndarray | None, n_items: int) -> np.ndarray:
    """Dense (rows, cols) scores: per item, the max ``values[rule]`` over the rules whose
    antecedent is inside the row's basket and whose consequent is the item; 0 without one.

    Vectorized per antecedent size: matching is a sparse product (or the history entries
    themselves for size 1), then every matched rule is expanded and ``np.maximum.at`` takes
    the max per (row, item) -- a max-product, which scipy does not offer.
    """
    basket = _presence(history)
    n_rows = basket.shape[0]
    n_cols = n_items if item_cols is None else len(item_cols)
    scores = np.zeros((n_rows, n_cols), np.float32)
    if n_rows == 0 or n_cols == 0:
        return scores
    column = None
    if item_cols is not None:
        column = np.full(n_items, -1, np.int64)
        column[item_cols] = np.arange(len(item_cols))
    flat = scores.reshape(-1)
    for m in matchers:
        if m.antecedents_t is None:
            rows = np.repeat(np.arange(n_rows), np.diff(basket.indptr))
            groups = basket.indices.astype(np.int64)
        else:
            overlap = (basket @ m.antecedents_t).tocoo()
            hit = overlap.data == m.size
            rows, groups = overlap.row[hit].astype(np.int64), overlap.col[hit].astype(np.int64)
        starts = m.indptr[groups]
        lengths = m.indptr[groups + 1] - starts
        # Expand the matched antecedents' rules about CHUNK at a time (bounded temporaries).
        ends = np.cumsum(lengths)
        cuts = np.searchsorted(ends, np.arange(CHUNK, int(ends[-1]) if len(ends) else 0, CHUNK))
        for part in np.split(np.arange(len(groups)), cuts):
            _scatter_max(flat, n_cols, rows[part], starts[part], lengths[part], m, values,
                         column)
    return scores


def _scatter_max(flat: np.ndarray, n_cols: int, rows: np.ndarray, starts: np.ndarray,
                 lengths: np.ndarray, m: _Matcher, values: np.ndarray,
                 column: np.ndarray | None) -> None:
    """``flat[row, consequent] = max(., value)`` for every rule of the matched antecedents."""
    total = int(lengths.sum())
    if total == 0:
        return
    before = np.cumsum(lengths) - lengths
    at = np.repeat(starts - before, lengths) + np.arange(total)
    rows = np.repeat(rows, lengths)
    cols = m.items[at]
    if column is not None:
        cols = column[cols]
        allowed = cols >= 0
        rows, cols, at = rows[allowed], cols[allowed], at[allowed]
    np.maximum.at(flat, rows * n_cols + cols, values[m.rule[at]])


# ---------------------------------------------------------------------------- memory


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


# ---------------------------------------------------------------------------- the model


class AssociationRules(Recommender):
    """Association rules A -> C mined from baskets; recommends by the strongest matching rule.

    Baskets: when ``fit`` gets a :class:`~recsys.Dataset` whose ``events`` have the column
    ``basket_column`` (``rs.datasets.baskets``, the demo's purchases), each basket id is a
    basket; events without a basket id (views) belong to none. Otherwise each user's history
    (a row of the interactions) is one basket. Items keep the interactions' item index.

    Parameters
    ----------
    min_support : float or int
        A share of the baskets in (0, 1], or an absolute count (an ``int`` >= 1; so ``1``
        is one basket and ``1.0`` is all of them). See Notes for the exact rule.
    min_confidence : float
        Keep rules with count(A and C) / count(A) >= this, in [0, 1].
    min_lift : float
        Keep rules with confidence / support(C) >= this (>= 0; 0 keeps all).
    max_len : int or None
        Largest itemset (antecedent + consequent). ``engine="sparse"``: 2 (1 -> 1 rules) or 3
        (also 2 -> 1). ``engine="mlxtend"``: any >= 2, or None for no limit.
    engine : {"sparse", "mlxtend"}
        Our sparse co-occurrence miner, or mlxtend's fpgrowth + association_rules. Both give
        identical rules where both apply (rules with one consequent, ``max_len <= 3``).
    metric : {"lift", "confidence"}
        What ranks recommendations (``recommend_for_basket`` can override it per call).
    basket_column : str or None
        Column of ``Dataset.events`` holding basket ids; None always uses user histories.
    item_column : str or None
        Item column of ``Dataset.events``; None takes "item", else "item_id".
    max_memory : int or None
        Bytes mining may use; None means the memory available when ``fit`` starts. Mining
        that would need more is refused before it allocates, with the estimate.

    Attributes
    ----------
    rules_ : pandas.DataFrame
        One row per rule: ``antecedents``, ``consequents`` (frozensets of external item
        ids), ``antecedent support``, ``consequent support``, ``support``, ``confidence``,
        ``lift``, ``leverage``, ``conviction`` (as in mlxtend), and the integer counts
        ``count``, ``antecedent count``, ``consequent count``. Built on access from the
        arrays below.
    antecedents_, consequents_ : numpy.ndarray of int32, shape (n_rules, width)
        Item indices of each rule, padded with -1; canonical order (antecedent size and
        items, then consequent size and items).
    count_, antecedent_count_, consequent_count_ : numpy.ndarray of int64
        Baskets holding A and C, A, and C.
    item_counts_ : numpy.ndarray of int64
        Baskets holding each item (0 for items that never occur in a basket).
    n_baskets_ : int
        Number of baskets, empty ones included.
    min_count_ : int
        The integer support threshold used.

    Notes
    -----
    **Thresholds.** Support is applied on integer counts: an itemset is frequent when its
    count >= ``min_count_``, the smallest integer whose share of the baskets reaches
    ``min_support`` (exact fractions of the decimal written: 0.006 of 9,835 baskets is
    59.01, so 60; 0.07 of 100 is 7, where float arithmetic would say 8). Confidence and lift
    are compared exactly too (``count * q >= p * antecedent_count`` for ``min_confidence =
    p/q``), so a rule exactly on a threshold is kept, as ``>=`` promises. mlxtend compares
    floats; on an exact boundary its rounding may drop such a rule (or, for support, it
    derives ``ceil(min_support * n)`` in floats and can lose itemsets).

    **Baskets.** An item repeated in a basket counts once. Empty baskets (a user with no
    stored entry, or a basket id whose only event has no item) count in the number of
    baskets, as mlxtend counts every row of its one-hot frame: drop them beforehand to get
    shares of non-empty baskets. In a history an item is present when its weight is
    positive. Items that never occur have count 0 and appear in no rule. Event items unknown
    to the interactions' item index are an error.

    **Ranking.** A basket (a user's history, or ``recommend_for_basket``'s items) scores
    each item by its strongest rule: the max of the metric over the rules with one
    consequent, that item, whose antecedent lies inside the basket. Items without such a
    rule score 0 and come after, by item index. Rules with several consequents (mlxtend
    engine, ``max_len >= 3``) are listed in ``rules_`` but do not rank.

    **Cost (sparse engine).** With F frequent items and s_b the frequent items of basket b:
    time and memory O(nnz + sum_b s_b^2) for pairs plus O(sum_b t_b^3) for triples (t_b:
    items of b in some frequent pair), and a counting table of F^2 cells (dense up to 2^24
    cells, else sorted codes). The estimate is checked before anything large is allocated.
    1M baskets x 20k items (5M entries) mine 1 -> 1 rules in well under a second.
    Scoring a batch is one sparse product per antecedent size plus a scatter-max over the
    matched rules.

    Examples
    --------
    >>> import pandas as pd, recsys as rs
    >>> table = pd.DataFrame({"basket_id": [1, 1, 2, 2, 3, 3, 4],
    ...                       "item": ["milk", "bread", "milk", "bread", "milk", "jam", "jam"]})
    >>> model = rs.AssociationRules(min_support=2, min_confidence=0.5).fit(
    ...     rs.datasets.baskets(table))
    >>> rules = model.rules_
    >>> [(set(a), set(c), round(float(conf), 3)) for a, c, conf
    ...  in zip(rules["antecedents"], rules["consequents"], rules["confidence"])]
    [({'milk'}, {'bread'}, 0.667), ({'bread'}, {'milk'}, 1.0)]
    >>> model.recommend_for_basket(["bread"], k=1)[0]
    ['milk']
    """

    supports_unknown_users = True

    def __init__(
        self,
        min_support: float | int = 0.01,
        min_confidence: float = 0.1,
        min_lift: float = 0.0,
        max_len: int | None = 2,
        engine: str = "sparse",
        metric: str = "lift",
        basket_column: str | None = "basket_id",
        item_column: str | None = None,
        max_memory: int | None = None,
    ) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_len = max_len
        self.engine = engine
        self.metric = metric
        self.basket_column = basket_column
        self.item_column = item_column
        self.max_memory = max_memory

    # ------------------------------------------------------------------ fitting
    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        check_choice("engine", self.engine, ENGINES)
        check_choice("metric", self.metric, METRICS)
        if self.max_len is None and self.engine == "mlxtend":
            max_len = None
        else:
            max_len = check_int("max_len", self.max_len, minimum=2)
            if self.engine == "sparse" and max_len > 3:
                raise ConfigError(f"engine='sparse' mines 1 -> 1 and 2 -> 1 rules (max_len 2 "
                                  f"or 3), got max_len={self.max_len!r}; use engine='mlxtend' "
                                  "for longer rules")
        min_confidence = exact_fraction("min_confidence", self.min_confidence, 0, 1)
        min_lift = exact_fraction("min_lift", self.min_lift, 0, None)
        support_count(self.min_support, 1)  # type and range errors before any data work
        budget = self._memory_budget()

        baskets, item_counts = self._baskets(interactions, dataset)
        n_baskets = baskets.shape[0]
        min_count = support_count(self.min_support, n_baskets)
        if self.engine == "sparse":
            candidates = mine_sparse(baskets, item_counts, min_count, max_len, budget)
        else:
            candidates = mine_mlxtend(baskets, item_counts, min_count, max_len, min_confidence,
                                      budget)
        rules = select_rules(candidates, n_baskets, min_confidence, min_lift)

        self.n_baskets_ = int(n_baskets)
        self.min_count_ = int(min_count)
        self.item_counts_ = item_counts.astype(np.int64)
        self.antecedents_ = rules.antecedents
        self.consequents_ = rules.consequents
        self.count_ = rules.count
        self.antecedent_count_ = rules.antecedent_count
        self.consequent_count_ = rules.consequent_count
        self._restore()
        log = LOG.warning if len(rules.count) == 0 else LOG.info
        log("AssociationRules: %d rules from %d baskets (itemsets counted >= %d times)",
            len(rules.count), n_baskets, min_count)

    def _memory_budget(self) -> int | None:
        if self.max_memory is None:
            return available_memory()
        return check_int("max_memory", self.max_memory, minimum=1)

    def _baskets(self, interactions: Interactions,
                 dataset: Dataset | None) -> tuple[sp.csr_matrix, np.ndarray]:
        """Baskets x items CSR whose structure is the presence, and the item counts."""
        events = dataset.events if dataset is not None else None
        if (self.basket_column is not None and events is not None
                and self.basket_column in events.columns):
            return self._baskets_from_events(events, interactions.items)
        matrix = interactions.matrix  # canonical CSR: sorted, unique indices
        if matrix.nnz and matrix.data.min() <= 0:
            matrix = _presence(matrix)
            return matrix, np.bincount(matrix.indices, minlength=matrix.shape[1])
        # The base class counted stored entries per item already (exact in float32 below
        # 2^24 baskets): with every weight positive these are the basket counts.
        counts = (self.item_popularity_.astype(np.int64) if matrix.shape[0] < (1 << 24)
                  else np.bincount(matrix.indices, minlength=matrix.shape[1]))
        return matrix, counts

    def _baskets_from_events(self, events: pd.DataFrame,
                             items: IdIndex) -> tuple[sp.csr_matrix, np.ndarray]:
        item_column = self.item_column
        if item_column is None:
            item_column = next((c for c in ITEM_COLUMNS if c in events.columns), None)
        if item_column is None or item_column not in events.columns:
            raise ColumnError(f"events have no item column {item_column or ITEM_COLUMNS!r}; "
                              f"they have {list(events.columns)[:20]} (pass item_column=)")
        basket_codes, basket_ids = pd.factorize(events[self.basket_column])
        in_basket = basket_codes >= 0  # events without a basket id (views, carts) are in none
        if not in_basket.any():
            raise DataError(f"events column {self.basket_column!r} holds no basket id")
        # Factorize first: only the distinct event items go through the id lookup.
        item_codes, item_ids = pd.factorize(events[item_column])
        column_of = items.to_index(item_ids, missing="ignore")
        item_codes = item_codes[in_basket]
        # A basket id whose item is missing is an empty basket: counted, holding nothing.
        has_item = item_codes >= 0
        baskets = basket_codes[in_basket][has_item]
        columns = column_of[item_codes[has_item]]
        if (columns < 0).any():
            unknown = np.flatnonzero(columns < 0)
            first = np.flatnonzero(in_basket)[np.flatnonzero(has_item)[unknown[0]]]
            raise DataError(
                f"events column {item_column!r} holds {len(unknown)} item(s) not in the "
                f"interactions' item index; first {events[item_column].iloc[first]!r} at row "
                f"{events.index[first]!r}")
        matrix = sp.csr_matrix(
            (np.ones(len(columns), np.float32), (baskets, columns)),
            shape=(len(basket_ids), len(items)))
        matrix.sum_duplicates()  # an item repeated in a basket counts once
        return matrix, np.bincount(matrix.indices, minlength=len(items))

    def _restore(self, derived: Mapping[str, np.ndarray] | None = None) -> None:
        # The matchers are quick to rebuild: nothing derived is saved.
        self._matchers = _matchers(self.antecedents_, self.consequents_, len(self.items_))
        metrics = rule_metrics(self.count_, self.antecedent_count_, self.consequent_count_,
                               self.n_baskets_)
        self._values = {name: metrics[name].astype(np.float32) for name in METRICS}

    # ------------------------------------------------------------------ results
    @property
    def rules_(self) -> pd.DataFrame:
        """The rules as a DataFrame with external item ids (see the class docstring)."""
        self._check_fitted()
        ids = self.items_.ids.tolist()

        def sets(array: np.ndarray) -> list[frozenset]:
            return [frozenset([ids[i] for i in row if i >= 0]) for row in array.tolist()]

        columns: dict[str, Any] = {"antecedents": sets(self.antecedents_),
                                   "consequents": sets(self.consequents_)}
        columns.update(rule_metrics(self.count_, self.antecedent_count_,
                                    self.consequent_count_, self.n_baskets_))
        columns["count"] = self.count_
        columns["antecedent count"] = self.antecedent_count_
        columns["consequent count"] = self.consequent_count_
        return pd.DataFrame(columns)

    # ------------------------------------------------------------------ scoring
    def _rule_scores(self, history: sp.csr_matrix, item_cols: np.ndarray | None,
                     metric: str) -> np.ndarray:
        check_choice("metric", metric, METRICS)
        return max_rule_scores(history, self._matchers, self._values[metric], item_cols,
                               len(self.items_))

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        return self._rule_scores(history, item_cols, self.metric)

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        # An item's neighbours are the consequents of its 1 -> 1 rules: score it as a basket.
        rows = sp.csr_matrix(
            (np.ones(len(item_rows), np.float32), item_rows, np.arange(len(item_rows) + 1)),
            shape=(len(item_rows), len(self.items_)))
        return self._rule_scores(rows, item_cols, self.metric)

    def recommend_for_basket(
        self,
        basket: Iterable,
        k: int = 10,
        items: Iterable | None = None,
        exclude: Iterable | None = None,
        metric: str | None = None,
        strict: bool = False,
    ) -> Recommendations:
        """Items to add to a basket, ranked by their strongest matching rule.

        Parameters
        ----------
        basket : list of item ids
            Items unknown to the model are ignored and listed in a
            :class:`~recsys.errors.RecsysWarning` (an error under ``strict``); with no known
            item the most popular items are returned.
        k : int
        items, exclude : list of item ids, optional
            Allow-list and deny-list (unknown ids in them are ignored, even under ``strict``).
        metric : {"lift", "confidence"}, optional
            Rule strength to rank by; the model's ``metric`` by default.
        strict : bool
            Raise :class:`~recsys.errors.UnknownIdError` naming the basket's unknown items
            (the first few, and their count) instead of ignoring them.

        Returns
        -------
        Recommendations with one row keyed ``0`` (column "basket"); the basket's own items
        are never recommended.

        Examples
        --------
        >>> import pandas as pd, recsys as rs
        >>> table = pd.DataFrame({"basket_id": [1, 1, 2, 2, 3],
        ...                       "item": ["milk", "bread", "milk", "bread", "jam"]})
        >>> model = rs.AssociationRules(min_support=2, min_confidence=0.5).fit(
        ...     rs.datasets.baskets(table))
        >>> model.recommend_for_basket(["bread"], k=1)[0]
        ['milk']
        >>> model.recommend_for_basket(["bread", "gin"], strict=True)
        Traceback (most recent call last):
        ...
        recsys.errors.UnknownIdError: basket: 1 item(s) unknown to the model (strict=True): 'gin'
        """
        self._check_fitted()
        k = check_int("k", k)
        metric = self.metric if metric is None else metric
        check_choice("metric", metric, METRICS)
        found, row = self._basket_row(basket, strict)
        item_cols = self._allowed_columns(items, exclude)
        if len(found) == 0:
            block = self._fallback_scores(1, item_cols)
        else:
            block = self._rule_scores(row, item_cols, metric)
        top, values = top_k_columns(block, k, row, item_cols)
        return Recommendations([0], top, values, self.items_, "basket")

    def _check_state(self) -> None:
        n_items, n_rules = len(self.items_), len(self.count_)
        for name in ("antecedents_", "consequents_"):
            sides = expect(self, name, (n_rules, None), dtype="int32")
            expect_range(self, name, -1, n_items)
            # Each row: its items first, then -1 padding; at least one item.
            present = sides >= 0
            if n_rules and (sides.shape[1] == 0 or not present[:, 0].all()
                            or (np.diff(present.astype(np.int8), axis=1) > 0).any()):
                raise ModelFileError(f"AssociationRules.{name}: rows must list their items "
                                     "first, then -1 padding")
        for name in ("count_", "antecedent_count_", "consequent_count_"):
            expect(self, name, (n_rules,), dtype="int64")
        expect(self, "item_counts_", (n_items,), dtype="int64")
        expect_scalar(self, "n_baskets_", (int,), lambda v: check_int("n_baskets_", v))
        expect_scalar(self, "min_count_", (int,), lambda v: check_int("min_count_", v))
        check_choice("metric", self.metric, METRICS)  # ranks every basket

