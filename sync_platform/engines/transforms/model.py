"""What compiling a rule produces: SQL layers, output expressions per target and checks.

A rule's steps are materialised one SQL layer each (`SELECT *, <step outputs> FROM (...)`), so a
long chain never duplicates an expression (or calls a Python UDF twice for the same value).
Checks are evaluated over the last layer: every alias of every layer is visible there.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Failure:
    """A step's failure: input `input_index` was not blank but outputs `output_indexes` are all
    NULL, for the given reason (e.g. 'invalid phone')."""

    input_index: int
    output_indexes: tuple[int, ...]
    reason: str


@dataclass
class StepResult:
    """One step's outputs (SQL over the step's inputs) and how it fails.

    `helpers` are expressions materialised in a layer before the outputs; outputs refer to them as
    `{h0}`, `{h1}`, ... (e.g. the struct a Python UDF returns, then its fields)."""

    values: list[str]
    failures: list[Failure] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    """A validation of one rule: when `condition` holds, `targets` got no value for `reason`;
    `raw_value` is the offending input as text."""

    condition: str
    reason: str
    raw_value: str
    targets: tuple[str, ...]


@dataclass
class CompiledRule:
    """A rule as DuckDB SQL.

    `layers`: lists of (alias, expression), applied in order over the source relation, each
    `SELECT *, expr AS alias, ... FROM (previous)`; `outputs`: target field -> expression over the
    last layer; `checks`: failures to report (see Check)."""

    layers: list[list[tuple[str, str]]]
    outputs: dict[str, str]
    checks: list[Check]
