"""Compile a FieldRule (sources -> steps -> targets) into layered DuckDB SQL.

Each step becomes one layer of aliases (`<prefix>s<k>_<i>`), so later steps and checks refer to
earlier results by name, and `layered_select()` turns compiled rules into one SELECT.
"""

from __future__ import annotations

from sync_platform.engines.canonical import FieldRule, TransformStep
from sync_platform.engines.transforms.model import Check, CompiledRule
from sync_platform.engines.transforms.sql import not_blank, text
from sync_platform.engines.transforms.steps import STEPS, check_params
from sync_platform.engines.warehouse import quote

TRANSFORM_KINDS: frozenset[str] = frozenset(STEPS)


def validate_step(step: TransformStep) -> None:
    """Raise ValueError with a clear message for an unknown kind or bad params."""
    if step.kind not in STEPS:
        raise ValueError(f"unknown transform {step.kind!r}; known: {sorted(STEPS)}")
    check_params(step.kind, step.params)


def compile_rule(rule: FieldRule, column_sql: dict[str, str], prefix: str = "r0_") -> CompiledRule:
    """The rule as SQL: `column_sql` maps each source column to its SQL expression over the source
    relation (usually the quoted column name); `prefix` keeps aliases unique per rule."""
    missing = [s for s in rule.sources if s not in column_sql]
    if missing:
        raise ValueError(f"rule {rule.sources}->{rule.targets}: no such source column(s) {missing}")
    values = [column_sql[s] for s in rule.sources]
    layers: list[list[tuple[str, str]]] = []
    checks: list[Check] = []
    targets = list(rule.targets)
    for k, step in enumerate(rule.transform):
        validate_step(step)
        spec = STEPS[step.kind]
        _check_arity(step.kind, spec.arity, len(values), targets)
        result = spec.build(values, step.params, targets)
        helpers = {}
        if result.helpers:
            layer = [(f"{prefix}s{k}_h{i}", sql) for i, sql in enumerate(result.helpers)]
            layers.append(layer)
            helpers = {f"h{i}": quote(alias) for i, (alias, _) in enumerate(layer)}
        outputs = [(f"{prefix}s{k}_{i}", sql.format(**helpers) if helpers else sql)
                   for i, sql in enumerate(result.values)]
        layers.append(outputs)
        out_names = [quote(alias) for alias, _ in outputs]
        for failure in result.failures:
            source = values[failure.input_index]
            nulls = " AND ".join(f"{out_names[i]} IS NULL" for i in failure.output_indexes)
            hit = _targets_of(failure.output_indexes, len(out_names), targets)
            checks.append(Check(f"({not_blank(source)} AND {nulls})", failure.reason,
                                text(source), tuple(hit)))
        values = out_names
    if len(values) == 1 and len(targets) > 1:
        values = values * len(targets)
    if len(values) != len(targets):
        raise ValueError(f"rule {rule.sources}->{rule.targets}: {len(values)} value(s) for "
                         f"{len(targets)} target(s); add a join or split step")
    return CompiledRule(layers, dict(zip(targets, values, strict=True)), checks)


def _check_arity(kind: str, arity: str, n_values: int, targets: list[str]) -> None:
    if arity in ("split", "pair") and n_values != 1:
        raise ValueError(f"transform {kind!r} takes one input value, got {n_values}")
    if arity == "pair" and len(targets) > 2:
        raise ValueError(f"transform {kind!r} fills one or two targets (amount, currency code)")
    if arity == "join" and len(targets) != 1:
        raise ValueError(f"transform {kind!r} fills exactly one target")


def _targets_of(output_indexes: tuple[int, ...], n_outputs: int, targets: list[str]) -> list[str]:
    if n_outputs == len(targets):
        return [targets[i] for i in output_indexes]
    return list(targets)  # one value broadcast to every target (or an intermediate step)


def layered_select(base_sql: str, compiled: list[CompiledRule], columns: list[str]) -> str:
    """One SELECT applying every compiled rule's layers over `base_sql` (a relation), then
    projecting `columns` (SQL select-list items over the last layer)."""
    depth = max((len(c.layers) for c in compiled), default=0)
    sql = f"SELECT * FROM {base_sql}"
    for level in range(depth):
        items = [f"{expr} AS {quote(alias)}" for c in compiled if level < len(c.layers)
                 for alias, expr in c.layers[level]]
        sql = f"SELECT *, {', '.join(items)} FROM ({sql})" if items else sql
    return f"SELECT {', '.join(columns)} FROM ({sql})"
