"""Set-based diff of two relations on one DuckDB connection.

1. Candidates: keys whose rows differ by a hash of the compared columns, that are missing on
   a side, duplicated or NULL. Small inputs (up to EXACT_AGGREGATE_ROWS rows on both sides):
   one aggregate over both sides (UNION ALL) counting rows per key and side and XOR-ing the
   hashes. Larger inputs (a per-key hash table of half a million keys or more is slower than
   a join): a full outer join of (key, hash) rows whose equal pairs are counted, not kept; when
   the counts reveal a duplicate key it falls back to the aggregate. Each side is hashed once;
   the NULL-key groups take one more read of the keys, only when the row counts show some.
   Rows identical as stored never leave this step.
2. Pairs: the candidate keys present once on each side are joined back to the relations. The
   join's candidates carry their left row's values (kept per key by the same aggregate that
   counts the rows), so then only the right relation is read again; the aggregate's are joined
   back to both.
3. Differences: per pair, the columns that differ under the strictness (normal forms computed
   only where the stored values differ) are unpivoted into one row per field.

The output table has the key columns (named as on the left; a key named like an output column
gets a `key_` prefix), then `kind`, `field`, `left_value`, `right_value` (values as text):
- `missing_in_left` / `missing_in_right`: one row per key, field and values NULL;
- `field_mismatch`: one row per differing field of a key present once on each side;
- `duplicate_key`: one row per key held by more than one row on either side, `left_value` /
  `right_value` are the row counts on each side; those rows are not compared;
- `null_key`: one row per distinct key with a NULL part, `left_value` / `right_value` are the
  row counts on each side; NULL keys match nothing and are not compared.

Rows equal as stored are found by a 64-bit hash of their compared columns; a hash collision
between a row and its changed counterpart (about 1 in 1.8e19 per changed row) would hide that
change.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from sync_platform.engines.reconcile.kinds import Column, infer_kinds
from sync_platform.engines.reconcile.normalize import KINDS, STRICTNESS, same_sql
from sync_platform.engines.transforms import register_udfs
from sync_platform.engines.transforms.sql import literal, text
from sync_platform.engines.warehouse import quote

OUTPUT_COLUMNS = ("kind", "field", "left_value", "right_value")
DIFF_KINDS = ("missing_in_left", "missing_in_right", "field_mismatch", "duplicate_key", "null_key")
RIGHT_ROW = 1 << 32  # a right row's weight in the per-key row count (left rows count 1)
# Up to this many rows (both sides) candidates come from the aggregate, above from the join.
# Measured on the benchmark tables (2 cores, DuckDB 2.0, best of 9): the aggregate is faster at
# 300k rows per side (0.09 vs 0.11 s), the join from 600k per side (0.13 vs 0.18 s; 1M: 0.23
# vs 0.27 s; 10M: 2.3-2.6 vs 7.1 s).
EXACT_AGGREGATE_ROWS = 800_000
_UDF_CONNECTIONS: weakref.WeakSet = weakref.WeakSet()  # where register_udfs_once registered


@dataclass
class DiffResult:
    """Where the differences are and how many of each kind."""

    table: str  # SQL name of the differences table
    key: list[str]
    key_columns: list[str]  # the key's column names in the output table
    columns: list[str]  # compared columns (left names)
    kinds: dict[str, str]  # kind used per column that needed normalising
    strictness: str
    rows_left: int
    rows_right: int
    matched: int  # keys present exactly once on both sides
    missing_in_left: int
    missing_in_right: int
    mismatched_rows: int  # matched keys with at least one differing field
    mismatches: dict[str, int]  # field -> matched keys where it differs
    duplicate_keys: int
    null_key_rows_left: int
    null_key_rows_right: int
    differences: int  # rows in the differences table
    columns_only_left: list[str] = field(default_factory=list)
    columns_only_right: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def has_differences(self) -> bool:
        return self.differences > 0


def as_relation(sql: str) -> str:
    """A table name stays as is; a query is parenthesised."""
    stripped = sql.strip()
    if stripped.lower().startswith(("select", "with", "from", "values", "pivot", "unpivot")):
        return f"({stripped})"
    return stripped


def _describe(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.sql(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _find(name: str, columns: dict[str, str], side: str) -> str:
    """The side's column called `name` (exactly, else case-insensitively when unique)."""
    if name in columns:
        return name
    folded = [c for c in columns if c.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise ValueError(f"column {name!r} not found on the {side} side "
                     f"(columns: {', '.join(columns) or 'none'})")


def _pair_columns(left: dict[str, str], right: dict[str, str], left_keys: list[str],
                  right_keys: list[str], wanted: Sequence[str] | None
                  ) -> tuple[list[Column], list[str], list[str]]:
    """Compared columns, then the columns found only on the left / right (keys and dlt's own
    `_dlt_*` columns left out)."""
    def own(name: str, keys: list[str]) -> bool:
        return name not in keys and not name.startswith("_dlt_")

    pairs: list[Column] = []
    for name in [c for c in left if own(c, left_keys)]:
        try:
            other = _find(name, right, "right")
        except ValueError:
            continue
        if own(other, right_keys) and other not in {c.right for c in pairs}:
            pairs.append(Column(name, other, left[name], right[other]))
    only_left = [c for c in left if own(c, left_keys) and c not in {p.left for p in pairs}]
    only_right = [c for c in right if own(c, right_keys) and c not in {p.right for p in pairs}]
    if wanted is not None:
        chosen = [_find(n, left, "left") for n in wanted]
        for name in chosen:
            _find(name, right, "right")
        pairs = [c for c in pairs if c.left in chosen]
    return pairs, only_left, only_right


def _key_names(keys: list[str]) -> list[str]:
    out: list[str] = []
    for k in keys:
        name = k
        while name.lower() in OUTPUT_COLUMNS or name.lower() in (o.lower() for o in out):
            name = "key_" + name
        out.append(name)
    return out


def _table_name(name: str) -> str:
    return ".".join(quote(p) for p in name.split("."))


def diff_relations(con: duckdb.DuckDBPyConnection, left_sql: str, right_sql: str,
                   key: str | Sequence[str], columns: Sequence[str] | None = None,
                   kinds: dict[str, str] | None = None, strictness: str = "normalized",
                   out_table: str | None = None) -> DiffResult:
    """Compare two relations (table names or queries on `con`) row by row on `key` (one column
    name or several) and write the differences to `out_table` (dotted name; default a new temp
    table). `columns`: the columns to compare (default: every non-key column on both sides,
    dlt's `_dlt_*` left out); `kinds`: {column: text|email|phone|number|date|datetime|boolean}
    (the rest inferred); `strictness`: exact | normalized | loose. Both relations are read twice
    (materialise an expensive query first). When phones, dates or datetimes are compared it sets
    the session time zone of `con` to UTC; when a compared phone holds letters it registers the
    transforms' UDFs on `con` (once per connection; `register_udfs` also pins UTC)."""
    started = time.perf_counter()
    if strictness not in STRICTNESS:
        raise ValueError(f"strictness must be one of {', '.join(STRICTNESS)}, not {strictness!r}")
    bad = {c: k for c, k in (kinds or {}).items() if k not in KINDS}
    if bad:
        raise ValueError(f"unknown kinds {bad}; use one of {', '.join(KINDS)}")
    left, right = as_relation(left_sql), as_relation(right_sql)
    left_cols, right_cols = dict(_describe(con, left)), dict(_describe(con, right))
    key_list = [key] if isinstance(key, str) else list(key)
    if not key_list:
        raise ValueError("a key column is needed")
    left_keys = [_find(k, left_cols, "left") for k in key_list]
    right_keys = [_find(k, right_cols, "right") for k in key_list]
    pairs, only_left, only_right = _pair_columns(left_cols, right_cols, left_keys, right_keys,
                                                  columns)
    given = {_find(c, left_cols, "left"): k for c, k in (kinds or {}).items()}

    def key_expr(lk: str, rk: str, side: str) -> str:
        name = lk if side == "l" else rk
        same = left_cols[lk] == right_cols[rk]
        return quote(name) if same else text(quote(name))

    def col_expr(c: Column, side: str) -> str:
        name = c.left if side == "l" else c.right
        return quote(name) if c.left_type == c.right_type else text(quote(name))

    ks = [f"k{i}" for i in range(len(key_list))]
    tag = uuid.uuid4().hex[:10]
    cand, pair_table = f"_diff_cand_{tag}", f"_diff_pairs_{tag}"
    out = _table_name(out_table) if out_table else f"_diff_{tag}"
    out_keys = _key_names(left_keys)

    def side_keys(side: str) -> str:
        return ", ".join(f"{key_expr(lk, rk, side)} AS {k}"
                         for lk, rk, k in zip(left_keys, right_keys, ks, strict=True))

    def values(side: str) -> str:  # the compared columns as c0, c1, ...
        return "".join(f", {col_expr(c, side)} AS c{i}" for i, c in enumerate(pairs))

    def hashed(relation: str, side: str, with_values: bool = False) -> str:
        row_hash = f"hash({', '.join(col_expr(c, side) for c in pairs)})" if pairs else "0"
        weight = 1 if side == "l" else RIGHT_ROW
        return (f"SELECT {side_keys(side)}, {row_hash} AS h, {weight}::BIGINT AS w"
                f"{values(side) if with_values else ''} FROM {relation}")

    def weighted(relation: str, side: str) -> str:  # keys and weight only (no hash)
        weight = 1 if side == "l" else RIGHT_ROW
        return f"SELECT {side_keys(side)}, {weight}::BIGINT AS w FROM {relation}"

    any_null = " OR ".join(f"{k} IS NULL" for k in ks)
    created = [cand, pair_table]
    try:
        counts = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT ({any_null})) "
            f"FROM (SELECT {side_keys('l')} FROM {left}) UNION ALL "
            f"SELECT count(*), count(*) FILTER (WHERE NOT ({any_null})) "
            f"FROM (SELECT {side_keys('r')} FROM {right})").fetchall()
        (rows_left, keyed_left), (rows_right, keyed_right) = counts
        null_keys = None
        if (keyed_left, keyed_right) != (rows_left, rows_right):
            null_keys = (weighted(left, "l"), weighted(right, "r"))
        # the join's candidates carry the left values (l0, l1, ...): only the right is read again
        carried = rows_left + rows_right > EXACT_AGGREGATE_ROWS and _joined_candidates(
            con, cand, ks, (hashed(left, "l", True), hashed(right, "r")),
            (keyed_left, keyed_right), null_keys, len(pairs))
        if not carried:
            _aggregated_candidates(con, cand, ks, (hashed(left, "l"), hashed(right, "r")))

        def joined(side: str) -> str:
            relation = left if side == "l" else right
            return (f"JOIN (SELECT {side_keys(side)}{values(side)} FROM {relation}) {side} "
                    f"ON {' AND '.join(f'{side}.{k} = c.{k}' for k in ks)}")

        value_cols = "".join(f", {f'c.l{i}' if carried else f'l.c{i}'} AS l{i}, r.c{i} AS r{i}"
                             for i in range(len(pairs)))
        con.execute(
            f"CREATE TEMP TABLE {pair_table} AS SELECT {', '.join('c.' + k for k in ks)}"
            f"{value_cols} FROM {cand} c {'' if carried else joined('l')} {joined('r')} "
            f"WHERE c.nl = 1 AND c.nr = 1")
        types = [(c.left_type, c.left_type) if c.left_type == c.right_type else ("VARCHAR", "VARCHAR")
                 for c in pairs]
        needed = [(i, pairs[i]) for i in _differing(con, pair_table, pairs)]
        used_kinds = ({} if strictness == "exact" else
                      _kinds(con, pair_table, needed, given, left, right))
        phone_udf = _phones_with_letters(con, pair_table, needed, used_kinds)
        if phone_udf:
            register_udfs_once(con)  # sp_phone, and the UTC session time zone for datetimes
        elif {"phone", "date", "datetime"} & set(used_kinds.values()):
            con.execute("SET TimeZone = 'UTC'")  # what register_udfs sets, for parsing datetimes
        mismatch = _mismatch_select(pair_table, ks, needed, types, used_kinds, strictness,
                                    phone_udf)
        fixed = (f"SELECT {', '.join(ks)}, kind, NULL::VARCHAR AS field, "
                 f"CASE WHEN kind IN ('null_key', 'duplicate_key') THEN nl::VARCHAR END AS left_value, "
                 f"CASE WHEN kind IN ('null_key', 'duplicate_key') THEN nr::VARCHAR END AS right_value "
                 f"FROM (SELECT *, CASE WHEN {any_null} THEN 'null_key' "
                 f"WHEN nl > 1 OR nr > 1 THEN 'duplicate_key' WHEN nl = 0 THEN 'missing_in_left' "
                 f"ELSE 'missing_in_right' END AS kind FROM {cand} WHERE NOT (nl = 1 AND nr = 1) "
                 f"OR {any_null})")
        union = fixed + (f" UNION ALL {mismatch}" if mismatch else "")
        renamed = ", ".join(f"{k} AS {quote(o)}" for k, o in zip(ks, out_keys, strict=True))
        temp = "" if out_table else "TEMP "
        con.execute(f"CREATE OR REPLACE {temp}TABLE {out} AS SELECT {renamed}, kind, field, "
                    f"left_value, right_value FROM ({union}) ORDER BY {', '.join(ks)}, kind, field")
        quoted_out_keys = ", ".join(quote(o) for o in out_keys)
        stats = con.execute(
            f"SELECT {rows_left}, {rows_right}, coalesce(sum(nl), 0), count(*) FILTER (WHERE nl = 1 AND nr = 1 AND NOT ({any_null})), "
            f"count(*) FILTER (WHERE nl = 0 AND nr = 1 AND NOT ({any_null})), "
            f"count(*) FILTER (WHERE nr = 0 AND nl = 1 AND NOT ({any_null})), "
            f"count(*) FILTER (WHERE (nl > 1 OR nr > 1) AND NOT ({any_null})), "
            f"coalesce(sum(nl) FILTER (WHERE {any_null}), 0), "
            f"coalesce(sum(nr) FILTER (WHERE {any_null}), 0), "
            f"(SELECT count(*) FROM {out}), "
            f"(SELECT count(*) FROM (SELECT DISTINCT {quoted_out_keys} FROM {out} "
            f"WHERE kind = 'field_mismatch')) FROM {cand}").fetchall()[0]
        per_field = dict(con.execute(
            f"SELECT field, count(*) FROM {out} WHERE kind = 'field_mismatch' "
            f"GROUP BY field ORDER BY count(*) DESC, field").fetchall())
    finally:
        for table in created:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    rows_left, rows_right, cand_left, cand_pairs = stats[0], stats[1], stats[2], stats[3]
    return DiffResult(
        table=out, key=left_keys, key_columns=out_keys, columns=[c.left for c in pairs],
        kinds=used_kinds, strictness=strictness, rows_left=rows_left, rows_right=rows_right,
        matched=rows_left - cand_left + cand_pairs, missing_in_left=stats[4],
        missing_in_right=stats[5], mismatched_rows=stats[10], mismatches=per_field,
        duplicate_keys=stats[6], null_key_rows_left=stats[7], null_key_rows_right=stats[8],
        columns_only_left=only_left, columns_only_right=only_right,
        seconds=round(time.perf_counter() - started, 3), differences=stats[9])


