"""The vocabulary of what a value *means*, shared by profiling, the canonical model and mapping."""

from __future__ import annotations

from enum import StrEnum


class SemanticType(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    DOMAIN = "domain"
    PERSON_FULL_NAME = "person_full_name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    COMPANY_NAME = "company_name"
    STREET = "street"
    CITY = "city"
    STATE = "state"
    POSTAL_CODE = "postal_code"
    COUNTRY = "country"
    ADDRESS_BLOCK = "address_block"  # a whole address in one value
    CURRENCY_AMOUNT = "currency_amount"
    CURRENCY_CODE = "currency_code"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    EPOCH_TIMESTAMP = "epoch_timestamp"
    BOOLEAN = "boolean"
    ENUM = "enum"
    IDENTIFIER = "identifier"  # fixed-length digit ids, codes, SKUs
    UUID = "uuid"
    SALESFORCE_ID = "salesforce_id"
    INTEGER = "integer"
    NUMBER = "number"
    FREE_TEXT = "free_text"
    JOB_TITLE = "job_title"
    UNKNOWN = "unknown"


# Types whose values can stand for one another (a profile of one may feed a field of the other).
COMPATIBLE: dict[SemanticType, set[SemanticType]] = {
    SemanticType.URL: {SemanticType.DOMAIN},
    SemanticType.DOMAIN: {SemanticType.URL, SemanticType.EMAIL},
    SemanticType.IDENTIFIER: {SemanticType.UUID, SemanticType.SALESFORCE_ID, SemanticType.INTEGER},
    SemanticType.UUID: {SemanticType.IDENTIFIER},
    SemanticType.SALESFORCE_ID: {SemanticType.IDENTIFIER},
    SemanticType.INTEGER: {SemanticType.NUMBER, SemanticType.IDENTIFIER, SemanticType.CURRENCY_AMOUNT},
    SemanticType.NUMBER: {SemanticType.INTEGER, SemanticType.CURRENCY_AMOUNT, SemanticType.PERCENT},
    SemanticType.CURRENCY_AMOUNT: {SemanticType.NUMBER, SemanticType.INTEGER},
    SemanticType.DATE: {SemanticType.DATETIME, SemanticType.EPOCH_TIMESTAMP},
    SemanticType.DATETIME: {SemanticType.DATE, SemanticType.EPOCH_TIMESTAMP},
    SemanticType.EPOCH_TIMESTAMP: {SemanticType.DATE, SemanticType.DATETIME},
    SemanticType.ENUM: {SemanticType.BOOLEAN, SemanticType.FREE_TEXT, SemanticType.JOB_TITLE},
    SemanticType.BOOLEAN: {SemanticType.ENUM},
    SemanticType.FREE_TEXT: {SemanticType.ENUM, SemanticType.JOB_TITLE, SemanticType.COMPANY_NAME},
    SemanticType.JOB_TITLE: {SemanticType.FREE_TEXT, SemanticType.ENUM},
    SemanticType.COMPANY_NAME: {SemanticType.FREE_TEXT},
    SemanticType.STREET: {SemanticType.ADDRESS_BLOCK},
    SemanticType.ADDRESS_BLOCK: {SemanticType.STREET},
    SemanticType.STATE: {SemanticType.ENUM},
    SemanticType.COUNTRY: {SemanticType.ENUM},
}


def compatible(a: SemanticType | str | None, b: SemanticType | str | None) -> bool:
    """True when values of type `a` can fill a field of type `b` (unknown is compatible with nothing)."""
    if a is None or b is None:
        return False
    a, b = SemanticType(a), SemanticType(b)
    if SemanticType.UNKNOWN in (a, b):
        return False
    return a == b or b in COMPATIBLE.get(a, set())
