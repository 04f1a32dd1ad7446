"""Liability regimes: how much a link's party owes for goods it lost or damaged, and when.

Each link of a shipment runs under one regime. International carriage runs under its
convention; everything else — local pickup and delivery, customs, storage, handling,
packaging, distribution processing — under our company terms, which we also impose on the
partners we hire for those links (back-to-back terms).

==============  =====  ====================================  ============  ===========
regime          mode   limit                                 notice        time bar
==============  =====  ====================================  ============  ===========
montreal        air    26 SDR/kg                             14 days       2 years
                                                             (delay 21)
cmr             road   8.33 SDR/kg                           7 days        1 year
                                                             (delay 21)
hague_visby     sea    666.67 SDR per package or 2 SDR/kg,   3 days        1 year
                       whichever is higher
cim             rail   17 SDR/kg                             7 days        1 year
                                                             (delay 60)
company_terms   any    5 SDR/kg                              7 days        9 months
                                                             (delay 21)
==============  =====  ====================================  ============  ===========

Company terms are ours to set. 5 SDR/kg sits between the forwarders' customary 2 SDR/kg
and road carriage's 8.33 SDR/kg, so handling by us or a partner under our terms is never
worth more to the customer than the road leg that brought the goods; the 9-month time bar
is the one of the FIATA model rules that our trading conditions follow.

Deadlines run from delivery of the shipment, or — for goods that were never delivered —
from the discovery of the incident. What is not modelled: a special declaration of value
that lifts a limit, wilful misconduct that breaks it, and the carriage-charge caps some
conventions put on delay (delay is limited per kilogram like damage).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType

from domain.base import require

CENT = Decimal("0.01")


class TransportMode(StrEnum):
    AIR = "air"
    SEA = "sea"
    ROAD = "road"
    RAIL = "rail"


class LiabilityRegime(StrEnum):
    MONTREAL = "montreal"
    CMR = "cmr"
    HAGUE_VISBY = "hague_visby"
    CIM = "cim"
    COMPANY_TERMS = "company_terms"


@dataclass(frozen=True)
class RegimeTerms:
    regime: LiabilityRegime
    title: str
    #: The mode of carriage the regime governs; None: any link (company terms).
    mode: TransportMode | None
    sdr_per_kg: Decimal
    #: A per-package limit, applied when higher than the per-kilogram one.
    sdr_per_package: Decimal | None
    notice_days: int
    delay_notice_days: int
    time_bar_months: int


TERMS: Mapping[LiabilityRegime, RegimeTerms] = MappingProxyType(
    {
        terms.regime: terms
        for terms in (
            RegimeTerms(
                LiabilityRegime.MONTREAL,
                "Montreal Convention",
                TransportMode.AIR,
                Decimal("26"),
                None,
                notice_days=14,
                delay_notice_days=21,
                time_bar_months=24,
            ),
            RegimeTerms(
                LiabilityRegime.CMR,
                "CMR Convention",
                TransportMode.ROAD,
                Decimal("8.33"),
                None,
                notice_days=7,
                delay_notice_days=21,
                time_bar_months=12,
            ),
            RegimeTerms(
                LiabilityRegime.HAGUE_VISBY,
                "Hague-Visby Rules",
                TransportMode.SEA,
                Decimal("2"),
                Decimal("666.67"),
                notice_days=3,
                # The rules know no delay; a delay notice follows the damage notice.
                delay_notice_days=3,
                time_bar_months=12,
            ),
            RegimeTerms(
                LiabilityRegime.CIM,
                "CIM Uniform Rules",
                TransportMode.RAIL,
                Decimal("17"),
                None,
                notice_days=7,
                delay_notice_days=60,
                time_bar_months=12,
            ),
            RegimeTerms(
                LiabilityRegime.COMPANY_TERMS,
                "company terms",
                None,
                Decimal("5"),
                None,
                notice_days=7,
                delay_notice_days=21,
                time_bar_months=9,
            ),
        )
    }
)


def convention_for(mode: TransportMode) -> LiabilityRegime:
    """The convention that governs international carriage by ``mode``."""
    return next(terms.regime for terms in TERMS.values() if terms.mode is mode)


def regime_fits_mode(regime: LiabilityRegime, mode: TransportMode | None) -> bool:
    """A convention governs only its own mode of carriage; company terms fit any link."""
    governed = TERMS[regime].mode
    return governed is None or governed is mode


@dataclass(frozen=True)
class LiabilityLimit:
    """The most a party owes under its regime for the affected goods."""

    regime: LiabilityRegime
    weight_kg: Decimal
    packages: int | None
    sdr: Decimal
    sdr_rate: Decimal
    amount: Decimal
    currency: str

    @property
    def basis(self) -> str:
        """The arithmetic behind the limit, as an auditor would write it down."""
        terms = TERMS[self.regime]
        per_kg = f"{terms.sdr_per_kg} SDR/kg × {self.weight_kg} kg"
        if terms.sdr_per_package is not None and self.packages is not None:
            per_kg = (
                f"the higher of {terms.sdr_per_package} SDR/package × {self.packages}"
                f" packages and {per_kg}"
            )
        return (
            f"{terms.title}: {per_kg} = {self.sdr} SDR"
            f" × {self.sdr_rate} {self.currency}/SDR = {self.amount} {self.currency}"
        )


def liability_limit(
    regime: LiabilityRegime,
    *,
    weight_kg: Decimal,
    packages: int | None,
    sdr_rate: Decimal,
    currency: str,
) -> LiabilityLimit:
    """The limit for goods of ``weight_kg`` in ``packages`` (None: not counted in packages).

    ``sdr_rate`` is the value of one SDR in ``currency`` on the day that counts. The limit
    is rounded to the cent, in SDR and in the currency.
    """
    require(weight_kg >= 0, "weight.not_negative", "weight must not be negative", field="weight_kg")
    require(
        packages is None or packages >= 0,
        "packages.not_negative",
        "packages must not be negative",
        field="packages",
    )
    require(sdr_rate > 0, "sdr_rate.positive", "the SDR rate must be positive", field="sdr_rate")
    terms = TERMS[regime]
    sdr = terms.sdr_per_kg * weight_kg
    if terms.sdr_per_package is not None and packages is not None:
        sdr = max(sdr, terms.sdr_per_package * packages)
    sdr = sdr.quantize(CENT, ROUND_HALF_UP)
    return LiabilityLimit(
        regime=regime,
        weight_kg=weight_kg,
        packages=packages,
        sdr=sdr,
        sdr_rate=sdr_rate,
        amount=(sdr * sdr_rate).quantize(CENT, ROUND_HALF_UP),
        currency=currency,
    )


@dataclass(frozen=True)
class Deadlines:
    """By when the party at fault must be notified, and after which it can no longer be
    claimed against (time bar)."""

    notice: datetime
    time_bar: datetime


def claim_deadlines(regime: LiabilityRegime, *, running_from: datetime, delay: bool) -> Deadlines:
    """The deadlines of ``regime`` for an incident, counted from ``running_from``
    (delivery, or the discovery of goods that were never delivered)."""
    terms = TERMS[regime]
    notice_days = terms.delay_notice_days if delay else terms.notice_days
    return Deadlines(
        notice=running_from + timedelta(days=notice_days),
        time_bar=add_months(running_from, terms.time_bar_months),
    )


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later; the month's last day where that day does not exist."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