def _aggregated_candidates(con: duckdb.DuckDBPyConnection, cand: str, ks: list[str],
                           sides: tuple[str, str]) -> None:
    """Candidates from one aggregate over both sides (exact whatever the keys): w adds up to
    left rows + RIGHT_ROW x right rows per key, and the XOR of the hashes of one left and one
    right row is 0 when they are equal. Fastest while the per-key hash table stays small."""
    keys = ", ".join(ks)
    any_null = " OR ".join(f"{k} IS NULL" for k in ks)
    con.execute(
        f"CREATE TEMP TABLE {cand} AS SELECT {keys}, w % {RIGHT_ROW} AS nl, w // {RIGHT_ROW} AS nr "
        f"FROM (SELECT {keys}, sum(w)::BIGINT AS w, bit_xor(h) AS x FROM ({sides[0]} UNION ALL "
        f"{sides[1]}) GROUP BY {keys}) WHERE w != {RIGHT_ROW + 1} OR x != 0 OR {any_null}")


def register_udfs_once(con: duckdb.DuckDBPyConnection) -> None:
    """`register_udfs(con)` on the first call per connection; later calls only set the session
    time zone to UTC again (UDFs stay registered for the connection's life, and looking them
    up in `duckdb_functions()` costs more than the rest of a small diff)."""
    if con in _UDF_CONNECTIONS:
        con.execute("SET TimeZone = 'UTC'")
        return
    register_udfs(con)
    _UDF_CONNECTIONS.add(con)


