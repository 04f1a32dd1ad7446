"""The validated values every aggregate takes: text, amounts, currencies, moments.

Each function returns the value as the domain keeps it (trimmed, exact, upper-case, UTC)
or refuses it as invalid input naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.base import require


def required_text(value: str, field: str, *, max_length: int = 200) -> str:
    cleaned = value.strip()
    require(bool(cleaned), f"{field}.required", f"{field} must not be empty", field=field)
    require(
        len(cleaned) <= max_length,
        f"{field}.too_long",
        f"{field} is longer than {max_length} characters",
        field=field,
    )
    return cleaned


def optional_text(value: str | None, field: str, *, max_length: int = 200) -> str | None:
    if value is None or not value.strip():
        return None
    return required_text(value, field, max_length=max_length)


def exact_decimal(value: Decimal | int, field: str, *, positive: bool = True) -> Decimal:
    number = Decimal(str(value))
    require(number.is_finite(), f"{field}.number", f"{field} must be a number", field=field)
    if positive:
        require(number > 0, f"{field}.positive", f"{field} must be positive", field=field)
    else:
        require(number >= 0, f"{field}.not_negative", f"{field} must not be negative", field=field)
    return number


def currency_code(value: str) -> str:
    code = value.strip().upper()
    require(
        len(code) == 3 and code.isascii() and code.isalpha(),
        "currency.format",
        "currency must be a three-letter ISO code",
        field="currency",
    )
    return code


def utc_moment(value: datetime, field: str) -> datetime:
    require(
        value.tzinfo is not None,
        f"{field}.timezone",
        f"{field} must carry a time zone",
        field=field,
    )
    return value.astimezone(UTC)
