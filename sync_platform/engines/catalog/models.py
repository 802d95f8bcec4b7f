"""Pydantic models of `mappings/systems.yaml`: systems, their tables, system of record, flows.

Unknown fields are errors (a typo must not be silently ignored). Secrets appear only as the
*name* of an environment variable (`token_env`, `url_env`, ...), never as values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sync_platform.engines.catalog.alerts import AlertsConfig

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")
SYSTEM_KINDS = ("rest", "sql", "files")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


EnvVarName = Annotated[str, Field(min_length=1)]


class RetryPolicy(_Strict):
    """Capped exponential backoff for transient errors (timeouts, resets, 5xx, 429)."""

    max_attempts: int = Field(5, ge=1, le=20)
    backoff_factor: float = Field(0.5, ge=0, le=60)
    max_delay_s: float = Field(30.0, gt=0, le=600)
    timeout_s: float = Field(30.0, gt=0, le=600)


class BearerAuth(_Strict):
    type: Literal["bearer"]
    token_env: EnvVarName

    _check = field_validator("token_env")(_env_name)


class ApiKeyAuth(_Strict):
    type: Literal["api_key"]
    header: str = Field(min_length=1)
    token_env: EnvVarName

    _check = field_validator("token_env")(_env_name)


class BasicAuth(_Strict):
    type: Literal["basic"]
    username_env: EnvVarName
    password_env: EnvVarName

    _check = field_validator("username_env", "password_env")(_env_name)


Auth = Annotated[BearerAuth | ApiKeyAuth | BasicAuth, Field(discriminator="type")]


class RestEndpoint(_Strict):
    """A generic REST read endpoint, in dlt rest_api terms (used when no preset applies)."""

    path: str
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, Any] = Field(default_factory=dict)
    json_body: dict[str, Any] | None = Field(None, alias="json")
    data_selector: str | None = None
    paginator: dict[str, Any] | str | None = None
    cursor_param: str | None = None  # request parameter that receives the cursor's start value
    initial_cursor: str | None = None


class TableSpec(_Strict):
    """One table a system holds: where it lives, its key and its change cursor."""

    source: str = Field(min_length=1)  # object (REST), table (SQL) or file glob (files)
    primary_key: list[str]
    cursor: str | None = None  # a field whose value grows whenever a record changes
    data_type: str | None = None  # business data type, e.g. customer, contact, employee
    external_id_field: str | None = None  # field targets upsert by (the platform's golden id)
    endpoint: RestEndpoint | None = None  # generic REST only
    # push-out: shared identifiers (target field names, e.g. Email) a create is matched on
    # first, and the unique field that addresses a matched record (default: the primary key
    # for SQL and Salesforce-style targets)
    match_fields: list[str] = Field(default_factory=list)
    address_field: str | None = None

    @field_validator("primary_key", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("primary_key")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value or any(not part for part in value):
            raise ValueError("primary_key needs at least one non-empty field name")
        return value


class RateLimit(_Strict):
    """The request budget of one target account, shared by every flow that writes to it."""

    requests_per_second: float = Field(gt=0, le=100_000)
    burst: int = Field(1, ge=1, le=100_000)


class _SystemBase(_Strict):
    description: str = ""
    rate_limit: RateLimit | None = None
    # source: read only; target/both: the platform also writes to it. Every system is landed,
    # targets too, because reconciliation compares golden records with each live copy.
    role: Literal["source", "target", "both"] = "both"
    tables: dict[str, TableSpec] = Field(min_length=1)


class RestConnection(_Strict):
    base_url: str = Field(pattern=r"^https?://")
    auth: Auth | None = None
    page_size: int = Field(200, ge=1, le=10_000)
    headers: dict[str, str] = Field(default_factory=dict)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)


class RestSystem(_SystemBase):
    kind: Literal["rest"]
    preset: Literal["salesforce", "hubspot", "shopify", "generic"] = "generic"
    connection: RestConnection

    @model_validator(mode="after")
    def _generic_needs_endpoints(self) -> RestSystem:
        if self.preset == "generic":
            missing = [name for name, table in self.tables.items() if table.endpoint is None]
            if missing:
                raise ValueError(
                    f"preset 'generic' needs an `endpoint` on every table; missing on {missing}"
                )
        return self


class SqlConnection(_Strict):
    url: str | None = None  # SQLAlchemy URL without secrets
    url_env: EnvVarName | None = None  # or the name of a variable holding a URL with secrets
    db_schema: str | None = Field(None, alias="schema")
    chunk_size: int = Field(50_000, ge=100, le=1_000_000)

    @model_validator(mode="after")
    def _exactly_one_url(self) -> SqlConnection:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of `url` or `url_env`")
        if self.url_env:
            _env_name(self.url_env)
        return self


class SqlSystem(_SystemBase):
    kind: Literal["sql"]
    connection: SqlConnection


class FilesConnection(_Strict):
    path: str = Field(min_length=1)
    format: Literal["csv", "jsonl", "parquet"] = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","


class FilesSystem(_SystemBase):
    kind: Literal["files"]
    connection: FilesConnection


System = Annotated[RestSystem | SqlSystem | FilesSystem, Field(discriminator="kind")]


class PostgresWarehouse(_Strict):
    """Where `destination: postgres` lands the raw tables. The password (or a whole DSN) is read
    from the environment at run time and never written to the file, logs, tables or metadata."""

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(5432, ge=1, le=65535)
    database: str | None = Field(None, min_length=1)
    user: str | None = Field(None, min_length=1)
    password_env: EnvVarName = "SYNC_WAREHOUSE_PG_PASSWORD"
    # a full `postgresql://user:password@host:port/database` in this variable instead of the above
    dsn_env: EnvVarName | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    connect_timeout_s: int = Field(10, ge=1, le=600)
    password: Any = Field(None, exclude=True, repr=False)  # only here to explain why it is refused

    _check = field_validator("password_env", "dsn_env")(
        lambda value: value if value is None else _env_name(value))

    @field_validator("password")
    @classmethod
    def _no_password(cls, value: Any) -> None:
        if value is not None:
            raise ValueError("a password is never written in systems.yaml: put it in the environment "
                             "variable named by `password_env` (default SYNC_WAREHOUSE_PG_PASSWORD)")
        return None

    @model_validator(mode="after")
    def _addressed(self) -> PostgresWarehouse:
        if self.dsn_env is None and (self.database is None or self.user is None):
            raise ValueError("give `database` and `user` (the password comes from `password_env`), "
                             "or `dsn_env`")
        return self

    def secret_env(self) -> str:
        """The environment variable holding the secret: the DSN's, else the password's."""
        return self.dsn_env or self.password_env


class WarehouseConfig(_Strict):
    """`path`: the DuckDB file every engine computes on. `destination`: where landing writes the
    raw tables; with `postgres` they land in PostgreSQL (the durable raw layer, dlt's cursors
    with them) and each load is mirrored into the DuckDB file's `raw_<system>`."""

    path: str = Field(min_length=1)
    destination: Literal["duckdb", "postgres"] = "duckdb"
    postgres: PostgresWarehouse | None = None

    @model_validator(mode="after")
    def _destination_settings(self) -> WarehouseConfig:
        if self.destination == "postgres" and self.postgres is None:
            raise ValueError("`destination: postgres` needs a `postgres:` section (host, port, "
                             "database, user; the password from an environment variable)")
        if self.destination == "duckdb" and self.postgres is not None:
            raise ValueError("a `postgres:` section is only used with `destination: postgres`")
        return self

    def secret_references(self) -> list[tuple[str, str]]:
        """(path in the file, environment variable name) of the warehouse's secret, if any."""
        if self.destination != "postgres" or self.postgres is None:
            return []
        field = "dsn_env" if self.postgres.dsn_env else "password_env"
        return [(f"warehouse.postgres.{field}", self.postgres.secret_env())]


