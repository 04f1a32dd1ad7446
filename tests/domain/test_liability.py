"""The clocks of each liability regime, with dates worked out by hand.

Each case names the days it counts; a weekday is written next to a date where it
matters. No test depends on the day it runs or the machine's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.base import InvalidValue
from domain.liability import (
    NO_HOLIDAYS,
    CarriageMoments,
    ClaimKind,
    Deadlines,
    HolidayCalendar,
    LiabilityRegime,
    add_counted_days,
    deadlines,
    recourse_time_bar,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def delivered(at: datetime, **moments: datetime | None) -> CarriageMoments:
    return CarriageMoments(delivered_at=at, **moments)


# --- CMR (road), Art. 30 and 32 -------------------------------------------------------------

#: Thursday 17 December 2026, 15:00.
CMR_DELIVERY = utc(2026, 12, 17, 15)
CHRISTMAS = HolidayCalendar(frozenset({date(2026, 12, 25), date(2026, 12, 26)}))


def test_cmr_damage_not_apparent_gives_seven_days_skipping_sundays_and_holidays() -> None:
    # Fri 18 (1), Sat 19 (2), Sun 20 skipped, Mon 21 (3), Tue 22 (4), Wed 23 (5), Thu 24 (6),
    # Fri 25 and Sat 26 holidays, Sun 27 skipped, Mon 28 (7).
    with_holidays = deadlines(
        LiabilityRegime.CMR, ClaimKind.DAMAGE, delivered(CMR_DELIVERY), holidays=CHRISTMAS
    )
    assert with_holidays == Deadlines(notice=utc(2026, 12, 28, 15), time_bar=utc(2027, 12, 17, 15))
    # Without holidays passed in only the Sunday is skipped: ... Thu 24 (6), Fri 25 (7).
    plain = deadlines(LiabilityRegime.CMR, ClaimKind.DAMAGE, delivered(CMR_DELIVERY))
    assert plain.notice == utc(2026, 12, 25, 15)


def test_cmr_days_are_counted_in_the_calendars_time_zone() -> None:
    # Saturday 19 December 23:30 UTC is Sunday 20 December 00:30 in Warsaw (UTC+1). From
    # Sunday 20: Mon 21 (1), Tue 22 (2), Wed 23 (3), Thu 24 (4), Fri 25 and Sat 26 holidays,
    # Sun 27 skipped, Mon 28 (5), Tue 29 (6), Wed 30 (7) at 00:30 Warsaw = Tue 29 23:30 UTC.
    warsaw = HolidayCalendar(CHRISTMAS.holidays, zone=timezone(timedelta(hours=1)))
    result = deadlines(
        LiabilityRegime.CMR,
        ClaimKind.DAMAGE,
        delivered(utc(2026, 12, 19, 23, 30)),
        holidays=warsaw,
    )
    assert result.notice == utc(2026, 12, 29, 23, 30)
    # Counted in UTC, Saturday 19 is the day of delivery: Mon 21 (1) ... Thu 24 (4),
    # Mon 28 (5), Tue 29 (6), Wed 30 (7) at 23:30 UTC.
    assert add_counted_days(utc(2026, 12, 19, 23, 30), 7, CHRISTMAS) == utc(2026, 12, 30, 23, 30)


def test_cmr_apparent_damage_is_reserved_at_delivery() -> None:
    result = deadlines(
        LiabilityRegime.CMR, ClaimKind.DAMAGE, delivered(CMR_DELIVERY), apparent=True
    )
    assert result == Deadlines(notice=CMR_DELIVERY, time_bar=utc(2027, 12, 17, 15))


def test_cmr_delay_runs_21_days_from_placing_at_the_consignees_disposal() -> None:
    moments = delivered(CMR_DELIVERY, at_disposal_at=utc(2026, 12, 17, 16))
    result = deadlines(LiabilityRegime.CMR, ClaimKind.DELAY, moments)
    # 21 calendar days, Sundays and holidays included: Thursday 7 January 2027, 16:00.
    assert result.notice == utc(2027, 1, 7, 16)
    assert result.time_bar == utc(2027, 12, 17, 15)  # from delivery
    # Without a separate moment the goods are at disposal on delivery.
    assert deadlines(LiabilityRegime.CMR, ClaimKind.DELAY, delivered(CMR_DELIVERY)).notice == utc(
        2027, 1, 7, 15
    )


def test_cmr_total_loss_runs_from_the_30th_day_after_the_agreed_time_limit() -> None:
    moments = CarriageMoments(
        delivered_at=None, taken_over_at=utc(2026, 12, 1, 8), due_at=utc(2026, 12, 10, 12)
    )
    # 10 December + 30 days = 9 January 2027; one year on.
    result = deadlines(LiabilityRegime.CMR, ClaimKind.TOTAL_LOSS, moments)
    assert result == Deadlines(notice=None, time_bar=utc(2028, 1, 9, 12))
    # Wilful misconduct: three years.
    wilful = deadlines(LiabilityRegime.CMR, ClaimKind.TOTAL_LOSS, moments, wilful_misconduct=True)
    assert wilful.time_bar == utc(2030, 1, 9, 12)


def test_cmr_total_loss_without_a_time_limit_runs_from_the_60th_day_after_taking_over() -> None:
    moments = CarriageMoments(delivered_at=None, taken_over_at=utc(2026, 12, 1, 8))
    # 1 December + 60 days: 31 December is day 30, 30 January 2027 day 60.
    result = deadlines(LiabilityRegime.CMR, ClaimKind.TOTAL_LOSS, moments)
    assert result == Deadlines(notice=None, time_bar=utc(2028, 1, 30, 8))
    with pytest.raises(InvalidValue) as caught:
        deadlines(LiabilityRegime.CMR, ClaimKind.TOTAL_LOSS, CarriageMoments(delivered_at=None))
    assert caught.value.rule == "deadlines.taking_over_required"


def test_cmr_wilful_misconduct_damage_is_time_barred_after_three_years() -> None:
    result = deadlines(
        LiabilityRegime.CMR, ClaimKind.DAMAGE, delivered(CMR_DELIVERY), wilful_misconduct=True
    )
    assert result.time_bar == utc(2029, 12, 17, 15)


# --- CIM (rail), Art. 47 and 48 -------------------------------------------------------------

CIM_DELIVERY = utc(2026, 3, 2, 9)  # Monday 2 March 2026


def test_cim_damage_delay_and_total_loss() -> None:
    not_apparent = deadlines(LiabilityRegime.CIM, ClaimKind.DAMAGE, delivered(CIM_DELIVERY))
    assert not_apparent == Deadlines(notice=utc(2026, 3, 9, 9), time_bar=utc(2027, 3, 2, 9))
    apparent = deadlines(
        LiabilityRegime.CIM, ClaimKind.DAMAGE, delivered(CIM_DELIVERY), apparent=True
    )
    assert apparent.notice == CIM_DELIVERY
    # 60 days: 31 March is day 29, 1 May day 60.
    delay = deadlines(LiabilityRegime.CIM, ClaimKind.DELAY, delivered(CIM_DELIVERY))
    assert delay == Deadlines(notice=utc(2026, 5, 1, 9), time_bar=utc(2027, 3, 2, 9))
    # Total loss: from the 30th day after the transit period expired (10 December 2026).
    lost = CarriageMoments(delivered_at=None, due_at=utc(2026, 12, 10, 12))
    assert deadlines(LiabilityRegime.CIM, ClaimKind.TOTAL_LOSS, lost) == Deadlines(
        notice=None, time_bar=utc(2028, 1, 9, 12)
    )
    wilful = deadlines(LiabilityRegime.CIM, ClaimKind.TOTAL_LOSS, lost, wilful_misconduct=True)
    assert wilful.time_bar == utc(2029, 1, 9, 12)


# --- Hague-Visby (sea), Art. III(6) and III(6 bis) ------------------------------------------

SEA_DELIVERY = utc(2026, 6, 29, 14)


def test_hague_visby_three_days_and_one_year() -> None:
    not_apparent = deadlines(LiabilityRegime.HAGUE_VISBY, ClaimKind.DAMAGE, delivered(SEA_DELIVERY))
    assert not_apparent == Deadlines(notice=utc(2026, 7, 2, 14), time_bar=utc(2027, 6, 29, 14))
    apparent = deadlines(
        LiabilityRegime.HAGUE_VISBY, ClaimKind.DAMAGE, delivered(SEA_DELIVERY), apparent=True
    )
    assert apparent.notice == SEA_DELIVERY  # at removal into custody
    # Total loss: one year from when the goods should have been delivered.
    lost = CarriageMoments(delivered_at=None, due_at=utc(2026, 6, 20))
    assert deadlines(LiabilityRegime.HAGUE_VISBY, ClaimKind.TOTAL_LOSS, lost) == Deadlines(
        notice=None, time_bar=utc(2027, 6, 20)
    )
    with pytest.raises(InvalidValue) as caught:
        deadlines(
            LiabilityRegime.HAGUE_VISBY, ClaimKind.TOTAL_LOSS, CarriageMoments(delivered_at=None)
        )
    assert caught.value.rule == "deadlines.due_required"


def test_hague_visby_recourse_is_allowed_three_months_from_settling() -> None:
    one_year = utc(2027, 6, 29, 14)
    # Settled 15 May 2027: three months on (15 August) is after the year; the recourse
    # action may still be brought until then.
    late = delivered(SEA_DELIVERY, settled_at=utc(2027, 5, 15, 10))
    assert deadlines(LiabilityRegime.HAGUE_VISBY, ClaimKind.DAMAGE, late).time_bar == utc(
        2027, 8, 15, 10
    )
    # Settled 10 January 2027: three months on (10 April) is within the year, which stands.
    early = delivered(SEA_DELIVERY, settled_at=utc(2027, 1, 10))
    assert deadlines(LiabilityRegime.HAGUE_VISBY, ClaimKind.DAMAGE, early).time_bar == one_year
    # The extension is the Hague-Visby Rules' alone.
    cmr_bar = utc(2027, 12, 17, 15)
    assert recourse_time_bar(LiabilityRegime.CMR, cmr_bar, settled_at=utc(2027, 12, 1)) == cmr_bar
    assert recourse_time_bar(LiabilityRegime.HAGUE_VISBY, one_year, settled_at=None) == one_year


# --- Montreal (air), Art. 31 and 35 ---------------------------------------------------------

#: The airline hands the goods to the import agent on 5 March 2026 at 18:00; the shipment
#: reaches the consignee days later, which does not move the airline's clocks.
AIRLINE_DELIVERY = utc(2026, 3, 5, 18)


def test_montreal_damage_runs_14_days_from_that_carriers_delivery() -> None:
    result = deadlines(LiabilityRegime.MONTREAL, ClaimKind.DAMAGE, delivered(AIRLINE_DELIVERY))
    assert result == Deadlines(notice=utc(2026, 3, 19, 18), time_bar=utc(2028, 3, 5, 18))
    # Apparent or not, the complaint has 14 days.
    assert (
        deadlines(
            LiabilityRegime.MONTREAL,
            ClaimKind.DAMAGE,
            delivered(AIRLINE_DELIVERY),
            apparent=True,
        )
        == result
    )


def test_montreal_delay_runs_21_days_from_placing_at_disposal() -> None:
    moments = delivered(AIRLINE_DELIVERY, at_disposal_at=utc(2026, 3, 5, 20))
    result = deadlines(LiabilityRegime.MONTREAL, ClaimKind.DELAY, moments)
    assert result == Deadlines(notice=utc(2026, 3, 26, 20), time_bar=utc(2028, 3, 5, 18))


def test_montreal_goods_that_never_arrived_run_from_when_they_ought_to_have() -> None:
    lost = CarriageMoments(delivered_at=None, due_at=utc(2026, 3, 5, 12))
    assert deadlines(LiabilityRegime.MONTREAL, ClaimKind.TOTAL_LOSS, lost) == Deadlines(
        notice=None, time_bar=utc(2028, 3, 5, 12)
    )


# --- company terms --------------------------------------------------------------------------


def test_company_terms_seven_days_delay_21_and_nine_months() -> None:
    at = utc(2026, 1, 31, 10)
    assert deadlines(LiabilityRegime.COMPANY_TERMS, ClaimKind.DAMAGE, delivered(at)) == Deadlines(
        notice=utc(2026, 2, 7, 10), time_bar=utc(2026, 10, 31, 10)
    )
    assert deadlines(LiabilityRegime.COMPANY_TERMS, ClaimKind.DELAY, delivered(at)).notice == utc(
        2026, 2, 21, 10
    )
    # Total loss: nine months from when the goods should have been delivered (31 May);
    # February has no 31st.
    lost = CarriageMoments(delivered_at=None, due_at=utc(2026, 5, 31))
    assert deadlines(LiabilityRegime.COMPANY_TERMS, ClaimKind.TOTAL_LOSS, lost) == Deadlines(
        notice=None, time_bar=utc(2027, 2, 28)
    )


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moments", "kind", "rule"),
    [
        (
            CarriageMoments(delivered_at=datetime(2026, 1, 1)),
            ClaimKind.DAMAGE,
            "deadlines.timezone",
        ),
        (
            CarriageMoments(delivered_at=utc(2026, 1, 1), due_at=datetime(2026, 1, 1)),
            ClaimKind.DAMAGE,
            "deadlines.timezone",
        ),
        (CarriageMoments(delivered_at=None), ClaimKind.DAMAGE, "deadlines.delivery_required"),
        (CarriageMoments(delivered_at=None), ClaimKind.DELAY, "deadlines.delivery_required"),
    ],
)
def test_bad_moments_are_refused(moments: CarriageMoments, kind: ClaimKind, rule: str) -> None:
    for regime in LiabilityRegime:
        with pytest.raises(InvalidValue) as caught:
            deadlines(regime, kind, moments)
        assert caught.value.rule == rule


def test_counted_days_are_never_negative() -> None:
    with pytest.raises(InvalidValue) as caught:
        add_counted_days(CMR_DELIVERY, -1, NO_HOLIDAYS)
    assert caught.value.rule == "days.not_negative"