def _joined_candidates(con: duckdb.DuckDBPyConnection, cand: str, ks: list[str],
                       sides: tuple[str, str], keyed: tuple[int, int],
                       null_keys: tuple[str, str] | None, carried: int) -> bool:
    """Candidates from a full outer join on key (non-NULL keys) of (key, hash) rows, grouped
    with every pair of equal rows in one group: cheaper than a per-key aggregate on large
    tables. Duplicate keys are detected exactly: a key repeated among the candidates, or a
    side whose rows come out of the join more often than it has rows (a matched key
    duplicated on the other side). Then the candidates are dropped and False returned (the
    caller falls back to the aggregate); else the NULL-key groups (`null_keys`: the sides' keys
    and weights, None when no key has a NULL part) are added and True returned. The left side
    also has `carried` value columns c0, c1, ...: a candidate keeps its left row's values as
    l0, l1, ... (NULL where no left row), so the pairs need not read the left side again."""
    keys = ", ".join(ks)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in ks)
    picked = ", ".join(f"CASE WHEN l.h IS DISTINCT FROM r.h THEN coalesce(l.{k}, r.{k}) END AS {k}"
                       for k in ks)
    on = " AND ".join(f"l.{k} = r.{k}" for k in ks)
    passed = "".join(f", l.c{i} AS l{i}" for i in range(carried))
    kept = "".join(f", first(l{i}) AS l{i}" for i in range(carried))  # a candidate's one row
    con.execute(
        f"CREATE TEMP TABLE {cand} AS SELECT {keys}, count(lw)::BIGINT AS nl, "
        f"count(rw)::BIGINT AS nr{kept} FROM (SELECT {picked}, l.w AS lw, r.w AS rw{passed} "
        f"FROM (SELECT * FROM ({sides[0]}) WHERE {not_null}) l FULL OUTER JOIN "
        f"(SELECT * FROM ({sides[1]}) WHERE {not_null}) r ON {on}) GROUP BY {keys}")
    equal, differing = "k0 IS NULL", "k0 IS NOT NULL"  # candidate keys are never NULL here
    row = con.execute(
        f"SELECT coalesce(sum(nl) FILTER (WHERE {equal}), 0), "
        f"coalesce(sum(nr) FILTER (WHERE {equal}), 0), coalesce(sum(nl) FILTER (WHERE {differing}), 0), "
        f"coalesce(sum(nr) FILTER (WHERE {differing}), 0), coalesce(max(nl) FILTER (WHERE {differing}), 0), "
        f"coalesce(max(nr) FILTER (WHERE {differing}), 0) FROM {cand}").fetchall()[0]
    equal_left, equal_right, cand_left, cand_right, most_left, most_right = row
    if (equal_left + cand_left, equal_right + cand_right) != keyed or max(most_left, most_right) > 1:
        con.execute(f"DROP TABLE {cand}")
        return False
    con.execute(f"DELETE FROM {cand} WHERE {equal}")
    if null_keys is not None:
        any_null = " OR ".join(f"{k} IS NULL" for k in ks)
        con.execute(
            f"INSERT INTO {cand} BY NAME SELECT {keys}, count(*) FILTER (WHERE w = 1) AS nl, "
            f"count(*) FILTER (WHERE w = {RIGHT_ROW}) AS nr FROM ({null_keys[0]} UNION ALL "
            f"{null_keys[1]}) WHERE {any_null} GROUP BY {keys}")
    return True


