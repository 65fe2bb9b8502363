"""Correlations of wide frames without the whole matrix: the strongest pairs, in numpy blocks.

A frame of k columns has k(k-1)/2 pairs; at 10,000 columns that is 50 million numbers, which no
reader reads and no page can hold. Here the matrix is computed a block of rows at a time (a
block of columns against all columns, one BLAS product), and only what an analyst reads is
kept: the ``top`` strongest pairs, how many pairs reach the warning threshold, and each
column's strongest partner. Memory is one block, never k x k.

Pearson is pairwise-complete, as ``DataFrame.corr``: the corrections for columns with gaps are
products over those columns only. Cramér's V is screened from one-hot indicators (BLAS products of
dense slices) with chi-squared written as n(sum N^2/(r c) - 1); it agrees with scipy to 1e-9,
and the kept pairs are recomputed with scipy's ``association`` so their values are scipy's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .correlations import cramers_v

BLOCK_CELLS = 4_000_000  # cells of one block (block columns x all columns), per accumulator
CHUNK_CELLS = 8_000_000  # cells of one row chunk (rows x columns) of the stacked values


class _Best:
    """The running strongest pairs, the count at or above the threshold, each column's partner.

    Blocks are rows ``lo:hi`` of the upper triangle: those rows against columns ``lo:``, so
    every pair is seen once; a column's partner comes from its own row or its column."""

    def __init__(self, k: int, top: int, threshold: float) -> None:
        self.top, self.threshold = top, threshold
        self.pairs = np.empty((0, 3))  # rows: i, j, value
        self.flagged = 0
        self.partner = np.full(k, -1)
        self.partner_value = np.full(k, np.nan)
        self.partner_strength = np.full(k, -1.0)

    def add(self, lo: int, block: np.ndarray) -> None:
        """Fold in rows ``lo .. lo + len(block)`` of the matrix, columns ``lo:`` (NaN:
        undefined)."""
        height = len(block)
        local = np.arange(height)
        strength = np.abs(block)
        np.copyto(strength, -1.0, where=np.isnan(block))
        strength[local, local] = -1.0  # a column with itself is not a pair
        across = strength.argmax(axis=1)  # each block row's best column
        self._update(lo + local, lo + across, block[local, across], strength[local, across])
        columns = np.arange(block.shape[1])
        down = strength.argmax(axis=0)  # each column's best block row
        self._update(lo + columns, lo + down, block[down, columns], strength[down, columns])
        strength[:, :height][local[:, None] >= local[None, :]] = -1.0  # the strict upper part
        self.flagged += int(np.count_nonzero(strength >= self.threshold))
        flat = strength.ravel()
        floor = abs(self.pairs[-1, 2]) if len(self.pairs) >= self.top else 0.0
        chosen = np.flatnonzero(flat >= floor)  # only what can enter the kept pairs
        if len(chosen) > self.top:
            chosen = chosen[np.argpartition(-flat[chosen], self.top - 1)[: self.top]]
        if len(chosen) == 0:
            return
        i, j = np.divmod(chosen, block.shape[1])
        found = np.column_stack([i + lo, j + lo, block[i, j]])
        merged = np.vstack([self.pairs, found])
        order = np.lexsort((merged[:, 1], merged[:, 0], -np.abs(merged[:, 2])))
        self.pairs = merged[order[: self.top]]

    def _update(self, columns, partners, values, strengths) -> None:
        """Keep, for each of ``columns``, its strongest partner so far."""
        better = strengths > self.partner_strength[columns]
        self.partner_strength[columns[better]] = strengths[better]
        self.partner[columns[better]] = partners[better]
        self.partner_value[columns[better]] = values[better]

    def result(self, names: list[str]) -> dict[str, Any]:
        pairs = [[names[int(i)], names[int(j)], float(v)] for i, j, v in self.pairs]
        partners = {
            names[a]: [names[int(b)], float(self.partner_value[a])]
            for a, b in enumerate(self.partner)
            if b >= 0
        }
        k = len(names)
        return {
            "pairs": pairs,
            "columns": k,
            "pairs_total": k * (k - 1) // 2,
            "at_or_above_threshold": self.flagged,
            "threshold": self.threshold,
            "strongest_partner": partners,
        }


