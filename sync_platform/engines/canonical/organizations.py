"""Words that mark a company's legal form ("Acme Inc." / "Acme Incorporated" / "ACME GmbH"),
shared by profiling (is this a company name?) and identity resolution (strip before comparing)."""

from __future__ import annotations

LEGAL_SUFFIXES: tuple[str, ...] = (
    "inc", "incorporated", "llc", "l.l.c.", "ltd", "limited", "gmbh", "corp", "corporation",
    "co", "company", "plc", "ag", "sa", "s.a.", "sas", "sarl", "bv", "b.v.", "nv", "pty",
    "llp", "lp", "kg", "oy", "ab", "as", "spa", "s.p.a.", "srl", "kk", "pte",
)
