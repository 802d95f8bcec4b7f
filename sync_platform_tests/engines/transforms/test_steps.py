"""Every transform kind on the hard cases, compiled to SQL and run in DuckDB."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from sync_platform.engines.canonical import TransformStep
from sync_platform.engines.transforms import TRANSFORM_KINDS, compile_rule, validate_step
from sync_platform_tests.engines.transforms.helpers import one, rule, run

NAME_TARGETS = ("prefix", "first_name", "middle_name", "last_name", "suffix")


def test_vocabulary_is_complete():
    assert {
        "trim", "lower", "upper", "title", "cast", "date", "datetime", "epoch", "phone", "email",
        "currency", "scale", "boolean", "value_map", "split_name", "join", "split_address",
        "default", "domain_from_email", "domain_from_url", "country_from_phone", "state_code",
        "country_code"} == TRANSFORM_KINDS


@pytest.mark.parametrize("kind, params, message", [
    ("explode", {}, "unknown transform 'explode'"),
    ("cast", {"to": "money"}, "to must be one of"),
    ("cast", {}, "missing params ['to']"),
    ("date", {"format": "dd/mm/yyyy"}, "strptime format"),
    ("epoch", {"unit": "days"}, "unit must be"),
    ("scale", {"factor": "x"}, "factor must be a number"),
    ("phone", {"region": "US"}, "unknown params ['region']"),
    ("value_map", {"map": ["a"]}, "map must be a mapping"),
])
def test_validate_step_rejects_bad_steps(kind, params, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_step(TransformStep(kind=kind, params=params))


def test_compile_rule_rejects_arity_mismatch():
    with pytest.raises(ValueError, match="add a join"):
        compile_rule(rule(["a", "b"], ["x"], ("trim", {})), {"a": "a", "b": "b"})
    with pytest.raises(ValueError, match="give params.parts"):
        compile_rule(rule(["a"], ["x", "y"], ("split_name", {})), {"a": "a"})


def test_text_cleanup():
    rows = one("trim", ["  Jane   Doe ", "", None])
    assert [r["out"] for r in rows] == ["Jane Doe", None, None]
    assert one("title", ["  sARAH  jane "])[0]["out"] == "Sarah Jane"
    assert one("lower", [" ABC "])[0]["out"] == "abc"
    assert one("upper", ["abc"])[0]["out"] == "ABC"


def test_split_name_hard_cases():
    rows = run(rule(["v"], NAME_TARGETS, ("split_name", {})),
               [("Dr. Sarah Jane Smith",), ("Smith, John",), ("John Smith Jr.",), ("Cher",)])
    assert rows[0] == {"prefix": "Dr.", "first_name": "Sarah", "middle_name": "Jane",
                       "last_name": "Smith", "suffix": None, "errors": []}
    assert (rows[1]["first_name"], rows[1]["last_name"]) == ("John", "Smith")
    assert (rows[2]["first_name"], rows[2]["last_name"], rows[2]["suffix"]) == ("John", "Smith", "Jr.")
    assert (rows[3]["first_name"], rows[3]["last_name"]) == ("Cher", None)


def test_split_name_with_explicit_parts():
    rows = run(rule(["v"], ["given", "family"], ("split_name", {"parts": ["first", "last"]})),
               [("Herrera, Amanda",)])
    assert (rows[0]["given"], rows[0]["family"]) == ("Amanda", "Herrera")


def test_dates():
    rows = one("date", ["13/05/2019", "31/02/2020", "", None], {"format": "%d/%m/%Y"})
    assert rows[0] == {"out": date(2019, 5, 13), "errors": []}
    assert rows[1]["out"] is None and rows[1]["errors"] == ["invalid date (format %d/%m/%Y)"]
    assert rows[2]["errors"] == [] and rows[3]["errors"] == []


def test_datetimes_normalise_to_utc():
    rows = one("datetime", ["2024-05-01T12:00:00.000+0000", "2024-05-01T12:00:00Z",
                            "2024-05-01T14:00:00.000+0200", "2024-05-01 12:00:00", "soon"])
    assert [r["out"] for r in rows[:4]] == [datetime(2024, 5, 1, 12)] * 4
    assert rows[4]["errors"] == ["invalid datetime"]
    rows = one("datetime", ["01.05.2024 12:00"], {"format": "%d.%m.%Y %H:%M"})
    assert rows[0]["out"] == datetime(2024, 5, 1, 12)


def test_epoch_seconds_and_millis():
    assert one("epoch", ["1714564800"], {"unit": "s"})[0]["out"] == datetime(2024, 5, 1, 12)
    assert one("epoch", ["1714564800000"], {"unit": "ms"})[0]["out"] == datetime(2024, 5, 1, 12)
    assert one("epoch", ["later"], {"unit": "ms"})[0]["errors"] == ["invalid epoch timestamp"]


def test_phones_to_e164():
    rows = one("phone", ["(415) 555-0100", "+1 415-555-0100", "415.555.0100",
                         "+44 20 7946 0958", "abc"], {"default_region": "US"})
    assert [r["out"] for r in rows] == ["+14155550100"] * 3 + ["+442079460958", None]
    assert rows[4]["errors"] == ["invalid phone"]


def test_email_validation():
    rows = one("email", ["  John.Doe@Example.COM ", "not an email", "a@b"])
    assert rows[0] == {"out": "john.doe@example.com", "errors": []}
    assert rows[1]["errors"] == ["invalid email"] and rows[2]["errors"] == ["invalid email"]


def test_currency_amounts_and_codes():
    rows = one("currency", ["$85,000.00", "€1.234,56", "(1,234.00)", "USD 12.50", "1234", "£3",
                            "n/a"], {"default_currency": "USD"}, targets=("amount", "currency"))
    assert [(r["amount"], r["currency"]) for r in rows[:6]] == [
        (Decimal("85000.00"), "USD"), (Decimal("1234.56"), "EUR"), (Decimal("-1234.00"), "USD"),
        (Decimal("12.50"), "USD"), (Decimal("1234.00"), "USD"), (Decimal("3.00"), "GBP")]
    assert rows[6]["amount"] is None and rows[6]["errors"] == ["invalid currency amount"]


def test_scale_cents_to_units():
    assert one("scale", ["18200000"], {"factor": 0.01})[0]["out"] == Decimal("182000")


def test_booleans():
    values = ["Active", "Inactive", "Open", "Closed", "Y", "n", "1", "0", "enabled", "maybe"]
    rows = one("boolean", values)
    assert [r["out"] for r in rows] == [True, False, True, False, True, False, True, False, True, None]
    assert rows[-1]["errors"] == ["unknown boolean value"]
    custom = one("boolean", ["Ja", "Nein"], {"true_values": ["ja"], "false_values": ["nein"]})
    assert [r["out"] for r in custom] == [True, False]


def test_value_map_and_default():
    params = {"map": {"Gold": "G", "silver": "S"}, "default": "other"}
    assert [r["out"] for r in one("value_map", ["gold", "SILVER", "bronze", None], params)] == [
        "G", "S", "other", None]
    assert [r["out"] for r in one("value_map", ["gold", "x"], {"map": {"gold": "G"}})] == ["G", "x"]
    rows = run(rule(["v"], ["out"], ("trim", {}), ("default", {"value": "unknown"})),
               [("",), (None,), ("x",)])
    assert [r["out"] for r in rows] == ["unknown", "unknown", "x"]


def test_cast():
    rows = one("cast", ["12", "twelve"], {"to": "integer"})
    assert rows[0]["out"] == 12 and rows[1]["errors"] == ["cannot cast to integer"]


def test_join_skips_empty_parts():
    rows = run(rule(["a", "b", "c"], ["out"], ("join", {"separator": ", "})),
               [("12 Main St", None, "Springfield"), (" ", "Suite 5", ""), (None, None, None)])
    assert [r["out"] for r in rows] == ["12 Main St, Springfield", "Suite 5", None]


def test_split_address():
    targets = ("street", "city", "state", "postal_code", "country")
    rows = run(rule(["v"], targets, ("split_address", {})), [
        ("12 Main St, Springfield, IL 62704, USA",),
        ("10 Downing St, London SW1A 2AA, United Kingdom",),
        ("Hauptstr. 5, 10115 Berlin, Deutschland",)])
    assert [tuple(r[t] for t in targets) for r in rows] == [
        ("12 Main St", "Springfield", "IL", "62704", "US"),
        ("10 Downing St", "London", None, "SW1A 2AA", "GB"),
        ("Hauptstr. 5", "Berlin", None, "10115", "DE")]


def test_domains():
    urls = one("domain_from_url", ["https://www.Acme.com/about", "www.foo.co.uk", "bar.io"])
    assert [r["out"] for r in urls] == ["acme.com", "foo.co.uk", "bar.io"]
    assert one("domain_from_email", ["Jane@WWW.Acme.com"])[0]["out"] == "acme.com"


def test_geo_codes():
    countries = one("country_code", ["United States", "USA", "U.S.", "Deutschland", "de",
                                     "Great Britain", "Atlantis"])
    assert [r["out"] for r in countries] == ["US", "US", "US", "DE", "DE", "GB", None]
    assert countries[-1]["errors"] == ["unknown country"]
    states = one("state_code", ["California", "ca", " New  York ", "Ontario", "XX"], {"country": "US"})
    assert [r["out"] for r in states] == ["CA", "CA", "NY", "ON", "XX"]
    phones = one("country_from_phone", ["+44 20 7946 0958", "+49 89 4790 9035", "+14155550100"])
    assert [r["out"] for r in phones] == ["GB", "DE", "US"]


def test_chained_steps_report_the_failing_input():
    rows = run(rule(["v"], ["out"], ("trim", {}), ("phone", {})), [("  abc  ",)])
    assert rows[0] == {"out": None, "errors": ["invalid phone"]}


def test_sql_fast_paths_agree_with_the_libraries():
    from sync_platform.engines.transforms.udfs import parse_email, parse_phone

    emails = ["a.b@c.io", "A@B.CO.UK", ".a@b.com", "a..b@c.com", "a@-b.com", "a@b.test",
              "x@localhost", "a+tag@sub.example.org", "a" * 65 + "@b.com", "a@b.c", "é@b.com",
              "a@b_c.com", "a@b.com.", " a@b.com "]
    assert [r["out"] for r in one("email", emails)] == [parse_email(e) for e in emails]
    phones = ["(415) 555-0100", "1 415 555 0100", "+14155550100", "415-555-0100 x12",
              "(015) 555-0100", "555-0100", "+1 (212) 555 0199", "+44 20 7946 0958", "2125550199"]
    assert [r["out"] for r in one("phone", phones)] == [parse_phone(p, "US") for p in phones]
