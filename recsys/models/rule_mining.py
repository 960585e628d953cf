"""Mining association rules from baskets: frequent itemsets and rules A -> C, as pure kernels.

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
import warnings
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.errors import ConfigError

LOG = logging.getLogger("recsys")

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
        exact = Fraction(value)  # type: ignore[call-overload]  # a checked Real
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
    count: np.ndarray  # type: ignore[assignment]  # baskets holding both sides
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
    parts = [pair_candidates(a, b, pair_counts, counts)]
    if max_len >= 3 and len(pair_codes) >= 3:
        parts.append(_triple_candidates(restricted, a, b, pair_codes, pair_counts, counts,
                                        min_count))
    merged = _concat(parts, max(p.antecedents.shape[1] for p in parts))
    return merged._replace(antecedents=_rename(merged.antecedents, frequent),
                           consequents=_rename(merged.consequents, frequent))


def pair_candidates(a: np.ndarray, b: np.ndarray, pair_counts: np.ndarray,
                    item_counts: np.ndarray) -> Candidates:
    """Both 1 -> 1 rules of each frequent pair (a, b) with its count, from item counts."""
    return Candidates(np.r_[a, b][:, None], np.r_[b, a][:, None],
                      np.r_[pair_counts, pair_counts], item_counts[np.r_[a, b]],
                      item_counts[np.r_[b, a]])


def pair_counts(baskets: sp.csr_matrix) -> sp.csr_matrix:
    """Baskets holding each pair of items, as the strict upper triangle of ``X^T X`` over
    the baskets' presence (int64)."""
    presence = sp.csr_matrix((np.ones(baskets.nnz, np.int64), baskets.indices,
                              baskets.indptr), shape=baskets.shape)
    return sp.triu(presence.T @ presence, k=1, format="csr")


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
        try:
            from mlxtend.frequent_patterns import association_rules, fpgrowth
        except ModuleNotFoundError:
            raise ImportError('engine="mlxtend" needs the optional mlxtend package: '
                              'pip install "recsys-lab[mlxtend]" (engine="sparse" does not)'
                              ) from None

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
