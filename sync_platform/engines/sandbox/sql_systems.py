"""The SQL systems, written with SQLAlchemy Core so the same code targets SQLite and PostgreSQL.

- accounting: QuickBooks-style `customers` and `invoices` (soft delete = Active 0); customers
  carry a nullable `sync_external_id` the platform writes its golden id to (NULL when seeded).
- payroll: target table `employees` with ~60% of HR employees as legacy rows (external_id NULL);
  `start_date` must be NULL or a real ISO date (CHECK constraint, like a typed column would).
- warehouse: `products` and `inventory_levels` (sku, location) with on-hand quantities.
Fault injection does not apply to these systems.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)

from .noise import company_name_variant, format_phone, nickname, street_variant
from .timeutil import ms_to_naive
from .truth import TruthWriter
from .world import World

CHUNK = 50_000
LOCATIONS = ("WH-EAST", "WH-WEST")
CURRENCY = {"US": "USD", "CA": "CAD", "GB": "GBP", "DE": "EUR", "FR": "EUR"}
QB_COUNTRY = {"US": "USA", "CA": "Canada", "GB": "UK", "DE": "Germany", "FR": "France"}

accounting_meta = MetaData()
customers = Table(
    "customers", accounting_meta,
    Column("Id", Integer, primary_key=True, autoincrement=False),
    Column("DisplayName", String(500)), Column("CompanyName", String(500)),
    Column("GivenName", String(100)), Column("FamilyName", String(100)),
    Column("PrimaryEmailAddr", String(100)), Column("PrimaryPhone", String(30)),
    Column("BillAddr_Line1", String(500)), Column("BillAddr_Line2", String(500)),
    Column("BillAddr_City", String(255)), Column("BillAddr_CountrySubDivisionCode", String(255)),
    Column("BillAddr_PostalCode", String(30)), Column("BillAddr_Country", String(255)),
    Column("Active", Integer, nullable=False), Column("Balance", Numeric(12, 2)),
    # Paid (nothing open), Open (open invoices, none past due) or Overdue: kept by the books
    Column("PaymentStatus", String(10)),
    Column("CurrencyRef", String(3)), Column("CreateTime", DateTime),
    Column("LastUpdatedTime", DateTime, index=True),
    Column("sync_external_id", String(64), nullable=True),
)
invoices = Table(
    "invoices", accounting_meta,
    Column("Id", Integer, primary_key=True, autoincrement=False),
    Column("DocNumber", String(21)), Column("CustomerRef", Integer, ForeignKey("customers.Id")),
    Column("TxnDate", Date), Column("DueDate", Date), Column("TotalAmt", Numeric(12, 2)),
    Column("Balance", Numeric(12, 2)), Column("Status", String(10)),
    Column("LastUpdatedTime", DateTime, index=True),
)

payroll_meta = MetaData()
payroll_employees = Table(
    "employees", payroll_meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", Text, unique=True, nullable=True),
    Column("first_name", Text), Column("last_name", Text), Column("email", Text),
    Column("start_date", Text), Column("is_active", Integer), Column("annual_salary_cents", Integer),
    Column("department", Text), Column("updated_at", DateTime),
    # SQLite has no DATE type: a CHECK keeps the text a real date (with '+0 days' '2024-02-30'
    # normalises to 2024-03-01, '31/12/2024' gives NULL; `IS` so NULL fails). Payroll is SQLite only.
    CheckConstraint("start_date IS NULL OR date(start_date, '+0 days') IS start_date",
                    name="start_date_iso_date"),
)

warehouse_meta = MetaData()
warehouse_products = Table(
    "products", warehouse_meta,
    Column("sku", Text, primary_key=True), Column("name", Text), Column("updated_at", DateTime),
)
inventory_levels = Table(
    "inventory_levels", warehouse_meta,
    Column("sku", Text, primary_key=True), Column("location", Text, primary_key=True),
    Column("on_hand", Integer), Column("updated_at", DateTime, index=True),
)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url: str, wal: bool = True) -> Engine:
    """An engine; SQLite files get WAL mode and a busy timeout for concurrent readers."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        if not wal:
            return engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url)