def _differing(con: duckdb.DuckDBPyConnection, pair_table: str, pairs: list[Column]) -> list[int]:
    """Indexes of the compared columns whose stored values differ in some pair."""
    if not pairs:
        return []
    flags = ", ".join(f"bool_or(l{i} IS DISTINCT FROM r{i})" for i in range(len(pairs)))
    row = con.execute(f"SELECT {flags} FROM {pair_table}").fetchall()[0]
    return [i for i, differs in enumerate(row) if differs]


def _kinds(con: duckdb.DuckDBPyConnection, pair_table: str, needed: list[tuple[int, Column]],
           given: dict[str, str], left: str, right: str) -> dict[str, str]:
    """Kinds of the needed columns: given, else inferred (with their differing values)."""
    kinds = {c.left: given[c.left] for _, c in needed if c.left in given}
    unknown = [(i, c) for i, c in needed if c.left not in given]
    if unknown:
        examples = ", ".join(f"l{i} AS {quote('l:' + c.left)}, r{i} AS {quote('r:' + c.right)}"
                             for i, c in unknown)
        kinds.update(infer_kinds(con, left, right, [c for _, c in unknown],
                                 f"(SELECT {examples} FROM {pair_table})"))
    return kinds


def _phones_with_letters(con: duckdb.DuckDBPyConnection, pair_table: str,
                         needed: list[tuple[int, Column]], kinds: dict[str, str]) -> set[int]:
    """Indexes of the needed phone columns with a letter in some paired value: only those need
    the `sp_phone` UDF (E.164 parsing of vanity numbers and extensions); for the others the
    phone form without it gives the same result, and nothing has to be registered or bound."""
    phones = [i for i, c in needed if kinds.get(c.left) == "phone"]
    if not phones:
        return set()
    flags = ", ".join(f"coalesce(bool_or(regexp_matches({text(f'l{i}')}, '[A-Za-z]') OR "
                      f"regexp_matches({text(f'r{i}')}, '[A-Za-z]')), false)" for i in phones)
    row = con.execute(f"SELECT {flags} FROM {pair_table}").fetchall()[0]
    return {i for i, letters in zip(phones, row, strict=True) if letters}


def _mismatch_select(pair_table: str, ks: list[str], needed: list[tuple[int, Column]],
                     types: list[tuple[str, str]], kinds: dict[str, str],
                     strictness: str, phone_udf: set[int]) -> str | None:
    """One SELECT per column that differs somewhere: its pairs that differ under `strictness`
    (set-based; the value casts happen only for those rows). Phone columns not in `phone_udf`
    hold no letters and are compared without the `sp_phone` UDF."""
    selects = []
    for i, c in needed:
        lt, rt = types[i]
        same = same_sql(f"l{i}", f"r{i}", kinds.get(c.left, "text"), strictness, lt, rt,
                        phone_udf=i in phone_udf)
        selects.append(f"SELECT {', '.join(ks)}, 'field_mismatch' AS kind, {literal(c.left)} AS field, "
                       f"{text(f'l{i}')} AS left_value, {text(f'r{i}')} AS right_value "
                       f"FROM {pair_table} WHERE NOT {same}")
    return " UNION ALL ".join(selects) or None
