"""Generalisation hierarchies and the search for the least information loss that meets the risk targets.

The way ARX and sdcMicro protect microdata: each quasi-identifier has a
hierarchy of levels, from its values as they are to coarser ones, and the
release takes one level per quasi-identifier (a node of the lattice of
levels), the one that meets the targets (``risk``) with the least information
lost (``loss``), the few records still in classes smaller than k being
locally suppressed (``suppress``) within the declared share.

The hierarchies:
- numbers (age, anthropometry …): as they are; whole units (fractional ages
  become completed years first); bands of 2, 5, 10, 20 … units. At every
  level but the first the tails are top- and bottom-coded, at the band from
  which at least k records share the tail ("<35", "75+"); ages are never above
  the Safe Harbor ceiling.
- categories (race, categorical quasi-identifiers): as they are, then the
  rarest group merged with its rarer neighbour, step by step (``grouping``).
- recoded centres: as they are, then the centres with fewer than k, 2k, 4k …
  participants pooled into one code.
- sex (and any other two-valued variable): as it is; suppression only.

The search: every node is one GROUP BY over the quasi-identifiers at their
levels (DuckDB; no per-row Python). A node fails when its classes smaller
than k hold more records than the suppression allows, or its average risk is
above the target; a node less general than a failing one fails too
(monotonicity), so it is never evaluated. Nodes are taken in the order of
their generalisation loss, and the search stops when no node left can beat
the best found. A lattice too large to walk is climbed greedily from the
bottom (the step that removes most risk per loss), then descended again
wherever a level is not needed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.columns import BOOLEAN, INTEGER, quote
from .cells import literal, plain
from .protect import NUMERIC, age_cap_sql, age_text_sql, collapse_sql, matches
from .rules import TIERS, Generalisation, Protection, ReleaseRules, Targets

if TYPE_CHECKING:
    from ..backends.sql import Connection

WIDTHS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
POOLED = "pooled"
MAX_CATEGORY_LEVELS = 6
FULL_SEARCH = 4000  # lattices up to this many nodes are searched whole; larger ones greedily
MAX_EVALUATIONS = 600
MATERIALISED = 200_000  # up to this many rows, every level is computed once into a table of combinations
MAX_DISTINCT_CATEGORIES = 12  # a numeric quasi-identifier with more values is banded, not grouped


# -- the released values ------------------------------------------------------------------------------


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def band_sql(x: str, g: Generalisation, integral: bool) -> str:
    """Text: the band of ``x`` ("50-54", or "[45,50)" for fractional values; whole units as "54"), "<bottom"
    below the bottom and "top+" from the top."""
    w = int(g.width or 1)
    start = f"CAST(floor(({x}) / {w}) * {w} AS BIGINT)"
    if w == 1:
        label = f"CAST({start} AS VARCHAR)"
    elif integral:
        label = f"CAST({start} AS VARCHAR) || '-' || CAST({start} + {w - 1} AS VARCHAR)"
    else:
        label = f"'[' || CAST({start} AS VARCHAR) || ',' || CAST({start} + {w} AS VARCHAR) || ')'"
    whens = [f"WHEN ({x}) IS NULL THEN NULL"]
    if g.bottom is not None:
        whens.append(f"WHEN ({x}) < {literal(g.bottom)} THEN {literal('<' + _number(g.bottom))}")
    if g.top is not None:
        whens.append(f"WHEN ({x}) >= {literal(g.top)} THEN {literal(_number(g.top) + '+')}")
    return f"CASE {' '.join(whens)} ELSE {label} END"


def band_words(g: Generalisation, integral: bool) -> str:
    w = int(g.width or 1)
    unit = "whole units" if w == 1 else f"bands of {w}" + ("" if integral else " (lower bound included)")
    tails = []
    if g.bottom is not None:
        tails.append(f"below {_number(g.bottom)} recorded as '<{_number(g.bottom)}'")
    if g.top is not None:
        tails.append(f"{_number(g.top)} and over as '{_number(g.top)}+'")
    return f"generalised to {unit}" + (f"; {', '.join(tails)}" if tails else "") + " (text)"


def pool_sql(c: str, kind: str, pool: list, otherwise: str) -> str:
    return f"CASE WHEN {matches(c, kind, list(pool))} THEN {literal(POOLED)} ELSE {otherwise} END"


# -- hierarchies --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    spec: Generalisation | None  # None: the values as they are (ages as whole years below the ceiling)
    sql: str  # the value at this level, over the version's rows
    words: str
    single: bool = False  # one value for every record: the variable says nothing any more


@dataclass
class Hierarchy:
    column: str
    kind: str  # numeric, categorical, centre, fixed
    value: str  # SQL of the values as they are
    levels: list[Level]
    losses: list[float] = dataclasses.field(default_factory=list)


def hierarchies(con: Connection, relation: str, rules: ReleaseRules, kinds: dict[str, str],
                qis: list[str], k: int) -> list[Hierarchy]:
    protections = {p.column: p for p in rules.quasi_identifiers}
    out = []
    for name in qis:
        kind, c = kinds[name], quote(name)
        if name == rules.age.column and kind in NUMERIC:
            out.append(_numeric(con, relation, name, k, rules.age.top, True))
        elif name in rules.centres:
            out.append(_centres(con, relation, name, kind, k))
        elif kind in NUMERIC and _many(con, relation, name, protections.get(name)):
            out.append(_numeric(con, relation, name, k, None, kind == INTEGER))
        elif kind == BOOLEAN or _distinct(con, relation, name) <= 2 or name == rules.sex:
            out.append(Hierarchy(name, "fixed", c, [Level(None, c, "as it is")]))
        else:
            out.append(_categorical(con, relation, name, kind))
    return out


def _distinct(con: Connection, relation: str, name: str) -> int:
    return int(con.sql(f"SELECT count(DISTINCT {quote(name)}) FROM {relation}").fetchall()[0][0])


def _many(con: Connection, relation: str, name: str, protection: Protection | None) -> bool:
    if protection is not None and protection.action in ("trim", "topcode", "bottomcode"):
        return True
    return _distinct(con, relation, name) > MAX_DISTINCT_CATEGORIES


def _numeric(con: Connection, relation: str, name: str, k: int, ceiling: int | None,
             integral: bool) -> Hierarchy:
    c = quote(name)
    x = age_cap_sql(c, ceiling) if ceiling is not None else c
    exact = age_text_sql(x, ceiling) if ceiling is not None else c
    levels = [Level(None, exact, "whole years" if ceiling is not None else "as it is")]
    low, high = con.sql(f"SELECT min({x}), max({x}) FROM {relation}").fetchall()[0]
    if low is None:
        return Hierarchy(name, "numeric", c, levels)
    span = float(high) - float(low)
    for w in WIDTHS:
        if w > 1 and w > span / 2:
            break
        rows = con.sql(f"SELECT CAST(floor(({x}) / {w}) * {w} AS DOUBLE) AS b, count(*) FROM {relation} "
                       f"WHERE {x} IS NOT NULL GROUP BY b ORDER BY b").fetchall()
        bottom, top = _tails(rows, k, w)
        if ceiling is not None and float(high) >= ceiling and (top is None or top > ceiling):
            top = ceiling
        if bottom is not None and top is not None and bottom >= top:
            continue
        spec = Generalisation(name, w, _plain_number(bottom), _plain_number(top))
        levels.append(Level(spec, band_sql(x, spec, integral or ceiling is not None),
                            band_words(spec, integral or ceiling is not None)))
    whole = next(w for w in (*WIDTHS, 10 ** 9) if math.floor(float(low) / w) == math.floor(float(high) / w))
    spec = Generalisation(name, whole)  # one band for every value: the variable says nothing any more
    if ceiling is None or float(high) < ceiling:
        levels.append(Level(spec, band_sql(x, spec, True), "one value left", single=True))
    return Hierarchy(name, "numeric", c, levels)


def _plain_number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def _tails(rows: list[tuple], k: int, w: int) -> tuple[float | None, float | None]:
    """The bottom (top) threshold: the first band start from which fewer than k records lie below (above) it,
    so that "<bottom" ("top+") holds at least k records; None when the extreme band has k already."""
    bottom = top = None
    total = 0
    for i, (start, n) in enumerate(rows):
        total += n
        if total >= k:
            bottom = rows[i + 1][0] if i > 0 and i + 1 < len(rows) else None
            break
    total = 0
    for i in range(len(rows) - 1, -1, -1):
        total += rows[i][1]
        if total >= k:
            top = rows[i][0] if i < len(rows) - 1 else None
            break
    return bottom, top


def _categorical(con: Connection, relation: str, name: str, kind: str) -> Hierarchy:
    from .grouping import _names, _order

    c = quote(name)
    counts = {plain(v): int(n) for v, n in con.sql(f"SELECT {c}, count(*) FROM {relation} GROUP BY ALL").fetchall()}
    values = sorted((v for v in counts if v is not None), key=_order)
    groups = [[v] for v in values]
    steps = []
    while len(groups) > 1:
        sizes = [sum(counts[v] for v in g) for g in groups]
        rarest = min(range(len(groups)), key=lambda i: (sizes[i], i))
        neighbours = [i for i in (rarest - 1, rarest + 1) if 0 <= i < len(groups)]
        other = min(neighbours, key=lambda i: (sizes[i], i))
        lo, hi = sorted((rarest, other))
        groups = groups[:lo] + [groups[lo] + groups[hi]] + groups[hi + 1:]
        steps.append([list(g) for g in groups])
    if len(steps) > MAX_CATEGORY_LEVELS:  # keep a few steps, spread over the way down
        picks = sorted({round(i * (len(steps) - 1) / (MAX_CATEGORY_LEVELS - 1)) for i in range(MAX_CATEGORY_LEVELS)})
        steps = [steps[i] for i in picks]
    levels = [Level(None, c, "as it is")]
    for grouping in steps:
        named = {n: g for n, g in _names(grouping).items() if len(g) > 1} if len(grouping) > 1 else {
            "any": grouping[0]}
        spec = Generalisation(name, groups=named)
        single = len(grouping) == 1
        levels.append(Level(spec, collapse_sql(c, kind, named, f"CAST({c} AS VARCHAR)"),
                            "one value left" if single else f"{len(grouping)} groups", single=single))
    return Hierarchy(name, "categorical", c, levels)


def _centres(con: Connection, relation: str, name: str, kind: str, k: int) -> Hierarchy:
    c = quote(name)
    counts = [(plain(v), int(n)) for v, n in con.sql(f"SELECT {c}, count(*) FROM {relation} WHERE {c} IS NOT NULL "
                                                      f"GROUP BY ALL ORDER BY 2, 1").fetchall()]
    levels = [Level(None, c, "as it is")]
    seen: set[tuple] = set()
    threshold = k
    while counts:
        pool = [v for v, n in counts if n < threshold]
        key = tuple(sorted(map(str, pool)))
        if len(pool) >= 2 and key not in seen:
            seen.add(key)
            spec = Generalisation(name, pool=sorted(pool, key=lambda v: (str(type(v)), v)))
            every = len(pool) == len(counts)
            levels.append(Level(spec, pool_sql(c, kind, pool, f"CAST({c} AS VARCHAR)"),
                                "every centre pooled: one value left" if every else
                                f"{len(pool)} centres with fewer than {threshold} participants pooled", single=every))
        if len(pool) == len(counts):
            break
        threshold *= 2
    return Hierarchy(name, "centre", c, levels)


# -- the search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    node: tuple[int, ...]
    small: int  # records in classes below k
    suppressed: int  # records the suppression would take (0 when it would need more than allowed)
    classes: int  # classes of k or more, plus at most those the suppressed records form (an upper bound)
    average_risk: float
    met: bool
    loss: float  # mean over the quasi-identifiers of the normalised loss, suppression included


def _strictest(targets: dict[str, Targets]) -> Targets:
    values = list(targets.values()) or [Targets()]
    return Targets(max(t.k for t in values), min(t.average_risk for t in values),
                   min(t.suppression for t in values))


class Search:
    def __init__(self, con: Connection, relation: str, found: list[Hierarchy], targets: Targets) -> None:
        self.con, self.relation, self.found, self.targets = con, relation, found, targets
        self.records = int(con.sql(f"SELECT count(*) FROM {relation}").fetchall()[0][0])
        from .loss import level_loss

        for h in found:
            h.losses = [0.0] + [level_loss(con, relation, h.value, level.sql, self.records)
                                for level in h.levels[1:]]
        self.cache: dict[tuple[int, ...], Evaluation] = {}
        self.keys = [[level.sql for level in h.levels] for h in found]
        self.codes: tuple | None = None  # (per level, its integer codes; counts) of a small lattice table
        self.source, self.count = relation, "count(*)"
        if self.records <= MATERIALISED and found:
            names = [[f"l{i}_{j}" for j in range(len(h.levels))] for i, h in enumerate(found)]
            select = ", ".join(f"{sql} AS {n}" for sqls, ns in zip(self.keys, names) for sql, n in zip(sqls, ns))
            con.execute(f"CREATE OR REPLACE TEMP TABLE lattice AS SELECT {select}, count(*) AS n FROM {relation} "
                        "GROUP BY ALL")
            self.keys, self.source, self.count = names, "lattice", "sum(n)"
            self.codes = self._codes([n for ns in names for n in ns])

    def generalisation(self, node: tuple[int, ...]) -> float:
        return sum(h.losses[i] for h, i in zip(self.found, node)) / max(len(self.found), 1)

    def _codes(self, columns: list[str]) -> tuple | None:
        """The lattice table's levels as integer codes (one array per level) and its counts, when it is small
        enough that grouping its combinations in numpy beats a query per node."""
        import numpy as np
        import pyarrow.compute as pc

        table = self.con.sql("SELECT * FROM lattice").to_arrow_table()
        if table.num_rows > 20_000:
            return None
        codes = {}
        for name in columns:
            encoded = pc.dictionary_encode(table[name].combine_chunks())
            codes[name] = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, table["n"].to_numpy().astype(np.int64)

    def _classes(self, keys: list[str]) -> tuple[int, int, int]:
        """Records in classes below k, classes of k or more, and the size of the smallest of those, at the
        levels ``keys``."""
        k = self.targets.k
        if self.codes is not None:
            import numpy as np

            codes, counts = self.codes
            if keys:
                _, inverse = np.unique(np.stack([codes[key] for key in keys], axis=1), axis=0, return_inverse=True)
                sizes = np.bincount(inverse.reshape(-1), weights=counts)
            else:
                sizes = np.array([counts.sum()])
            big = sizes[sizes >= k]
            return int(sizes[sizes < k].sum()), int(len(big)), int(big.min()) if len(big) else 0
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        small, big, least = self.con.sql(
            f"SELECT coalesce(sum(c) FILTER (WHERE c < {k}), 0), count(*) FILTER (WHERE c >= {k}), "
            f"coalesce(min(c) FILTER (WHERE c >= {k}), 0) FROM (SELECT {self.count} AS c FROM {self.source}{group})"
        ).fetchall()[0]
        return int(small), int(big), int(least)

    def evaluate(self, node: tuple[int, ...]) -> Evaluation:
        if node in self.cache:
            return self.cache[node]
        k, n = self.targets.k, self.records
        small, big, least = self._classes([sqls[i] for sqls, i in zip(self.keys, node)])
        # fewer than k records at risk cannot form a class of k among themselves: ``suppress`` blanks the
        # smallest class of k or more with them
        needed = 0 if small == 0 else small if small >= k else small + least
        allowed = needed <= math.floor(self.targets.suppression * n)
        suppressed = needed if allowed else 0
        # cells suppressed (``suppress``): each class the small ones form holds k of them or more, so at most
        # small // k new classes (one when fewer); unsuppressed: each small class counts at least once
        classes = big + (max(1, small // k) if suppressed else 0) + (0 if allowed else small)
        average = classes / n if n else 0.0
        met = allowed and average <= self.targets.average_risk
        gen = [h.losses[i] for h, i in zip(self.found, node)]
        share = suppressed / n if n else 0.0
        loss = sum(g + share * (1 - g) for g in gen) / max(len(gen), 1)
        result = Evaluation(node, small, suppressed, classes, round(average, 6), met, loss)
        self.cache[node] = result
        return result

    def run(self) -> Evaluation:
        sizes = [len(h.levels) for h in self.found]
        top = self.evaluate(tuple(s - 1 for s in sizes))
        if not top.met:  # not even every variable at its coarsest: no node meets the targets
            return self._greedy(sizes)
        if math.prod(sizes) <= FULL_SEARCH:
            return self._full(sizes)
        return self._greedy(sizes)

    def _full(self, sizes: list[int]) -> Evaluation:
        nodes = sorted(itertools.product(*(range(s) for s in sizes)), key=lambda nd: (self.generalisation(nd), nd))
        failed: list[tuple[int, ...]] = []
        best: Evaluation | None = None
        for node in nodes:
            if best is not None and (self.generalisation(node) >= best.loss or len(self.cache) > MAX_EVALUATIONS):
                break
            if any(all(a <= b for a, b in zip(node, f)) for f in failed):
                continue
            found = self.evaluate(node)
            if found.met:
                if best is None or (found.loss, found.node) < (best.loss, best.node):
                    best = found
            else:  # keep only the most general failures: they prune the most
                failed = [f for f in failed if not all(a <= b for a, b in zip(f, node))] + [node]
        return best or self.evaluate(tuple(s - 1 for s in sizes))

    def _greedy(self, sizes: list[int]) -> Evaluation:
        current = self.evaluate(tuple(0 for _ in sizes))
        while not current.met:
            steps = [tuple(v + (j == i) for j, v in enumerate(current.node)) for i in range(len(sizes))
                     if current.node[i] + 1 < sizes[i]]
            if not steps:
                break
            found = [self.evaluate(s) for s in steps]

            def worth(e: Evaluation) -> tuple:
                gain = (current.small - e.small) + (current.classes - e.classes) / max(self.records, 1)
                return (not e.met, -gain / max(e.loss - current.loss, 1e-9), e.loss, e.node)

            current = min(found, key=worth)
        if not current.met:
            return current
        improved = True
        while improved:  # descend wherever a level is not needed
            improved = False
            for i in range(len(sizes)):
                if current.node[i] == 0:
                    continue
                lower = self.evaluate(tuple(v - (j == i) for j, v in enumerate(current.node)))
                if lower.met and lower.loss < current.loss:
                    current, improved = lower, True
        return current


# -- the proposal -------------------------------------------------------------------------------------


def optimise(rules: ReleaseRules, con: Connection, relation: str,
             kinds: dict[str, str]) -> tuple[ReleaseRules, bool]:
    """The proposed ``rules`` with risk targets (the defaults, in both tiers) and the level of each
    quasi-identifier that meets them with the least information lost (``Search``), and whether any level
    does. Roles are never in the
    quasi-identifier set; the proposal's per-variable protections of the quasi-identifiers searched give way.

    A quasi-identifier the best node leaves with one value says nothing any more: its rationale says so and
    proposes deleting it or keeping it as a documented exception. It stays in the proposal, since taking it
    out can change which records local suppression can place (a blanked cell is a value of its own)."""
    from .risk import quasi_identifier_set

    targets = dict(rules.targets) or {tier: Targets() for tier in TIERS}
    strictest = _strictest(targets)
    qis = quasi_identifier_set(rules, list(kinds))
    found = hierarchies(con, relation, rules, kinds, qis, strictest.k)
    best = Search(con, relation, found, strictest).run()
    emptied = {h.column: (f"the risk targets (k >= {strictest.k}, average risk <= {strictest.average_risk}) leave "
                          "it one value: delete it in the release rules, or keep it as a documented exception "
                          "(release.exceptions) if the analysis needs it")
               for h, i in zip(found, best.node) if h.levels[i].single}
    return _proposed(rules, targets, strictest, qis, found, best, emptied), best.met


def _proposed(rules: ReleaseRules, targets: dict[str, Targets], strictest: Targets, qis: list[str],
              found: list[Hierarchy], best: Evaluation, emptied: dict[str, str]) -> ReleaseRules:
    generalise = {}
    why = dict(rules.rationale)
    shown = ", ".join(qis) or "none"
    aim = (f"meets k >= {strictest.k} and average risk <= {strictest.average_risk} over the quasi-identifiers "
           f"({shown}) with the least information lost" if best.met else
           f"comes closest to k >= {strictest.k} and average risk <= {strictest.average_risk} over the "
           f"quasi-identifiers ({shown}); the targets are NOT met")
    for h, i in zip(found, best.node):
        level = h.levels[i]
        if level.spec is not None:
            generalise[h.column] = level.spec
        loss = f"non-uniform entropy {h.losses[i]:.2f}"
        said = why.get(h.column, "")
        why[h.column] = (f"{said + '; ' if said else ''}quasi-identifier, {level.words} ({loss}): the level that "
                         f"{aim}")
    for name, reason in emptied.items():
        why[name] = f"{why[name]}; {reason}"
    protections = []
    for p in rules.quasi_identifiers:
        if p.column not in qis or p.action == "delete":
            protections.append(p)
        elif p.column not in generalise and p.column not in (rules.age.column, rules.race, rules.sex):
            protections.append(Protection(p.column, "keep"))  # as it is, and still a quasi-identifier
    return dataclasses.replace(rules, quasi_identifiers=protections, targets=targets, generalise=generalise,
                               rationale=why)