def reset_database(url: str, meta: MetaData) -> Engine:
    """Drop and recreate the tables of `meta` (deleting the file for SQLite)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(str(path) + suffix)
            if p.exists():
                p.unlink()
    engine = make_engine(url, wal=False)
    with engine.begin() as conn:
        insp = inspect(conn)
        for table in reversed(meta.sorted_tables):
            if insp.has_table(table.name):
                conn.execute(text(f"DROP TABLE {conn.dialect.identifier_preparer.quote(table.name)}"
                                  + (" CASCADE" if conn.dialect.name == "postgresql" else "")))
        meta.create_all(conn)
    return engine


def _insert(engine: Engine, table: Table, rows: list[dict]) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for i in range(0, len(rows), CHUNK):
            conn.execute(table.insert(), rows[i:i + CHUNK])


def _finish(engine: Engine) -> None:
    """Switch a freshly seeded SQLite file to WAL (readers and writers from other processes)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()


def seed_accounting(world: World, url: str, seed: int, truth: TruthWriter) -> dict[str, int]:
    """Customers for ~60% of companies (+2% duplicates) and ~3 invoices each."""
    rng = random.Random(f"{seed}:accounting")
    r = rng.random
    engine = reset_database(url, accounting_meta)
    people_at = world.people_by_company()
    cust_rows: list[dict] = []
    inv_rows: list[dict] = []
    n_inv = 0
    for c in world.companies:
        if r() >= 0.6:
            continue
        copies = 2 if r() < 0.02 else 1
        staff = people_at[c.idx]
        contact = world.people[staff[0]] if staff and r() < 0.8 else None
        for k in range(copies):
            cid = len(cust_rows) + 1
            display = company_name_variant(c.base, c.suffix, rng)
            if k == 1:
                display = f"{display} ({k + 1})" if r() < 0.5 else display.upper()
            x = r()
            email = (f"{'billing' if x < 0.2 else 'ap'}@{c.domain}" if x < 0.4
                     else (contact.email if contact and x < 0.9 else None))
            created = ms_to_naive(c.created_ms + int(r() * 86_400_000 * 30))
            modified = ms_to_naive(max(c.modified_ms, c.created_ms + 86_400_000 * 31)
                                   + int(r() * 86_400_000))
            cust_rows.append({
                "Id": cid, "DisplayName": display,
                "CompanyName": c.legal_name if r() >= 0.05 else None,
                "GivenName": contact.first if contact else None,
                "FamilyName": contact.last if contact else None,
                "PrimaryEmailAddr": email,
                "PrimaryPhone": format_phone(c.phone, "dash") if r() >= 0.05 else None,
                "BillAddr_Line1": street_variant(c.street, rng) if r() >= 0.05 else None,
                "BillAddr_Line2": f"Suite {100 + int(r() * 900)}" if r() < 0.2 else None,
                "BillAddr_City": c.city if r() >= 0.05 else None,
                "BillAddr_CountrySubDivisionCode": c.state or None,
                "BillAddr_PostalCode": c.postal if r() >= 0.05 else None,
                "BillAddr_Country": QB_COUNTRY[c.country] if r() >= 0.05 else None,
                "Active": 1 if r() >= 0.02 else 0, "Balance": 0.0,
                "CurrencyRef": CURRENCY[c.country], "CreateTime": created,
                "LastUpdatedTime": modified,
            })
            truth.add("customers", str(cid), c.entity_id)
            balance, statuses = 0, set()
            for _ in range(1 + int(r() * 5)):
                n_inv += 1
                txn = date(2023, 1, 1) + timedelta(days=int(r() * 540))
                total = 100 * (50 + int(r() * 20000))
                status = "Paid" if r() < 0.6 else ("Open" if r() < 0.6 else "Overdue")
                open_amt = 0 if status == "Paid" else total
                balance += open_amt
                statuses.add(status)
                inv_rows.append({
                    "Id": n_inv, "DocNumber": f"{1000 + n_inv}", "CustomerRef": cid,
                    "TxnDate": txn, "DueDate": txn + timedelta(days=30),
                    "TotalAmt": total / 100, "Balance": open_amt / 100, "Status": status,
                    "LastUpdatedTime": modified,
                })
            cust_rows[-1]["Balance"] = balance / 100
            cust_rows[-1]["PaymentStatus"] = payment_status(statuses)
    _insert(engine, customers, cust_rows)
    _insert(engine, invoices, inv_rows)
    _finish(engine)
    return {"customers": len(cust_rows), "invoices": len(inv_rows)}