@np.errstate(invalid="ignore", divide="ignore")
def strongest_pearson(arrays: dict[str, np.ndarray], top: int, threshold: float) -> dict[str, Any]:
    """The ``top`` pairs with the largest |r| (pairwise-complete Pearson, as ``DataFrame.corr``),
    the number of pairs with |r| >= ``threshold`` and every column's strongest partner."""
    names = list(arrays)
    k = len(names)
    best = _Best(k, top, threshold)
    if k < 2:
        return best.result(names)
    values = _Stacked(list(arrays.values()))
    size = max(1, BLOCK_CELLS // k)
    for start in range(0, k, size):
        best.add(start, values.r_rows(start, min(start + size, k)))
    return best.result(names)


def ranks(arrays: dict[str, np.ndarray], rows: np.ndarray | None) -> dict[str, np.ndarray]:
    """Average ranks of each column (of ``rows`` only, when given), NaN kept, by scipy's
    ``rankdata`` over all columns at once."""
    from scipy.stats import rankdata

    names = list(arrays)
    if not names:
        return {}
    stacked = np.column_stack([a if rows is None else a[rows] for a in arrays.values()])
    ranked = rankdata(stacked, axis=0, nan_policy="omit")
    return {name: ranked[:, j] for j, name in enumerate(names)}


def pearson_row(arrays: dict[str, np.ndarray], name: str) -> dict[str, float | None]:
    """``name``'s Pearson r with every column of ``arrays`` (one row of the matrix)."""
    names = list(arrays)
    i = names.index(name)
    with np.errstate(invalid="ignore", divide="ignore"):
        row = _Stacked(list(arrays.values())).r_rows(i, i + 1, first=0)[0]
    return {b: None if math.isnan(v) else float(v) for b, v in zip(names, row, strict=True)}


class _Stacked:
    """The columns centred on their means, gaps as zeros, in row chunks of bounded size."""

    def __init__(self, columns: list[np.ndarray]) -> None:
        self.columns = columns
        k = len(columns)
        self.n = len(columns[0])
        self.rows = max(1, CHUNK_CELLS // k)
        missing = np.array([int(np.isnan(c).sum()) for c in columns])
        self.gappy = np.flatnonzero(missing)
        self.where_gappy = np.full(k, -1)
        self.where_gappy[self.gappy] = np.arange(len(self.gappy))
        self.missing = missing.astype("float64")
        self.means = np.array(
            [np.nanmean(c) if m < self.n else 0.0 for c, m in zip(columns, missing, strict=True)]
        )
        self._cached = None if self.n > self.rows else self._chunk(0, self.n)
        self._totals: tuple[np.ndarray, np.ndarray] | None = None

    def _chunk(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = np.empty((hi - lo, len(self.columns)), order="F")
        for j, c in enumerate(self.columns):
            np.subtract(c[lo:hi], self.means[j], out=z[:, j])
        gaps = np.isnan(z[:, self.gappy]).astype("float64")
        if self.gappy.size:
            z[:, self.gappy] = np.nan_to_num(z[:, self.gappy], nan=0.0)
        return z, z * z, gaps

    def chunks(self):
        if self._cached is not None:
            yield self._cached
            return
        for lo in range(0, self.n, self.rows):
            yield self._chunk(lo, min(lo + self.rows, self.n))

    def r_rows(self, lo: int, hi: int, first: int | None = None) -> np.ndarray:
        """Rows ``lo:hi`` of the correlation matrix, columns ``first:`` (default ``lo:``, the
        upper triangle and its diagonal block); NaN where r is undefined."""
        first = lo if first is None else first
        z_all, z2_all = self.totals()
        block = np.arange(lo, hi)
        later = self.gappy[self.gappy >= first]  # gappy columns among those computed
        here = self.gappy[(self.gappy >= lo) & (self.gappy < hi)]  # gappy rows of the block
        shape = (hi - lo, len(self.columns) - first)
        products = None
        miss_a = np.zeros((hi - lo, len(later)))  # sum of a over rows where j is missing
        miss_a2 = np.zeros_like(miss_a)
        miss_b = np.zeros((len(here), shape[1]))  # sum of j over rows where a is missing
        miss_b2 = np.zeros_like(miss_b)
        both = np.zeros((len(here), len(later)))
        for z, z2, gaps in self.chunks():
            zb = z[:, lo:hi]
            part = zb.T @ z[:, first:]
            products = part if products is None else np.add(products, part, out=products)
            if self.gappy.size:
                gaps_later = gaps[:, self.where_gappy[later]]
                gaps_here = gaps[:, self.where_gappy[here]]
                miss_a += zb.T @ gaps_later
                miss_a2 += z2[:, lo:hi].T @ gaps_later
                miss_b += gaps_here.T @ z[:, first:]
                miss_b2 += gaps_here.T @ z2[:, first:]
                both += gaps_here.T @ gaps_later
        n = float(self.n)
        products_later = products[:, later - first].copy()
        products_here = products[here - lo].copy()
        # Pairs of complete columns: sums over every row. The columns are centred, so the cross
        # term sum_a * sum_b / n is rounding (1e-16 of the result) and left out.
        var = z2_all - z_all**2 / n
        inverse = 1 / np.sqrt(np.where(var > 0, var, np.nan))
        r = products  # scaled in place: two passes, no k-wide temporaries
        r *= inverse[lo:hi, None]
        r *= inverse[None, first:]
        if len(later):  # pairs with a gappy column: sums over the rows both have
            count = n - self.missing[block][:, None] - self.missing[None, later]
            sum_b = np.repeat(z_all[None, later], len(block), axis=0)
            sq_b = np.repeat(z2_all[None, later], len(block), axis=0)
            sum_b[here - lo] -= miss_b[:, later - first]
            sq_b[here - lo] -= miss_b2[:, later - first]
            count[here - lo] += both
            r[:, later - first] = _pairwise(
                products_later,
                z_all[block][:, None] - miss_a,
                z2_all[block][:, None] - miss_a2,
                sum_b,
                sq_b,
                count,
            )
        if len(here):
            count = n - self.missing[here][:, None] - self.missing[None, first:]
            sum_a = np.repeat(z_all[here][:, None], shape[1], axis=1)
            sq_a = np.repeat(z2_all[here][:, None], shape[1], axis=1)
            sum_a[:, later - first] -= miss_a[here - lo]
            sq_a[:, later - first] -= miss_a2[here - lo]
            count[:, later - first] += both
            r[here - lo] = _pairwise(
                products_here,
                sum_a,
                sq_a,
                z_all[None, first:] - miss_b,
                z2_all[None, first:] - miss_b2,
                count,
            )
        return np.clip(r, -1.0, 1.0, out=r)  # NaN stays NaN

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's sum and sum of squares over its present rows (one pass, kept)."""
        if self._totals is None:
            sums = np.zeros(len(self.columns))
            squares = np.zeros(len(self.columns))
            for z, z2, _ in self.chunks():
                sums += z.sum(axis=0)
                squares += z2.sum(axis=0)
            self._totals = (sums, squares)
        return self._totals


def _pairwise(products, sum_a, sq_a, sum_b, sq_b, count) -> np.ndarray:
    """Pearson r from sums over the rows each pair has in common (NaN where undefined)."""
    cov = products - sum_a * sum_b / count
    var_a = sq_a - sum_a**2 / count
    var_b = sq_b - sum_b**2 / count
    r = cov / np.sqrt(var_a * var_b)
    r[(count < 2) | ~(var_a > 0) | ~(var_b > 0)] = np.nan
    return r


def strongest_cramers(codes: dict[str, np.ndarray], top: int, threshold: float) -> dict[str, Any]:
    """The ``top`` pairs of categorical columns with the largest Cramér's V (values recomputed
    with scipy), the number of pairs with V >= ``threshold`` and each column's strongest
    partner, screened from one-hot counts without a k x k table of Python floats."""
    names = list(codes)
    k = len(names)
    best = _Best(k, top, threshold)
    if k < 2:
        return best.result(names)
    from scipy import sparse

    widths = np.array([int(c.max()) + 1 if len(c) and c.max() >= 0 else 1 for c in codes.values()])
    offsets = np.concatenate([[0], np.cumsum(widths)])  # column j's levels: offsets[j]:[j+1]
    n = len(next(iter(codes.values())))
    rows = [np.flatnonzero(c >= 0) for c in codes.values()]
    levels = [offsets[j] + c[c >= 0] for j, c in enumerate(codes.values())]
    onehot = sparse.csc_matrix(  # float64: the gappy pairs' sums of N^2/(r c) keep 1e-15
        (
            np.ones(sum(map(len, rows))),
            (np.concatenate(rows), np.concatenate(levels)),
        ),
        shape=(n, int(offsets[-1])),
    )
    tables = _Tables(onehot, offsets, [bool((c < 0).any()) for c in codes.values()])
    # blocks of about sqrt(BLOCK_CELLS) levels against chunks of as many: dense counts bounded
    side = max(int(widths.max()), math.isqrt(BLOCK_CELLS))
    start = 0
    while start < k:
        stop = _upto(offsets, start, side, limit=max(1, BLOCK_CELLS // k))
        block = np.empty((stop - start, k - start))
        span = max(1, BLOCK_CELLS // int(offsets[stop] - offsets[start]))
        first = start
        while first < k:
            last = _upto(offsets, first, span)
            block[:, first - start : last - start] = tables.v(start, stop, first, last)
            first = last
        best.add(start, block)
        start = stop
    exact = [cramers_v(codes[names[int(i)]], codes[names[int(j)]]) for i, j, _ in best.pairs]
    best.pairs[:, 2] = [np.nan if v is None else v for v in exact]
    best.pairs = best.pairs[~np.isnan(best.pairs[:, 2])]
    order = np.lexsort((best.pairs[:, 1], best.pairs[:, 0], -best.pairs[:, 2]))
    best.pairs = best.pairs[order]
    return best.result(names)


class _Tables:
    """Cramér's V of blocks of columns against chunks of columns, from one-hot indicators.

    Between two complete columns the margins are the columns' own counts, so with indicators
    scaled by 1/sqrt(count), sum N^2/(r c) is the sum of squares of one product's block: three
    passes. Pairs with a gappy column need the margins of the rows both have: their counts go
    through ``_cramers_block``.
    """

    def __init__(self, onehot: Any, offsets: np.ndarray, gappy: list[bool]) -> None:
        from scipy import sparse

        self.onehot, self.offsets, self.gappy = onehot, offsets, np.array(gappy)
        self.widths = np.diff(offsets)
        margins = np.asarray(onehot.sum(axis=0), dtype="float64").ravel()
        scale = 1 / np.sqrt(np.where(margins > 0, margins, 1))
        self.scaled = (onehot @ sparse.diags(scale)).tocsc()
        self._left: tuple[tuple[int, int] | None, Any] = (None, None)

    def _levels(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The level indices of ``columns`` and where each column's levels start among them."""
        spans = [np.arange(self.offsets[c], self.offsets[c + 1]) for c in columns]
        starts = np.concatenate([[0], np.cumsum([len(x) for x in spans])[:-1]])
        return np.concatenate(spans), starts

    @np.errstate(invalid="ignore", divide="ignore")
    def v(self, start: int, stop: int, first: int, last: int) -> np.ndarray:
        """V of columns ``start:stop`` with columns ``first:last``."""
        o = self.offsets
        rows_at, cols_at = o[start:stop] - o[start], o[first:last] - o[first]
        if self._left[0] != (start, stop):  # dense slices: the product is dense, BLAS is fast
            self._left = ((start, stop), self.scaled[:, o[start] : o[stop]].toarray())
        product = self._left[1].T @ self.scaled[:, o[first] : o[last]].toarray()
        np.multiply(product, product, out=product)
        phi2 = np.add.reduceat(np.add.reduceat(product, cols_at, axis=1), rows_at, axis=0) - 1
        dof = np.minimum(self.widths[start:stop, None], self.widths[None, first:last]) - 1
        v = np.sqrt(np.clip(phi2, 0, None) / np.where(dof > 0, dof, 1))
        v[dof < 1] = np.nan
        gappy_rows = start + np.flatnonzero(self.gappy[start:stop])
        gappy_cols = first + np.flatnonzero(self.gappy[first:last])
        if gappy_cols.size:  # every row of the block against the gappy columns
            levels, at = self._levels(gappy_cols)
            counts = self.onehot[:, o[start] : o[stop]].T @ self.onehot[:, levels]
            v[:, gappy_cols - first] = _cramers_block(counts.toarray(), rows_at, at)
        if gappy_rows.size:  # the gappy rows against every column of the chunk
            levels, at = self._levels(gappy_rows)
            counts = self.onehot[:, levels].T @ self.onehot[:, o[first] : o[last]]
            v[gappy_rows - start] = _cramers_block(counts.toarray(), at, cols_at)
        return np.clip(v, 0.0, 1.0)


def _upto(offsets: np.ndarray, first: int, levels: int, limit: int | None = None) -> int:
    """The end of a run of columns from ``first`` holding at most ``levels`` levels (at least
    one column, at most ``limit``)."""
    last = int(np.searchsorted(offsets, offsets[first] + levels, "right")) - 1
    last = max(first + 1, min(last, len(offsets) - 1))
    return last if limit is None else min(last, first + limit)


@np.errstate(invalid="ignore", divide="ignore")
def _cramers_block(table: np.ndarray, rows_at: np.ndarray, cols_at: np.ndarray) -> np.ndarray:
    """Cramér's V of each column of a block (its levels start at ``rows_at``) with each column of
    a chunk (levels at ``cols_at``), from their joint counts; chi-squared as n(sum N^2/(r c) - 1)
    over each pairwise-complete table, empty rows and columns dropped."""
    col = np.add.reduceat(table, rows_at, axis=0)  # per a, per level of b: rows a present too
    row = np.add.reduceat(table, cols_at, axis=1)  # per level of a, per b: rows b present too
    n = np.add.reduceat(row, rows_at, axis=0)
    spread = np.repeat(col, np.diff(np.r_[rows_at, len(table)]), axis=0)
    scaled = np.divide(table * table, spread, out=np.zeros_like(table), where=spread > 0)
    summed = np.add.reduceat(scaled, cols_at, axis=1)
    ratio = np.divide(summed, row, out=np.zeros_like(summed), where=row > 0)
    phi2 = np.add.reduceat(ratio, rows_at, axis=0) - 1
    k_rows = np.add.reduceat((row > 0).astype(np.int32), rows_at, axis=0)
    k_cols = np.add.reduceat((col > 0).astype(np.int32), cols_at, axis=1)
    smaller = np.minimum(k_rows, k_cols) - 1
    v = np.sqrt(np.clip(phi2, 0, None) / np.where(smaller > 0, smaller, 1))
    v[(smaller < 1) | (n == 0)] = np.nan
    return np.clip(v, 0.0, 1.0)
