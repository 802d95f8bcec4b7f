"""A value the target's own constraint refuses is a clear validation dead letter; the rest of the
batch is delivered, and a second push neither re-sends nor duplicates anything."""

from __future__ import annotations

import sqlalchemy as sa

from sync_platform.engines.push import push

from .helpers import ledger_states, query


def _employee(i: int, start_date: str) -> dict:
    return {"target": "payroll", "table": "employees", "entity": "employee", "golden_id": f"iv-{i}",
            "operation": "create", "payload": {"first_name": "Ada", "last_name": f"Valid{i}",
                                               "start_date": start_date}}


def test_invalid_dates_are_validation_dead_letters(sandbox, push_catalog) -> None:
    wh = push_catalog.warehouse_path
    changes = [_employee(0, "2024-02-29"), _employee(1, "2024-02-30"), _employee(2, "31/12/2024"),
               _employee(3, "2024-12-31")]
    engine = sa.create_engine(sandbox.payroll_url)

    def held() -> dict[str, int]:
        with engine.connect() as con:
            return dict(con.execute(sa.text("SELECT external_id, count(*) FROM employees WHERE "
                                            "external_id LIKE 'iv-%' GROUP BY 1")).fetchall())

    report = push(push_catalog, changes)
    assert report.states == {"acknowledged": 2, "rejected": 2}
    assert held() == {"iv-0": 1, "iv-3": 1}
    dead = dict(query(wh, "SELECT golden_id, error_class || ': ' || message FROM ops.dead_letters"))
    assert set(dead) == {"iv-1", "iv-2"}
    for message in dead.values():
        assert message.startswith("validation: ") and "start_date_iso_date" in message
    again = push(push_catalog, changes)
    assert again.requests == 0 and again.plan["payroll.employees"] == {"unchanged": 2, "create": 2}
    assert held() == {"iv-0": 1, "iv-3": 1}
    assert ledger_states(wh, "iv-") == {"acknowledged": 2, "rejected": 2}
    assert query(wh, "SELECT count(*) FROM ops.dead_letters")[0][0] == 2
    engine.dispose()
