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

The clocks
----------
``deadlines`` gives the notice deadline and the time bar of one carriage (or of our own
contract with the customer) from that carriage's own moments (``CarriageMoments``): when
that carrier delivered the goods — handed them to the next link, or to the consignee —,
when it placed them at the disposal of the person entitled, when it took them over, and
by when it should have delivered them. Which moment counts depends on the regime and on
what the claim is for (``ClaimKind``: damage or partial loss, delay, total loss) and, for
the notice, on whether the damage was apparent at delivery.

==============  ========================================  ========================================
regime          notice                                    time bar
==============  ========================================  ========================================
montreal        Art. 31(2): damage 14 days from receipt   Art. 35: 2 years from arrival
                (delivery by that carrier); delay 21      (delivery), or, goods never arriving,
                days from placing at disposal             from when the aircraft ought to have
                                                          arrived
cmr             Art. 30: apparent — at delivery; not      Art. 32: 1 year (3 for wilful
                apparent — 7 days, Sundays and public     misconduct); damage, partial loss, delay
                holidays excepted; delay 21 days from     from delivery; total loss from the 30th
                placing at the consignee's disposal       day after the agreed time limit, without
                                                          one from the 60th day after taking over
hague_visby     Art. III(6): apparent — at removal into   Art. III(6): 1 year from delivery, or
                custody (delivery); not apparent 3 days;  from when the goods should have been
                delay (the rules know none) as damage     delivered; III(6 bis): a recourse action
                                                          at least 3 months from settling or being
                                                          served
cim             Art. 47: apparent — at acceptance         Art. 48: 1 year (2 for wilful
                (delivery); not apparent 7 days after     misconduct); damage, partial loss, delay
                acceptance; delay 60 days                 from delivery; total loss from the 30th
                                                          day after the transit period expired
company_terms   ours: 7 days from delivery (delay 21)     ours: 9 months from delivery, or from
                                                          when the goods should have been
                                                          delivered
==============  ========================================  ========================================

A total loss needs no notice under any regime (there is no delivery at which to make
one): its notice deadline is None. Day counts are whole days of 24 hours from the moment
that counts, except the CMR's 7 days, which skip Sundays and public holidays: which days
those are, and in which time zone a day begins, is the ``HolidayCalendar`` the caller
passes — none but Sundays, in UTC, unless told. Years and months are calendar ones
(``add_months``).

What is not modelled: a special declaration of value that lifts a limit, wilful
misconduct that breaks it (only its longer time bars are: ``wilful_misconduct``), the
caps some conventions put on delay by the carriage charges (delay is limited per kilogram
like damage), the CMR's clock for other claims (3 months after the contract is made), and
the suspension of a time bar by a written claim (CMR Art. 32(2), CIM Art. 48(3)).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
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


class ClaimKind(StrEnum):
    """What a claim is for, as the clocks tell it apart."""

    #: Damage or partial loss (a shortage, contamination, a part of the goods lost).
    DAMAGE = "damage"
    DELAY = "delay"
    #: The whole consignment lost: never delivered.
    TOTAL_LOSS = "total_loss"


@dataclass(frozen=True)
class HolidayCalendar:
    """The days that do not count where a period excepts public holidays (CMR Art. 30),
    and the time zone in which a day begins there.

    Sundays never count. ``holidays`` are the public holidays of the place concerned; the
    default calendar knows none and counts days in UTC. Nothing is assumed about a
    country: whoever counts passes the holidays that apply.
    """

    holidays: frozenset[date] = frozenset()
    zone: tzinfo = UTC

    def counts(self, day: date) -> bool:
        return day.isoweekday() != 7 and day not in self.holidays


#: No public holidays; days begin at midnight UTC.
NO_HOLIDAYS = HolidayCalendar()


@dataclass(frozen=True)
class CarriageMoments:
    """The moments of one carriage (one link, or the whole shipment) that its clocks run
    from.

    ``delivered_at``: when that carrier delivered the goods — handed them over to the next
    link or to the consignee; None if it never did (a total loss). ``at_disposal_at``:
    when it placed them at the disposal of the person entitled (delay notices); None: at
    delivery. ``taken_over_at``: when it took the goods over. ``due_at``: the agreed time
    limit, transit period or the time the goods should have been delivered.
    ``settled_at``: when the one bringing a recourse action settled the claim against it
    or was served with it (Hague-Visby Art. III(6 bis)); None: not yet.
    """

    delivered_at: datetime | None
    at_disposal_at: datetime | None = None
    taken_over_at: datetime | None = None
    due_at: datetime | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True)
class Deadlines:
    """By when the party at fault must be notified (None: no notice is required), and
    after which it can no longer be claimed against (time bar)."""

    notice: datetime | None
    time_bar: datetime