def seed_payroll(world: World, url: str, seed: int, truth: TruthWriter) -> dict[str, int]:
    """Legacy payroll rows for ~60% of employees, with slight differences and stale values."""
    rng = random.Random(f"{seed}:payroll")
    r = rng.random
    engine = reset_database(url, payroll_meta)
    rows: list[dict] = []
    for e in world.employees:
        if r() >= 0.6:
            continue
        first = e.first
        nick = nickname(first)
        if nick and r() < 0.3:
            first = nick
        email = e.email if r() >= 0.1 else e.email.upper() if r() < 0.5 else None
        start = e.hire_date + timedelta(days=int(r() * 3)) if r() < 0.05 else e.hire_date
        salary = e.salary if r() >= 0.05 else e.salary - 5000  # stale salary
        active = e.active if r() >= 0.02 else not e.active  # stale flag
        rid = len(rows) + 1
        rows.append({"id": rid, "external_id": None, "first_name": first, "last_name": e.last,
                     "email": email, "start_date": start.isoformat(), "is_active": int(active),
                     "annual_salary_cents": salary * 100, "department": e.department,
                     "updated_at": ms_to_naive(e.modified_ms - int(r() * 86_400_000 * 90))})
        truth.add("employees", str(rid), e.entity_id)
    _insert(engine, payroll_employees, rows)
    _finish(engine)
    return {"employees": len(rows)}


def payment_status(invoice_statuses: set[str]) -> str:
    """A customer's payment status from its invoices' statuses."""
    return "Overdue" if "Overdue" in invoice_statuses else "Open" if "Open" in invoice_statuses \
        else "Paid"


def warehouse_levels(world: World, seed: int) -> list[tuple[str, str, int]]:
    """(sku, location, on_hand) rows; shared with the shop seeding (stale copies there)."""
    rng = random.Random(f"{seed}:warehouse-levels")
    r = rng.random
    out = []
    for p in world.products:
        for loc in LOCATIONS:
            if loc == "WH-WEST" and r() < 0.3:
                continue
            out.append((p.sku, loc, int(r() * 500) if r() >= 0.05 else 0))
    return out


def seed_warehouse(world: World, url: str, seed: int, truth: TruthWriter,
                   levels: list[tuple[str, str, int]]) -> dict[str, int]:
    """Warehouse products (names often upper case) and inventory levels per location."""
    rng = random.Random(f"{seed}:warehouse")
    r = rng.random
    engine = reset_database(url, warehouse_meta)
    prods = []
    for p in world.products:
        name = p.title.upper() if r() < 0.5 else p.title
        prods.append({"sku": p.sku, "name": name, "updated_at": ms_to_naive(p.modified_ms)})
        truth.add("products", p.sku, p.entity_id)
    level_rows = []
    modified = {p.sku: p.modified_ms for p in world.products}
    for sku, loc, qty in levels:
        level_rows.append({"sku": sku, "location": loc, "on_hand": qty,
                           "updated_at": ms_to_naive(modified[sku] + int(r() * 86_400_000))})
        truth.add("inventory_levels", f"{sku}:{loc}", f"product:{sku}")
    _insert(engine, warehouse_products, prods)
    _insert(engine, inventory_levels, level_rows)
    _finish(engine)
    return {"products": len(prods), "inventory_levels": len(level_rows)}