class ManualFlow(_Strict):
    """Data not worth automating: a person does it on a cadence, health tracks it."""

    owner: str = Field(min_length=1)
    every_days: float = Field(gt=0)
    checklist: list[str] = Field(default_factory=list)


class FlowTiming(_Strict):
    cron: str | None = None
    on_change: bool = False
    manual: ManualFlow | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            fields = value.split()
            if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
                raise ValueError(f"{value!r} is not a 5-field cron expression")
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> FlowTiming:
        if [self.cron is not None, self.on_change, self.manual is not None].count(True) != 1:
            raise ValueError("give exactly one of `cron`, `on_change: true` or `manual`")
        return self


class ConflictRules(_Strict):
    """How a two-way flow decides when both sides changed a field."""

    default: Literal["system_of_record", "last_write_wins", "source", "target"]
    fields: dict[str, str] = Field(default_factory=dict)  # field -> winning system or rule


class Rollup(_Strict):
    """A target that keeps the entity at a coarser grain than its canonical key (a shop with one
    stock figure per SKU, a warehouse counting per SKU and location) receives the golden records
    grouped by `by`, with the `sum` fields added up (every other field: the latest value)."""

    by: list[str] = Field(min_length=1)  # canonical fields: the target's grain
    sum: list[str] = Field(default_factory=list)  # canonical fields added up within a group