def deadlines(
    regime: LiabilityRegime,
    kind: ClaimKind,
    moments: CarriageMoments,
    *,
    apparent: bool = False,
    holidays: HolidayCalendar = NO_HOLIDAYS,
    wilful_misconduct: bool = False,
) -> Deadlines:
    """The notice deadline and time bar of ``regime`` for a claim of ``kind`` against the
    carriage whose moments are ``moments`` (see the module doc for the articles).

    ``apparent``: the loss or damage was apparent at delivery. ``holidays``: the public
    holidays the CMR's 7 days skip, besides Sundays. ``wilful_misconduct``: the longer
    time bars of the CMR (3 years) and CIM (2 years). Refused (``InvalidValue``): a moment
    without a time zone, damage or delay without a delivery, a total loss without the
    moment its time bar runs from.
    """
    regime, kind = LiabilityRegime(regime), ClaimKind(kind)
    for name in ("delivered_at", "at_disposal_at", "taken_over_at", "due_at", "settled_at"):
        moment = getattr(moments, name)
        require(
            moment is None or moment.tzinfo is not None,
            "deadlines.timezone",
            f"{name} must carry a time zone",
            field=name,
        )
    terms = TERMS[regime]
    if kind is ClaimKind.TOTAL_LOSS:
        notice = None
        time_bar = _total_loss_time_bar(regime, moments, terms.time_bar_months)
    else:
        delivered = moments.delivered_at
        require(
            delivered is not None,
            "deadlines.delivery_required",
            f"the deadlines of {kind.value} run from delivery; the delivery is missing",
            field="delivered_at",
        )
        assert delivered is not None
        notice = _notice(regime, kind, moments, delivered, apparent=apparent, holidays=holidays)
        time_bar = add_months(delivered, terms.time_bar_months)
    if wilful_misconduct and regime in WILFUL_MISCONDUCT_MONTHS:
        running_from = _time_bar_running_from(regime, kind, moments, terms.time_bar_months)
        time_bar = add_months(running_from, WILFUL_MISCONDUCT_MONTHS[regime])
    if moments.settled_at is not None:
        time_bar = recourse_time_bar(regime, time_bar, settled_at=moments.settled_at)
    return Deadlines(notice=notice, time_bar=time_bar)


#: The longer time bars for wilful misconduct: CMR Art. 32(1), CIM Art. 48(1).
WILFUL_MISCONDUCT_MONTHS: Mapping[LiabilityRegime, int] = MappingProxyType(
    {LiabilityRegime.CMR: 36, LiabilityRegime.CIM: 24}
)

#: Hague-Visby Art. III(6 bis): the least time a recourse action is allowed after settling.
RECOURSE_MONTHS = 3


def recourse_time_bar(
    regime: LiabilityRegime, time_bar: datetime, *, settled_at: datetime | None
) -> datetime:
    """The time bar of a recourse (indemnity) action: under Hague-Visby, Art. III(6 bis),
    not before 3 months from the day the one bringing it settled the claim or was served
    with process; under the other regimes, ``time_bar`` unchanged."""
    if regime is not LiabilityRegime.HAGUE_VISBY or settled_at is None:
        return time_bar
    return max(time_bar, add_months(settled_at, RECOURSE_MONTHS))


def _notice(
    regime: LiabilityRegime,
    kind: ClaimKind,
    moments: CarriageMoments,
    delivered: datetime,
    *,
    apparent: bool,
    holidays: HolidayCalendar,
) -> datetime:
    terms = TERMS[regime]
    if kind is ClaimKind.DELAY:
        at_disposal = moments.at_disposal_at or delivered
        return at_disposal + timedelta(days=terms.delay_notice_days)
    if apparent and regime in (
        LiabilityRegime.CMR,
        LiabilityRegime.HAGUE_VISBY,
        LiabilityRegime.CIM,
    ):
        return delivered  # reservations at delivery (CMR 30(1), H-V III(6), CIM 47(2))
    if regime is LiabilityRegime.CMR:
        return add_counted_days(delivered, terms.notice_days, holidays)
    return delivered + timedelta(days=terms.notice_days)


def _total_loss_time_bar(
    regime: LiabilityRegime, moments: CarriageMoments, months: int
) -> datetime:
    return add_months(_time_bar_running_from(regime, ClaimKind.TOTAL_LOSS, moments, months), months)


def _time_bar_running_from(
    regime: LiabilityRegime, kind: ClaimKind, moments: CarriageMoments, months: int
) -> datetime:
    if kind is not ClaimKind.TOTAL_LOSS:
        assert moments.delivered_at is not None
        return moments.delivered_at
    if regime in (LiabilityRegime.CMR, LiabilityRegime.CIM) and moments.due_at is not None:
        return moments.due_at + timedelta(days=30)  # CMR 32(1)(b), CIM 48(2)(b)
    if regime is LiabilityRegime.CMR:
        require(
            moments.taken_over_at is not None,
            "deadlines.taking_over_required",
            "a total loss under the CMR without an agreed time limit runs from the taking"
            " over; it is missing",
            field="taken_over_at",
        )
        assert moments.taken_over_at is not None
        return moments.taken_over_at + timedelta(days=60)  # CMR 32(1)(b)
    require(
        moments.due_at is not None,
        "deadlines.due_required",
        f"a total loss under {TERMS[regime].title} runs from when the goods should have been"
        " delivered; it is missing",
        field="due_at",
    )
    assert moments.due_at is not None
    return moments.due_at


def add_counted_days(moment: datetime, days: int, holidays: HolidayCalendar) -> datetime:
    """``moment`` moved on by ``days`` days that count (neither Sunday nor a holiday of
    ``holidays``), at the same time of day in the calendar's time zone."""
    require(days >= 0, "days.not_negative", "days must not be negative", field="days")
    local = moment.astimezone(holidays.zone)
    day, counted = local.date(), 0
    while counted < days:
        day += timedelta(days=1)
        if holidays.counts(day):
            counted += 1
    return datetime.combine(day, local.timetz()).astimezone(moment.tzinfo)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later; the month's last day where that day does not exist."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
