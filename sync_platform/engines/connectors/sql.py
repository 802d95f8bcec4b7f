"""The generic SQL connector: any SQLAlchemy URL, read with dlt's sql_database, upsert per record."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import dlt
import sqlalchemy as sa
from dlt.extract.source import DltSource
from dlt.sources.sql_database import sql_table

from sync_platform.engines.catalog.models import SqlSystem
from sync_platform.engines.connectors.base import Connector, ConnectorError, FieldInfo, WriteResult


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


class SqlConnector(Connector):
    system: SqlSystem

    @property
    def url(self) -> str:
        connection = self.system.connection
        url = os.environ.get(connection.url_env, "") if connection.url_env else connection.url
        if not url:
            raise ConnectorError(f"{self.name}: no database URL (set {connection.url_env})")
        return url

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url)

    def _table(self, engine: sa.Engine, name: str) -> sa.Table:
        spec = self.table(name)
        try:
            return sa.Table(spec.source, sa.MetaData(), schema=self.system.connection.db_schema,
                            autoload_with=engine)
        except sa.exc.NoSuchTableError:
            raise ConnectorError(f"{self.name}: table {spec.source!r} not found at {safe_url(self.url)}") from None
        except sa.exc.OperationalError as exc:
            raise ConnectorError(f"{self.name}: cannot reach {safe_url(self.url)}: {exc.orig}") from None

    def discover(self) -> dict[str, list[FieldInfo]]:
        engine = self.engine()
        try:
            return {
                name: [FieldInfo(c.name, str(c.type), bool(c.nullable)) for c in self._table(engine, name).columns]
                for name in self.tables
            }
        finally:
            engine.dispose()

    def source(
        self, tables: Sequence[str] | None = None, since: Any = None, offline: bool = False
    ) -> DltSource:
        connection = self.system.connection
        resources = []
        for name, spec in self.selected(tables).items():
            incremental = None
            if spec.cursor:
                # rows without a cursor value are read every time rather than never (nothing lost)
                incremental = dlt.sources.incremental(spec.cursor, initial_value=since,
                                                      on_cursor_value_missing="include")
            resource = sql_table(
                credentials=self.url,
                table=spec.source,
                schema=connection.db_schema,
                incremental=incremental,
                chunk_size=connection.chunk_size,
                backend="pyarrow",
                reflection_level="full",
                defer_table_reflect=True,
                write_disposition="merge",
                primary_key=list(spec.primary_key),
            )
            resources.append(resource.with_name(name))
        return dlt.source(name=self.name, max_table_nesting=0)(lambda: resources)()

    def write(self, table: str, records: Iterable[dict[str, Any]]) -> list[WriteResult]:
        """Upsert each record by the external id field (or primary key), one transaction per record
        so a bad record fails alone and the others still land. The table's change cursor is
        stamped with the write time (as the application owning the table would), so incremental
        readers, the platform's own verification landing included, see the change."""
        spec = self.table(table)
        key_field = spec.external_id_field or spec.primary_key[0]
        engine = self.engine()
        results: list[WriteResult] = []
        try:
            target = self._table(engine, table)
            stamp = spec.cursor if spec.cursor in set(target.columns.keys()) else None
            for record in records:
                key = str(record.get(key_field))
                if stamp and stamp not in record:
                    record = {**record, stamp: datetime.now(UTC).replace(tzinfo=None)}
                unknown = set(record) - set(target.columns.keys())
                if unknown:
                    results.append(WriteResult(key=key, ok=False, error_class="validation",
                                               error=f"unknown columns {sorted(unknown)}"))
                    continue
                try:
                    with engine.begin() as conn:
                        existing = conn.execute(
                            sa.select(*[target.c[k] for k in spec.primary_key])
                            .where(target.c[key_field] == record.get(key_field))
                        ).first()
                        if existing is None:
                            inserted = conn.execute(sa.insert(target).values(**record))
                            target_id = inserted.inserted_primary_key
                        else:
                            conn.execute(sa.update(target).where(target.c[key_field] == record.get(key_field))
                                         .values(**record))
                            target_id = existing
                    results.append(WriteResult(key=key, ok=True, created=existing is None,
                                               target_id=str(target_id[0]) if target_id else None))
                except sa.exc.IntegrityError as exc:
                    results.append(WriteResult(key=key, ok=False, error_class="validation", error=str(exc.orig)))
                except sa.exc.OperationalError as exc:  # before StatementError, its superclass
                    results.append(WriteResult(key=key, ok=False, error_class="server",
                                               error=str(exc.orig), transient=True))
                except (sa.exc.DataError, sa.exc.StatementError) as exc:
                    results.append(WriteResult(key=key, ok=False, error_class="encoding", error=str(exc)[:500]))
        finally:
            engine.dispose()
        return results

    def probe(self, table: str) -> str | None:
        """`SELECT max(<cursor>), count(*) FROM <table>` in one query: "<max cursor as ISO
        text>|<row count>", None when the table has no rows. The count catches hard deletes,
        the cursor inserts, updates and soft deletes.

        Without a cursor it is "<row count>|<max primary key>": inserts and deletes show, but
        updates are invisible to the probe, exactly as they are to incremental landing (a
        table without a cursor is read in full on its schedule anyway).
        Identifiers are quoted by SQLAlchemy; nothing is reflected (no extra queries).
        """
        spec = self.table(table)
        columns = [spec.cursor] if spec.cursor else list(spec.primary_key)
        target = sa.table(spec.source, *[sa.column(c) for c in columns],
                          schema=self.system.connection.db_schema)
        query = sa.select(*[sa.func.max(target.c[c]) for c in columns],
                          sa.func.count()).select_from(target)
        engine = self.engine()
        try:
            with engine.connect() as conn:
                *tops, rows = conn.execute(query).one()
        except sa.exc.DBAPIError as exc:
            raise ConnectorError(f"{self.name}: cannot probe {spec.source!r} at "
                                 f"{safe_url(self.url)}: {exc.orig}") from None
        finally:
            engine.dispose()
        if not rows:
            return None
        values = [_marker_text(v) for v in tops]
        return "|".join([*values, str(rows)] if spec.cursor else [str(rows), *values])

    def delete(self, table: str, keys: Iterable[Any]) -> list[WriteResult]:
        """DELETE each record by its primary key (parameterised), one transaction per key so a
        key that fails does not hold back the others; a key matching no row is already gone."""
        spec = self.table(table)
        engine = self.engine()
        results: list[WriteResult] = []
        try:
            target = self._table(engine, table)
            columns = [target.c[k] for k in spec.primary_key]
            for key in keys:
                label = str(key)
                try:
                    values = key_values(columns, key)
                except ValueError as exc:
                    results.append(WriteResult(key=label, ok=False, error_class="validation", error=str(exc)))
                    continue
                try:
                    with engine.begin() as conn:
                        done = conn.execute(sa.delete(target).where(
                            *[c == v for c, v in zip(columns, values, strict=True)]))
                    results.append(WriteResult(key=label, ok=True, target_id=label, gone=done.rowcount == 0))
                except sa.exc.IntegrityError as exc:
                    results.append(WriteResult(key=label, ok=False, error_class="validation", error=str(exc.orig)))
                except sa.exc.OperationalError as exc:
                    results.append(WriteResult(key=label, ok=False, error_class="server",
                                               error=str(exc.orig), transient=True))
        finally:
            engine.dispose()
        return results


def _marker_text(value: Any) -> str:
    """A probe value as stable text: datetimes (objects, or the text SQLite holds) as ISO."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return str(value)


def key_values(columns: Sequence[sa.Column], key: Any) -> list[Any]:
    """The primary key values of `key` (a scalar, or a sequence for a composite key), each
    converted to its column's type (ids travel as text); ValueError when one cannot be."""
    parts = list(key) if isinstance(key, list | tuple) else [key]
    if len(parts) != len(columns):
        raise ValueError(f"key {key!r} does not match the primary key "
                         f"({', '.join(c.name for c in columns)})")
    values = []
    for column, value in zip(columns, parts, strict=True):
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = None
        if kind is int and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a valid {column.name} (an integer)") from None
        values.append(value)
    return values
