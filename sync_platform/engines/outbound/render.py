"""Render golden records in a system's own columns: the inverse of its inbound mapping.

A system's mapping says how its columns become canonical fields (rules with transform steps).
Read backwards, the same rules say which of its columns a golden field goes to and how: every
step has an inverse (a date parsed with a format is formatted with it, a scaled number is
divided, a split name is joined, a mapped value maps back, a boolean becomes the system's first
true/false spelling). Steps that derive a value (a domain from an email, a country from a phone)
cannot be reversed; such rules are listed as skipped and the column is not rendered.
Normalising steps (trim, case, phone, email) reverse to the value itself: reconciliation
compares normalisation-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync_platform.engines.canonical import FieldRule, SystemMapping
from sync_platform.engines.transforms.sql import literal
from sync_platform.engines.transforms.steps import ADDRESS_TARGETS, NAME_TARGETS
from sync_platform.engines.warehouse import quote

IDENTITY = {"trim", "lower", "upper", "title", "email", "phone", "cast", "default"}
NOT_INVERTIBLE = {"domain_from_email", "domain_from_url", "country_from_phone"}
NAME_ORDER = ("prefix", "first", "middle", "last", "suffix")


class NotInvertible(ValueError):
    """A rule whose transform cannot be read backwards."""


@dataclass
class OutboundColumn:
    column: str  # the system's column
    fields: list[str]  # golden fields it is made of
    sql: str  # expression over the golden row `g`


@dataclass
class Outbound:
    """How golden records of an entity look in one system table."""

    system: str
    table: str
    entity: str
    columns: list[OutboundColumn] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rule, why)

    def render_sql(self, golden: str, xref: str) -> str:
        """Golden records as rows of this table: golden_id, the record id the system holds for
        it (NULL when it has none; one row per record when it has several), then the columns."""
        cols = ", ".join(f"{c.sql} AS {quote(c.column)}" for c in self.columns)
        return (f"SELECT g.golden_id, x.source_id AS target_id{', ' + cols if cols else ''} "
                f"FROM {golden} g LEFT JOIN {xref} x ON x.golden_id = g.golden_id "
                f"AND x.source_system = {literal(self.system)} "
                f"AND x.source_table = {literal(self.table)}")


def _first(value: object) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _inverse_each(kind: str, params: dict, value: str) -> str:
    if kind in IDENTITY:
        return value
    if kind in ("date", "datetime"):
        fmt = _first(params.get("format"))
        return f"strftime({value}, {literal(fmt)})" if fmt else f"CAST({value} AS VARCHAR)"
    if kind == "epoch":
        unit = params.get("unit", "s")
        if unit == "s":
            return f"CAST(epoch({value}) AS BIGINT)"
        return f"epoch_ms({value})" if unit == "ms" else f"epoch_us({value})"
    if kind == "scale":
        return f"({value} / CAST({literal(str(params['factor']))} AS DECIMAL(38,10)))"
    if kind == "boolean":
        true = _first(params.get("true_values")) or "true"
        false = _first(params.get("false_values")) or "false"
        return f"(CASE WHEN {value} THEN {literal(true)} WHEN NOT {value} THEN {literal(false)} END)"
    if kind == "value_map":
        back: dict[str, str] = {}
        for source, canonical in (params.get("map") or {}).items():
            back.setdefault(str(canonical), str(source))
        whens = " ".join(f"WHEN {literal(c)} THEN {literal(s)}" for c, s in back.items())
        return f"(CASE CAST({value} AS VARCHAR) {whens} ELSE CAST({value} AS VARCHAR) END)" \
            if whens else value
    raise NotInvertible(f"step {kind!r} cannot be reversed")


def _name_parts(targets: list[str], params: dict, names: dict[str, str]) -> list[str]:
    if params.get("parts"):
        return [names.get(p, p) for p in params["parts"]]
    return [next((part for word, part in names.items() if word in t.lower()), t) for t in targets]


def inverse_rule(rule: FieldRule, value_of: dict[str, str]) -> list[str]:
    """SQL per source column (in rule.sources order) computing it from the golden fields."""
    values = [value_of[t] for t in rule.targets]
    for step in reversed(rule.transform):
        kind, params = step.kind, step.params
        if kind in NOT_INVERTIBLE:
            raise NotInvertible(f"{kind} derives its value")
        if kind == "split_name":
            parts = _name_parts(rule.targets, params, NAME_TARGETS)
            ordered = [v for _, v in sorted(zip(parts, values, strict=True),
                                            key=lambda pv: NAME_ORDER.index(pv[0])
                                            if pv[0] in NAME_ORDER else len(NAME_ORDER))]
            values = [f"NULLIF(concat_ws(' ', {', '.join(ordered)}), '')"]
        elif kind == "split_address":
            parts = _name_parts(rule.targets, params, ADDRESS_TARGETS)
            by_part = dict(zip(parts, values, strict=True))
            # the conventional shape: "street, city, state postal_code, country"
            region = [by_part[p] for p in ("state", "postal_code") if p in by_part]
            lines = [by_part.get("street"), by_part.get("city"),
                     f"NULLIF(concat_ws(' ', {', '.join(region)}), '')" if region else None,
                     by_part.get("country")]
            values = [f"NULLIF(concat_ws(', ', {', '.join(v for v in lines if v)}), '')"]
        elif kind == "join":
            sep = literal(params.get("separator", " "))
            values = [f"NULLIF(split_part({values[0]}, {sep}, {i + 1}), '')"
                      for i in range(len(rule.sources))]
        elif kind == "currency":
            values = values[:len(rule.sources)]
        else:
            values = [_inverse_each(kind, params, v) for v in values]
    if len(values) != len(rule.sources):
        raise NotInvertible(f"{len(values)} values for {len(rule.sources)} source columns")
    return values


def outbound_for(mapping: SystemMapping) -> Outbound:
    """The outbound side of a system's applied mapping (its applied rules, read backwards)."""
    out = Outbound(mapping.source_system, mapping.source_table, mapping.entity_type)
    taken: set[str] = set()
    for rule in mapping.applied_rules():
        label = f"{'+'.join(rule.sources)} -> {'+'.join(rule.targets)}"
        try:
            exprs = inverse_rule(rule, {t: f"g.{quote(t)}" for t in rule.targets})
        except NotInvertible as exc:
            out.skipped.append((label, str(exc)))
            continue
        for column, expr in zip(rule.sources, exprs, strict=True):
            if column in taken:  # several rules from one column: the first one renders it
                out.skipped.append((label, f"column {column!r} already rendered"))
                continue
            taken.add(column)
            out.columns.append(OutboundColumn(column, list(rule.targets), expr))
    return out
