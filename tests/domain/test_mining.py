"""Opportunity mining without a database: each kind of suggestion fires exactly when its
history says so, and nothing after ``as_of`` is seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

from domain.mining import (
    BookedShipment,
    BuyerProfile,
    CatalogueOffering,
    Market,
    OfferingWon,
    Suggestion,
    SuggestionKind,
    is_on,
)

AS_OF = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
NS = UUID("6f1c1c55-8c0e-4a57-9d5c-6f6d7d9d2c11")


def uid(name: str) -> UUID:
    return uuid5(NS, name)


def offering(
    key: str,
    origin: str,
    destination: str,
    mode: str,
    *,
    level: str = "door_to_door",
    active: bool = True,
    launched: datetime = AS_OF - timedelta(days=400),
) -> CatalogueOffering:
    return CatalogueOffering(uid(key), key, origin, destination, mode, level, 5, active, launched)


SZV_ORD = offering("Suzhou–Chicago Air", "Suzhou", "Chicago", "air")
NGB_ORD = offering("Ningbo–Chicago Sea & Rail", "Ningbo", "Chicago", "sea")
SHA_RTM = offering("Shanghai–Rotterdam LCL", "Shanghai", "Rotterdam", "sea", level="consolidated")
SZV_FRA = offering("Suzhou–Frankfurt Air", "Suzhou", "Frankfurt", "air")
CATALOGUE = (SZV_ORD, NGB_ORD, SHA_RTM, SZV_FRA)


def account(name: str, industry: str = "electronics", region: str = "East China") -> BuyerProfile:
    return BuyerProfile(uid(name), "customer", industry, region, "Suzhou")


def booking(
    who: str,
    days_ago: float,
    origin: str = "Suzhou Industrial Park, CN",
    destination: str = "Chicago, IL, US",
    mode: str | None = "air",
    *,
    kg: int = 1000,
    charge: int | None = None,
) -> BookedShipment:
    return BookedShipment(
        uid(f"{who}/{origin}/{days_ago}"),
        uid(who),
        AS_OF - timedelta(days=days_ago),
        origin,
        destination,
        mode,
        Decimal(kg),
        {"USD": Decimal(charge)} if charge is not None else {},
    )


def market(
    accounts: list[BuyerProfile],
    bookings: list[BookedShipment],
    *,
    wins: tuple[OfferingWon, ...] = (),
    offerings: tuple[CatalogueOffering, ...] = CATALOGUE,
    as_of: datetime = AS_OF,
) -> Market:
    return Market(accounts=accounts, bookings=bookings, wins=wins, offerings=offerings, as_of=as_of)


def kinds(suggestions: list[Suggestion]) -> dict[UUID | None, SuggestionKind]:
    return {s.offering_id: s.kind for s in suggestions}


def monthly(who: str, months: int, *, charge: int | None = None) -> list[BookedShipment]:
    return [booking(who, 30 * m + 5, charge=charge) for m in range(months)]


# --- what a shipment buys -------------------------------------------------------------------


def test_a_shipment_is_on_an_offering_by_its_ends_and_main_carriage() -> None:
    air = booking("huaxin", 10)
    assert is_on(SZV_ORD, air)
    assert not is_on(NGB_ORD, air)
    assert not is_on(SZV_ORD, booking("huaxin", 10, mode="sea"))
    assert not is_on(SZV_ORD, booking("huaxin", 10, destination="Elk Grove Village, IL, US"))
    assert is_on(SZV_ORD, booking("huaxin", 10, origin="SUZHOU new district, CN"))


# --- at risk ----------------------------------------------------------------------------


def test_at_risk_when_the_last_quarters_volume_fell_by_half() -> None:
    huaxin = account("huaxin")
    # 1,000 kg a month for nine months before the last quarter (9,000 kg over the 249 days
    # from the first to the quarter: 3,289 kg a quarter); then one shipment of 500 kg.
    before = [booking("huaxin", 100 + 30 * m) for m in range(9)]
    history = [*before, booking("huaxin", 20, kg=500)]
    [risk] = [s for s in market([huaxin], history).suggestions(huaxin.relationship_id)
              if s.kind is SuggestionKind.AT_RISK_RETENTION]  # fmt: skip
    assert risk.offering_id == SZV_ORD.offering_id
    assert risk.reason_en.startswith("volume fell 85% in the last quarter (500 kg against 3,289 a")
    assert "at risk" in risk.reason_en
    assert "有流失风险" in risk.reason_zh
    assert risk.score == Decimal("0.924")
    # Half the usual volume or more in the last quarter: not at risk.
    steady = [*before, booking("huaxin", 20, kg=1000), booking("huaxin", 50, kg=1000)]
    assert (
        SuggestionKind.AT_RISK_RETENTION
        not in kinds(market([huaxin], steady).suggestions(huaxin.relationship_id)).values()
    )


def test_no_trend_is_judged_on_fewer_than_three_bookings_before_the_quarter() -> None:
    huaxin = account("huaxin")
    history = [booking("huaxin", 120), booking("huaxin", 150)]
    found = market([huaxin], history).suggestions(huaxin.relationship_id)
    assert SuggestionKind.AT_RISK_RETENTION not in kinds(found).values()


# --- lane upgrades -------------------------------------------------------------------------


def test_a_regular_lane_suggests_another_mode_to_its_destination_with_the_saving() -> None:
    huaxin, heartland = account("huaxin"), account("heartland", "automotive", "North America")
    history = [
        *monthly("huaxin", 4, charge=6000),  # 6 USD a kg by air
        *[
            booking("heartland", 40 * m + 3, "Ningbo, CN", "Chicago, IL, US", "sea", charge=900)
            for m in range(3)
        ],
    ]
    found = market([huaxin, heartland], history).suggestions(huaxin.relationship_id)
    [upgrade] = [s for s in found if s.offering_id == NGB_ORD.offering_id]
    assert upgrade.kind is SuggestionKind.LANE_UPGRADE
    assert upgrade.reason_en.startswith(
        "ships Suzhou Industrial Park→Chicago air monthly with us (4 shipments); "
        "Ningbo–Chicago Sea & Rail serves Chicago (sea, door to door, 5 days)"
    )
    assert upgrade.reason_en.endswith("at 0.90 USD/kg against its 6.00: saves 85%")
    assert "节省85%" in upgrade.reason_zh
    assert "每月" in upgrade.reason_zh
    # What it already buys and the lanes to elsewhere are not lane upgrades.
    assert SZV_ORD.offering_id not in kinds(found)
    assert kinds(found).get(SZV_FRA.offering_id) is not SuggestionKind.LANE_UPGRADE


def test_a_lane_shipped_twice_is_not_regular_and_a_retired_offering_is_not_suggested() -> None:
    huaxin = account("huaxin")
    twice = market([huaxin], monthly("huaxin", 2)).suggestions(huaxin.relationship_id)
    assert NGB_ORD.offering_id not in kinds(twice)
    retired = offering("Ningbo–Chicago Sea & Rail", "Ningbo", "Chicago", "sea", active=False)
    found = market([huaxin], monthly("huaxin", 4), offerings=(SZV_ORD, retired)).suggestions(
        huaxin.relationship_id
    )
    assert retired.offering_id not in kinds(found)


# --- peers ---------------------------------------------------------------------------------


def test_peers_of_its_industry_in_its_region_suggest_what_they_use() -> None:
    huaxin = account("huaxin")
    peers = [account("xinrui"), account("borui")]
    other_trade = account("kessler", "automotive")
    history = [
        booking("huaxin", 10),
        booking("xinrui", 20, "Shanghai, CN", "Rotterdam, NL", "sea"),
        booking("borui", 30, "Suzhou, CN", "Chicago, IL, US"),
        booking("kessler", 30, "Suzhou, CN", "Frankfurt, DE"),
    ]
    found = market([huaxin, *peers, other_trade], history).suggestions(huaxin.relationship_id)
    [peer] = [s for s in found if s.offering_id == SHA_RTM.offering_id]
    assert peer.kind is SuggestionKind.PEER_ADOPTION
    assert peer.reason_en == (
        "1 of 2 electronics customers in East China also use Shanghai–Rotterdam LCL"
    )
    assert peer.reason_zh == "华东地区2家电子行业客户中有1家也在使用Shanghai–Rotterdam LCL"
    assert peer.score == Decimal("0.550")
    # The other trade's offering is no peer's: suggested, if at all, for another reason.
    assert kinds(found).get(SZV_FRA.offering_id) is not SuggestionKind.PEER_ADOPTION


def test_with_too_few_peers_in_its_region_every_regions_peers_count() -> None:
    prairie = account("prairie", region="North America")
    peers = [account("xinrui"), account("borui")]
    history = [
        booking("xinrui", 20, "Shanghai, CN", "Rotterdam, NL", "sea"),
        booking("borui", 30, "Shanghai, CN", "Rotterdam, NL", "sea"),
    ]
    [peer] = market([prairie, *peers], history).suggestions(prairie.relationship_id)
    assert peer.reason_en == (
        "2 of 2 electronics customers across regions also use Shanghai–Rotterdam LCL"
    )


def test_an_offering_few_peers_use_is_not_suggested_for_them() -> None:
    huaxin = account("huaxin")
    peers = [account(f"peer{n}") for n in range(5)]
    history = [booking(f"peer{n}", 20) for n in range(5)]
    history.append(booking("peer0", 25, "Shanghai, CN", "Rotterdam, NL", "sea"))
    found = market([huaxin, *peers], history).suggestions(huaxin.relationship_id)
    assert kinds(found) == {SZV_ORD.offering_id: SuggestionKind.PEER_ADOPTION}  # 1 of 5 < 25%


def test_an_opportunity_won_counts_as_bought() -> None:
    huaxin, xinrui = account("huaxin"), account("xinrui")
    win = OfferingWon(xinrui.relationship_id, SHA_RTM.offering_id, AS_OF - timedelta(days=3))
    found = market([huaxin, xinrui], [], wins=(win,)).suggestions(huaxin.relationship_id)
    assert kinds(found) == {SHA_RTM.offering_id: SuggestionKind.PEER_ADOPTION}
    mine = OfferingWon(huaxin.relationship_id, SHA_RTM.offering_id, AS_OF - timedelta(days=3))
    assert market([huaxin, xinrui], [], wins=(win, mine)).suggestions(huaxin.relationship_id) == []


# --- cross-sell ----------------------------------------------------------------------------


def test_an_offering_from_where_it_ships_to_elsewhere_is_a_cross_sell() -> None:
    huaxin = account("huaxin")
    found = market([huaxin], [booking("huaxin", 10)]).suggestions(huaxin.relationship_id)
    assert kinds(found) == {SZV_FRA.offering_id: SuggestionKind.CROSS_SELL}
    [cross] = found
    assert cross.reason_en == (
        "ships from Suzhou with us (1 shipment); Suzhou–Frankfurt Air leaves from there "
        "for Frankfurt"
    )


# --- as of -------------------------------------------------------------------------------


def test_nothing_after_as_of_is_seen() -> None:
    huaxin, xinrui = account("huaxin"), account("xinrui")
    before = [booking("huaxin", 100 + 30 * m) for m in range(4)]
    # After as_of the customer recovers and a peer takes up sea to Rotterdam; a new
    # offering is launched.
    later = [
        booking("huaxin", -10),
        booking("huaxin", -20),
        booking("xinrui", -5, "Shanghai, CN", "Rotterdam, NL", "sea"),
    ]
    launched_later = offering("Suzhou–Chicago Sea", "Suzhou", "Chicago", "sea", launched=AS_OF
                              + timedelta(days=1))  # fmt: skip
    won_later = OfferingWon(xinrui.relationship_id, SZV_FRA.offering_id, AS_OF + timedelta(hours=1))
    seen = market(
        [huaxin, xinrui],
        [*before, *later],
        wins=(won_later,),
        offerings=(*CATALOGUE, launched_later),
    )
    found = seen.suggestions(huaxin.relationship_id)
    only = market([huaxin, xinrui], before).suggestions(huaxin.relationship_id)
    assert found == only
    assert kinds(found)[SZV_ORD.offering_id] is SuggestionKind.AT_RISK_RETENTION
    assert launched_later.offering_id not in kinds(found)
    # Seen a month later, the recovery and the peer's new lane count.
    month_later = market(
        [huaxin, xinrui], [*before, *later], offerings=(*CATALOGUE, launched_later),
        as_of=AS_OF + timedelta(days=30),
    )  # fmt: skip
    later_kinds = kinds(month_later.suggestions(huaxin.relationship_id))
    assert SuggestionKind.AT_RISK_RETENTION not in later_kinds.values()
    assert later_kinds[SHA_RTM.offering_id] is SuggestionKind.PEER_ADOPTION
    assert later_kinds[launched_later.offering_id] is SuggestionKind.LANE_UPGRADE


def test_suggestions_are_one_per_offering_best_first_and_the_same_every_time() -> None:
    huaxin, xinrui = account("huaxin"), account("xinrui")
    history = [
        *monthly("huaxin", 4),
        *[booking("xinrui", 40 * m + 3, "Ningbo, CN", "Chicago, IL, US", "sea") for m in range(3)],
    ]
    found = market([huaxin, xinrui], history).suggestions(huaxin.relationship_id)
    assert len({s.offering_id for s in found}) == len(found)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    # Lane upgrade (0.59) and peer adoption (0.8) of one offering: 1 − 0.41 × 0.2.
    [both] = [s for s in found if s.offering_id == NGB_ORD.offering_id]
    assert (both.kind, both.score) == (SuggestionKind.PEER_ADOPTION, Decimal("0.918"))
    again = market([xinrui, huaxin], list(reversed(history))).suggestions(huaxin.relationship_id)
    assert again == found


def test_an_unknown_relationship_has_no_suggestions() -> None:
    assert market([account("huaxin")], []).suggestions(uid("nobody")) == []
