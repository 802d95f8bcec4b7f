"""Flow timing in words: `on_change` or a 5-field cron expression, e.g. "every 5 minutes",
"nightly at 02:00", "weekdays at 08:30"; anything unusual falls back to "cron <expr>"."""

from __future__ import annotations

import re

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAY_NAMES = {d[:3].lower(): i for i, d in enumerate(_DAYS[:7])}
_INT = re.compile(r"^\d+$")
_STEP = re.compile(r"^\*/(\d+)$")


def _plural(n: int, unit: str) -> str:
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


def _ints(field: str, low: int, high: int) -> list[int] | None:
    """`5` or `8,20` as integers in [low, high]; None for anything else."""
    parts = field.split(",")
    if not all(_INT.match(p) for p in parts):
        return None
    values = [int(p) for p in parts]
    return values if all(low <= v <= high for v in values) else None


def _day(field: str) -> int | None:
    if _INT.match(field) and int(field) <= 7:
        return int(field)
    return _DAY_NAMES.get(field.lower())


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _weekdays(field: str) -> str | None:
    """Day-of-week field in words ("Monday", "weekdays", "Monday and Thursday")."""
    if "-" in field and "," not in field:
        start, _, end = field.partition("-")
        a, b = _day(start), _day(end)
        if (a, b) == (1, 5):
            return "weekdays"
        if a is not None and b is not None:
            return f"{_DAYS[a]} to {_DAYS[b]}"
        return None
    days = [_day(p) for p in field.split(",")]
    if any(d is None for d in days):
        return None
    return "every " + _join([_DAYS[d] for d in days])  # type: ignore[index]


def humanize_cron(expr: str) -> str:
    """A cron expression in words; unusual ones fall back to "cron <expr>"."""
    fallback = f"cron {expr}"
    fields = expr.split()
    if len(fields) != 5:
        return fallback
    minute, hour, dom, month, dow = fields
    if month != "*":
        return fallback
    if (hour, dom, dow) == ("*", "*", "*"):
        if minute == "*":
            return "every minute"
        if step := _STEP.match(minute):
            return _plural(int(step.group(1)), "minute")
        if minute == "0":
            return "every hour"
        if (minutes := _ints(minute, 0, 59)) is not None:
            return "every hour at " + _join([f":{m:02d}" for m in minutes])
        return fallback
    minutes = _ints(minute, 0, 59)
    if minutes is None or len(minutes) != 1:
        return fallback
    if (step := _STEP.match(hour)) and (dom, dow) == ("*", "*"):
        return f"{_plural(int(step.group(1)), 'hour')} at :{minutes[0]:02d}"
    hours = _ints(hour, 0, 23)
    if hours is None:
        return fallback
    at = "at " + _join([f"{h:02d}:{minutes[0]:02d}" for h in hours])
    if dom == "*" and dow == "*":
        nightly = all(h < 6 or h >= 22 for h in hours)
        return f"{'nightly' if nightly else 'daily'} {at}"
    if dom == "*":
        days = _weekdays(dow)
        return f"{days} {at}" if days else fallback
    if dow == "*" and (dates := _ints(dom, 1, 31)) is not None:
        return f"monthly on day {_join([str(d) for d in dates])} {at}"
    return fallback


def humanize_timing(cron: str | None, on_change: bool, manual_every_days: float | None = None,
                    manual_owner: str | None = None) -> str:
    """The words for a flow's `timing:` block (cron, `on_change`, or a manual cadence)."""
    if on_change:
        return "on change"
    if cron:
        return humanize_cron(cron)
    if manual_every_days is not None:
        days = "day" if manual_every_days == 1 else f"{manual_every_days:g} days"
        return f"manual, every {days}" + (f" ({manual_owner})" if manual_owner else "")
    return "manual"
