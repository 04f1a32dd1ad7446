"""Domain values as plain JSON for auditors: an event's data, an aggregate's state.

Decimals, UUIDs and datetimes become strings (a decimal keeps its exact digits), enums
their values, value objects (frozen dataclasses) objects of their fields, tuples lists,
sets sorted lists, and mapping keys strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID


def jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        return {k if type(k) is str else _key(k): jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [jsonable(item) for item in value]
    if kind in _AS_STRING:
        return str(value)
    if kind is datetime:
        return value.isoformat()
    return _general(value)


_AS_IS = frozenset({str, int, float, bool, type(None)})
_AS_STRING = frozenset({Decimal, UUID})


def _general(value: Any) -> Any:
    """Subclasses, enums, value objects and other collections: the slower path."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Set):
        # In a fixed order, not the set's own, which depends on how the set was reached.
        return sorted((jsonable(item) for item in value), key=repr)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    raise TypeError(f"no JSON form for a value of type {type(value).__name__}")


def _key(key: Any) -> str:
    plain = jsonable(key)
    return plain if isinstance(plain, str) else str(plain)
