"""The cargo's special character and storage conditions (货物特殊性/储存条件), which every
link that holds the goods must honour, and what a handover observed against them.

Conditions are given with the booking (all optional): a temperature range in °C (a lower
bound, an upper bound or both), dangerous goods (a UN number of four digits and its hazard
class, with the division where the class has divisions), fragile, high value.

A handover may record what it observed: the temperature logged at the handover, the lowest
and highest temperature logged while the goods were with the link handing them over,
whether the packaging was intact and whether the seals were intact. An observation breaches
the conditions when

* a temperature (at the handover, or the lowest or highest during custody) lies outside
  the range (``temperature``);
* the packaging of fragile goods or of dangerous goods was not intact (``packaging``);
* the seals of high-value goods were not intact (``seals``).

An observation says nothing of what it was not asked: a condition the booking did not set
is never breached, and an observation left out (None) breaches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.base import require

#: The UN hazard classes, with the divisions of the classes that have them (UN Model
#: Regulations, Part 2): explosives 1.1–1.6, gases 2.1–2.3, flammable liquids 3, flammable
#: solids 4.1–4.3, oxidizers and organic peroxides 5.1–5.2, toxic and infectious 6.1–6.2,
#: radioactive 7, corrosive 8, miscellaneous 9.
HAZARD_CLASSES = frozenset(
    {
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "1.6",
        "2.1",
        "2.2",
        "2.3",
        "3",
        "4.1",
        "4.2",
        "4.3",
        "5.1",
        "5.2",
        "6.1",
        "6.2",
        "7",
        "8",
        "9",
    }
)

#: The coldest and warmest temperature a range or a reading may name, in °C.
COLDEST = Decimal(-100)
WARMEST = Decimal(100)

_UN_NUMBER = re.compile(r"^(?:UN)?([0-9]{4})$")


class BreachKind(StrEnum):
    TEMPERATURE = "temperature"
    PACKAGING = "packaging"
    SEALS = "seals"


def _temperature(value: Decimal | int | float | str, field: str) -> Decimal:
    number = Decimal(str(value))
    require(number.is_finite(), f"{field}.number", f"{field} must be a number", field=field)
    require(
        COLDEST <= number <= WARMEST,
        f"{field}.range",
        f"{field} must lie from {COLDEST} to {WARMEST} °C",
        field=field,
    )
    require(
        number == number.quantize(Decimal("0.1")),
        f"{field}.precision",
        f"{field} is given to a tenth of a degree at most",
        field=field,
    )
    return number.quantize(Decimal("0.1"))


def _optional_temperature(value: Decimal | None, field: str) -> Decimal | None:
    return None if value is None else _temperature(value, field)


@dataclass(frozen=True)
class DangerousGoods:
    """Dangerous goods by their UN number (four digits, kept without the ``UN`` prefix)
    and hazard class (``"3"``, ``"2.1"``: see ``HAZARD_CLASSES``)."""

    un_number: str
    hazard_class: str

    @classmethod
    def of(cls, un_number: str, hazard_class: str) -> DangerousGoods:
        match = _UN_NUMBER.match(un_number.strip().upper())
        require(
            match is not None and match.group(1) != "0000",
            "dangerous_goods.un_number",
            "a UN number is four digits, e.g. 3481 or UN3481",
            field="un_number",
        )
        assert match is not None
        klass = hazard_class.strip()
        require(
            klass in HAZARD_CLASSES,
            "dangerous_goods.hazard_class",
            "the hazard class is 1 to 9, with its division where the class has divisions "
            "(1.1–1.6, 2.1–2.3, 4.1–4.3, 5.1–5.2, 6.1–6.2)",
            field="hazard_class",
        )
        return cls(match.group(1), klass)

    def as_dict(self) -> dict[str, Any]:
        return {"un_number": self.un_number, "hazard_class": self.hazard_class}


@dataclass(frozen=True)
class CargoConditions:
    """What every link holding the goods must honour; all of it optional."""

    temperature_min_c: Decimal | None = None
    temperature_max_c: Decimal | None = None
    dangerous_goods: DangerousGoods | None = None
    fragile: bool = False
    high_value: bool = False

    @classmethod
    def of(
        cls,
        *,
        temperature_min_c: Decimal | None = None,
        temperature_max_c: Decimal | None = None,
        dangerous_goods: DangerousGoods | None = None,
        fragile: bool = False,
        high_value: bool = False,
    ) -> CargoConditions:
        """Validated conditions (422 naming the field)."""
        low = _optional_temperature(temperature_min_c, "temperature_min_c")
        high = _optional_temperature(temperature_max_c, "temperature_max_c")
        require(
            low is None or high is None or low <= high,
            "conditions.temperature_range",
            f"the lowest temperature ({low} °C) lies above the highest ({high} °C)",
            field="temperature_max_c",
        )
        goods = (
            None
            if dangerous_goods is None
            else DangerousGoods.of(dangerous_goods.un_number, dangerous_goods.hazard_class)
        )
        return cls(low, high, goods, bool(fragile), bool(high_value))

    @property
    def temperature_controlled(self) -> bool:
        return self.temperature_min_c is not None or self.temperature_max_c is not None

    @property
    def any(self) -> bool:
        return (
            self.temperature_controlled
            or self.dangerous_goods is not None
            or self.fragile
            or self.high_value
        )

    def within(self, temperature: Decimal) -> bool:
        return (self.temperature_min_c is None or temperature >= self.temperature_min_c) and (
            self.temperature_max_c is None or temperature <= self.temperature_max_c
        )

    def range_text(self) -> str:
        low, high = self.temperature_min_c, self.temperature_max_c
        if low is not None and high is not None:
            return f"{low} to {high} °C"
        return f"at least {low} °C" if low is not None else f"at most {high} °C"

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature_min_c": self.temperature_min_c,
            "temperature_max_c": self.temperature_max_c,
            "dangerous_goods": self.dangerous_goods.as_dict() if self.dangerous_goods else None,
            "fragile": self.fragile,
            "high_value": self.high_value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CargoConditions:
        goods = data.get("dangerous_goods")
        return cls(
            data["temperature_min_c"],
            data["temperature_max_c"],
            DangerousGoods(goods["un_number"], goods["hazard_class"]) if goods else None,
            data["fragile"],
            data["high_value"],
        )


@dataclass(frozen=True)
class CargoObservation:
    """What a handover observed of the goods against their conditions; each part optional.

    ``min_temperature_c``/``max_temperature_c``: the lowest and highest temperature the
    logger recorded while the link handing over held the goods; ``temperature_c``: the
    reading at the handover."""

    temperature_c: Decimal | None = None
    min_temperature_c: Decimal | None = None
    max_temperature_c: Decimal | None = None
    packaging_intact: bool | None = None
    seals_intact: bool | None = None

    @classmethod
    def of(
        cls,
        *,
        temperature_c: Decimal | None = None,
        min_temperature_c: Decimal | None = None,
        max_temperature_c: Decimal | None = None,
        packaging_intact: bool | None = None,
        seals_intact: bool | None = None,
    ) -> CargoObservation:
        """A validated observation (422 naming the field)."""
        now = _optional_temperature(temperature_c, "temperature_c")
        low = _optional_temperature(min_temperature_c, "min_temperature_c")
        high = _optional_temperature(max_temperature_c, "max_temperature_c")
        require(
            low is None or high is None or low <= high,
            "observation.temperature_range",
            f"the lowest temperature logged ({low} °C) lies above the highest ({high} °C)",
            field="max_temperature_c",
        )
        observation = cls(now, low, high, packaging_intact, seals_intact)
        require(
            observation != cls(),
            "observation.empty",
            "an observation records at least one reading or check",
            field="observed",
        )
        return observation

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature_c": self.temperature_c,
            "min_temperature_c": self.min_temperature_c,
            "max_temperature_c": self.max_temperature_c,
            "packaging_intact": self.packaging_intact,
            "seals_intact": self.seals_intact,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CargoObservation | None:
        if data is None:
            return None
        return cls(
            data["temperature_c"],
            data["min_temperature_c"],
            data["max_temperature_c"],
            data["packaging_intact"],
            data["seals_intact"],
        )


def breaches(
    conditions: CargoConditions | None, observed: CargoObservation | None
) -> list[tuple[BreachKind, str]]:
    """How ``observed`` breaches ``conditions``, each with what was seen; none if either is
    missing."""
    if conditions is None or observed is None:
        return []
    found: list[tuple[BreachKind, str]] = []
    if conditions.temperature_controlled:
        readings = [
            (what, value)
            for what, value in (
                ("lowest logged", observed.min_temperature_c),
                ("highest logged", observed.max_temperature_c),
                ("at the handover", observed.temperature_c),
            )
            if value is not None and not conditions.within(value)
        ]
        if readings:
            seen = ", ".join(f"{value} °C {what}" for what, value in readings)
            found.append(
                (BreachKind.TEMPERATURE, f"{seen}; the cargo is kept {conditions.range_text()}")
            )
    needs_packaging = conditions.fragile or conditions.dangerous_goods is not None
    if needs_packaging and observed.packaging_intact is False:
        what = "fragile" if conditions.fragile else "dangerous"
        found.append((BreachKind.PACKAGING, f"the packaging of {what} goods was not intact"))
    if conditions.high_value and observed.seals_intact is False:
        found.append((BreachKind.SEALS, "the seals of high-value goods were not intact"))
    return found