class Flow(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: str
    target: str
    entity: str
    direction: Literal["one_way", "two_way"] = "one_way"
    mode: Literal["upsert", "update_only", "create_only"] = "upsert"
    conflict_rules: ConflictRules | None = None
    timing: FlowTiming
    propagate_deletes: bool = False
    priority: Literal["high", "normal", "bulk"] = "normal"
    # canonical field -> value for creates where the golden record has none (a field the target
    # requires, e.g. accounting's Active)
    create_defaults: dict[str, str | int | float | bool] = Field(default_factory=dict)
    rollup: Rollup | None = None

    @model_validator(mode="after")
    def _two_way_needs_rules(self) -> Flow:
        if self.direction == "two_way" and self.conflict_rules is None:
            raise ValueError("a two_way flow needs `conflict_rules`")
        if self.source == self.target:
            raise ValueError("source and target must differ")
        return self


class DiscoveryConfig(_Strict):
    """When the platform re-reads every system's schema to detect drift."""

    cron: str = "0 * * * *"

    _check = field_validator("cron")(FlowTiming._cron.__func__)


class PushConfig(_Strict):
    """How the push-out engine delivers changes to targets."""

    batch_size: int = Field(100, ge=1, le=10_000)  # capped by each target's own batch limit
    batches_per_claim: int = Field(2, ge=1, le=20)  # batches marked sent per ledger transaction
    max_attempts: int = Field(6, ge=1, le=50)  # per change and run, for transient errors
    backoff_base_s: float = Field(0.5, ge=0, le=60)
    backoff_max_s: float = Field(30.0, gt=0, le=3600)
    park_after_s: float = Field(60.0, ge=0, le=86_400)  # longer Retry-After: park, don't sleep
    mass_change_share: float = Field(0.25, gt=0, le=1.0)  # of a target's records, per push
    mass_change_min: int = Field(50, ge=0)  # pushes changing fewer records are never blocked
    match_accept_score: float = Field(0.95, ge=0, le=1.0)  # xref matches below go to review
    lease_s: float = Field(300.0, gt=0, le=86_400)  # a claimed batch's owner must finish by then
    max_delete_share: float = Field(0.05, ge=0, le=1.0)  # deletes above this share are held back


class ReconcileConfig(_Strict):
    """How targets are reconciled against the golden records, and when a push is not safe."""

    strictness: Literal["exact", "normalized", "loose"] = "normalized"
    max_volume_drop: float = Field(0.5, ge=0, le=1.0)  # target rows lost since the last reconcile


class MappingConfig(_Strict):
    auto_apply_threshold: float = Field(0.95, ge=0.5, le=1.0)


class Catalog(_Strict):
    """Everything systems.yaml declares, cross-checked."""

    version: Literal[1] = 1
    warehouse: WarehouseConfig
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)
    mapping: MappingConfig = Field(default_factory=MappingConfig)
    push: PushConfig = Field(default_factory=PushConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)  # sinks for failures and recoveries
    systems: dict[str, System] = Field(min_length=1)
    system_of_record: dict[str, str] = Field(default_factory=dict)
    flows: list[Flow] = Field(default_factory=list)
    source_file: Path | None = Field(None, exclude=True)

    @field_validator("systems")
    @classmethod
    def _system_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(r"^[a-z][a-z0-9_]*$", name):
                raise ValueError(f"system name {name!r} must be lower_snake_case")
        return value

    @model_validator(mode="after")
    def _references(self) -> Catalog:
        problems = [
            f"system_of_record.{data_type}: unknown system {system!r}"
            for data_type, system in self.system_of_record.items()
            if system not in self.systems
        ]
        for index, flow in enumerate(self.flows):
            for side in ("source", "target"):
                if getattr(flow, side) not in self.systems:
                    problems.append(f"flows[{index}].{side}: unknown system {getattr(flow, side)!r}")
        names = [flow.name for flow in self.flows]
        problems += [f"flows: duplicate flow name {n!r}" for n in sorted(set(names)) if names.count(n) > 1]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse.path).expanduser().resolve()

    def secret_references(self) -> list[tuple[str, str]]:
        """(path in the file, environment variable name) of every secret the systems need."""
        found = self.warehouse.secret_references()
        for name, system in self.systems.items():
            connection = system.connection
            auth = getattr(connection, "auth", None)
            if auth is not None:
                for field in ("token_env", "username_env", "password_env"):
                    if getattr(auth, field, None):
                        found.append((f"systems.{name}.connection.auth.{field}", getattr(auth, field)))
            if getattr(connection, "url_env", None):
                found.append((f"systems.{name}.connection.url_env", connection.url_env))
        return found
