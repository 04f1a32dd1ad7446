"""Opportunity mining (销售机会挖掘): the next offerings to suggest to a relationship, each
with the reason in words, from its shipment history, its industry peers and the
catalogue of service offerings — as it all stood at a moment, ``as_of``.

Pure and deterministic: no I/O, no clock; the same history and moment give the same
suggestions in the same order. The reads (``projections/decisions/suggestions.py``) load
the history from the read models; the benchmark (``bench/mining.py``) replays a year.

What a shipment buys: a shipment is *on* an offering when the offering's origin and
destination are named in the shipment's (``Suzhou`` in ``Suzhou Industrial Park, CN``) and
the offering's mode is the shipment's main carriage. A relationship has *bought* an
offering when a shipment of its history is on it, or an opportunity for it was won.

The kinds of suggestion, each scored between 0 and 1:

* ``at_risk_retention`` — its volume (gross weight booked) in the last quarter fell by at
  least half against its quarterly average before: keep the offering it uses most.
* ``lane_upgrade`` — it ships a lane regularly; an offering it does not use serves the
  same destination on another mode (from the same origin or another), with what that
  offering costs a kilogram on our other customers' shipments beside what the
  relationship pays, when both are known in one currency.
* ``peer_adoption`` — customers of its industry (in its region when it has enough peers
  there, else in every region) use an offering it does not.
* ``cross_sell`` — an offering leaves from a place it ships from, to a destination it
  does not ship to.

An offering suggested for several reasons is suggested once: its score combines them
(1 − Π(1 − sᵢ)), its kind and reason are the strongest one's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from uuid import UUID


class SuggestionKind(StrEnum):
    LANE_UPGRADE = "lane_upgrade"
    PEER_ADOPTION = "peer_adoption"
    AT_RISK_RETENTION = "at_risk_retention"
    CROSS_SELL = "cross_sell"


@dataclass(frozen=True)
class CatalogueOffering:
    """A service offering as the catalogue shows it."""

    offering_id: UUID
    name: str
    origin: str
    destination: str
    mode: str
    service_level: str
    transit_days: int
    active: bool
    launched_at: datetime


@dataclass(frozen=True)
class BookedShipment:
    """A shipment booked for a relationship (not cancelled)."""

    shipment_id: UUID
    customer_id: UUID
    booked_at: datetime
    origin: str
    destination: str
    #: The mode of its main carriage; None if it has none.
    mode: str | None
    weight_kg: Decimal | None = None
    #: What it was quoted, per currency.
    charges: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class BuyerProfile:
    """A relationship as the suggestions see it."""

    relationship_id: UUID
    kind: str
    industry: str
    region: str
    branch: str


@dataclass(frozen=True)
class OfferingWon:
    """An opportunity won: the relationship bought the offering."""

    relationship_id: UUID
    offering_id: UUID
    decided_at: datetime


@dataclass(frozen=True)
class MiningPolicy:
    #: How far back the history counts.
    history_days: int = 365
    #: The last quarter, whose volume is compared with the quarters before it.
    quarter_days: int = 91
    #: A fall of at least this share of the quarterly volume puts a customer at risk.
    at_risk_fall: Decimal = Decimal("0.5")
    #: Bookings before the last quarter needed to judge a fall.
    trend_bookings: int = 3
    #: Bookings on a lane in the history that make it a lane shipped regularly.
    regular_bookings: int = 3
    #: Peers in its region needed to compare with those; else every region's.
    regional_peers: int = 2
    #: The least share of its peers using an offering for it to be suggested.
    peer_share: Decimal = Decimal("0.25")


@dataclass(frozen=True)
class Suggestion:
    relationship_id: UUID
    offering_id: UUID | None
    offering_name: str | None
    kind: SuggestionKind
    score: Decimal
    reason_en: str
    reason_zh: str


def place(text: str) -> str:
    """A place as said in a reason: its first part (``Suzhou Industrial Park``)."""
    return text.split(",")[0].strip()


def named_in(part: str, whole: str) -> bool:
    return part.strip().casefold() in whole.casefold()


def is_on(offering: CatalogueOffering, booking: BookedShipment) -> bool:
    """Whether the shipment travels on the offering: its ends named in the shipment's, its
    mode the shipment's main carriage."""
    return (
        booking.mode == offering.mode
        and named_in(offering.origin, booking.origin)
        and named_in(offering.destination, booking.destination)
    )


def _every(days: float) -> tuple[str, str]:
    """How often, in words (English, Chinese), from the mean days between bookings."""
    if days <= 10:
        return "weekly", "每周"
    if days <= 20:
        return "fortnightly", "每两周"
    if days <= 45:
        return "monthly", "每月"
    months = round(days / 30)
    return f"every {months} months", f"每{months}个月"


def _shipments(n: int) -> str:
    return "1 shipment" if n == 1 else f"{n} shipments"


def _percent(share: Decimal) -> int:
    return int((share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _score(value: Decimal) -> Decimal:
    return min(Decimal(1), max(Decimal(0), value)).quantize(Decimal("0.001"), ROUND_HALF_UP)


def _per_kg(bookings: Iterable[BookedShipment]) -> dict[str, Decimal]:
    """What the bookings cost a kilogram, per currency (those with a weight and a charge)."""
    money: dict[str, Decimal] = defaultdict(Decimal)
    weight: dict[str, Decimal] = defaultdict(Decimal)
    for b in bookings:
        if not b.weight_kg:
            continue
        for currency, amount in b.charges.items():
            money[currency] += amount
            weight[currency] += b.weight_kg
    return {c: money[c] / weight[c] for c in money if weight[c] > 0}


MODE_ZH = {"air": "空运", "sea": "海运", "rail": "铁路", "road": "公路"}

#: Industries and regions as the Chinese reasons say them; any other as recorded.
INDUSTRY_ZH = {
    "electronics": "电子",
    "automotive": "汽车",
    "pharmaceuticals": "医药",
    "medical devices": "医疗器械",
    "machinery": "机械设备",
    "apparel": "服装",
    "chemicals": "化工",
    "e-commerce": "电商",
    "household appliances": "家电",
}
REGION_ZH = {
    "East China": "华东",
    "South China": "华南",
    "North China": "华北",
    "North America": "北美",
}


class Market:
    """Every relationship's history up to ``as_of`` (later bookings and wins are not
    seen), the catalogue, and what each relationship bought."""

    def __init__(
        self,
        *,
        accounts: Iterable[BuyerProfile],
        bookings: Iterable[BookedShipment],
        wins: Iterable[OfferingWon],
        offerings: Iterable[CatalogueOffering],
        as_of: datetime,
        policy: MiningPolicy | None = None,
    ) -> None:
        self.policy = policy or MiningPolicy()
        self.as_of = as_of
        since = as_of - timedelta(days=self.policy.history_days)
        self.accounts = {a.relationship_id: a for a in accounts}
        self.offerings = sorted(
            (o for o in offerings if o.launched_at <= as_of),
            key=lambda o: (o.name, str(o.offering_id)),
        )
        self.bookings: dict[UUID, list[BookedShipment]] = defaultdict(list)
        for b in sorted(bookings, key=lambda b: (b.booked_at, str(b.shipment_id))):
            if since < b.booked_at <= as_of:
                self.bookings[b.customer_id].append(b)
        #: Per relationship, how many of its shipments went on each offering (0: won only).
        self.bought: dict[UUID, dict[UUID, int]] = defaultdict(dict)
        self.on: dict[UUID, list[BookedShipment]] = defaultdict(list)
        for customer, items in self.bookings.items():
            for b in items:
                for o in self.offerings:
                    if is_on(o, b):
                        counts = self.bought[customer]
                        counts[o.offering_id] = counts.get(o.offering_id, 0) + 1
                        self.on[o.offering_id].append(b)
        for w in wins:
            if since < w.decided_at <= as_of:
                self.bought[w.relationship_id].setdefault(w.offering_id, 0)

    # --- the whole ---------------------------------------------------------------------

    def suggestions(self, relationship_id: UUID) -> list[Suggestion]:
        """The relationship's suggestions, best first (score, then the offering's name)."""
        account = self.accounts.get(relationship_id)
        if account is None:
            return []
        found: list[Suggestion] = [
            *self.at_risk(account),
            *self.lane_upgrades(account),
            *self.peer_adoptions(account),
            *self.cross_sells(account),
        ]
        return merge(found)

    # --- the kinds ---------------------------------------------------------------------

    def at_risk(self, account: BuyerProfile) -> list[Suggestion]:
        p, rid = self.policy, account.relationship_id
        history = self.bookings.get(rid, [])
        quarter_start = self.as_of - timedelta(days=p.quarter_days)
        before = [b for b in history if b.booked_at <= quarter_start]
        recent = [b for b in history if b.booked_at > quarter_start]
        if len(before) < p.trend_bookings:
            return []
        weighed = all(b.weight_kg for b in history)
        unit_en, unit_zh = ("kg", "公斤") if weighed else ("shipments", "票")

        def volume(items: Sequence[BookedShipment]) -> Decimal:
            if weighed:
                return sum((b.weight_kg or Decimal(0) for b in items), Decimal(0))
            return Decimal(len(items))

        span = max((quarter_start - before[0].booked_at).days, p.quarter_days)
        usual = volume(before) * p.quarter_days / span
        if usual <= 0:
            return []
        fall = 1 - volume(recent) / usual
        if fall < p.at_risk_fall:
            return []
        counts = self.bought.get(rid, {})
        main = max(counts, key=lambda o: (counts[o], str(o)), default=None)
        offering = self._offering(main)
        pct = _percent(fall)
        now_v, usual_v = f"{volume(recent):,.0f}", f"{usual:,.0f}"
        keep_en = f"; keep its {offering.name}" if offering else ""
        keep_zh = f"；稳住其{offering.name}业务" if offering else ""
        return [
            Suggestion(
                rid,
                main if offering else None,
                offering.name if offering else None,
                SuggestionKind.AT_RISK_RETENTION,
                _score(Decimal("0.5") + fall / 2),
                f"volume fell {pct}% in the last quarter ({now_v} {unit_en} against "
                f"{usual_v} a quarter before): at risk{keep_en}",
                f"上个季度货量下降{pct}%（{now_v}{unit_zh}，此前每季度{usual_v}{unit_zh}）："
                f"有流失风险{keep_zh}",
            )
        ]

    def lane_upgrades(self, account: BuyerProfile) -> list[Suggestion]:
        p, rid = self.policy, account.relationship_id
        lanes: dict[tuple[str, str, str | None], list[BookedShipment]] = defaultdict(list)
        for b in self.bookings.get(rid, []):
            lanes[(b.origin, b.destination, b.mode)].append(b)
        bought = self.bought.get(rid, {})
        found: list[Suggestion] = []
        for (origin, destination, mode), items in sorted(lanes.items(), key=_lane_order):
            if len(items) < p.regular_bookings or mode is None:
                continue
            gap = (items[-1].booked_at - items[0].booked_at).days / (len(items) - 1)
            every_en, every_zh = _every(gap)
            own = _per_kg(items)
            for o in self.offerings:
                # An offering of the lane's own mode to its destination either is the lane
                # (and so bought) or leaves from elsewhere: no upgrade either way.
                if not o.active or o.offering_id in bought or o.mode == mode:
                    continue
                if not named_in(o.destination, destination):
                    continue
                same_origin = named_in(o.origin, origin)
                score = Decimal("0.55") + (Decimal("0.1") if same_origin else Decimal(0))
                score += Decimal(min(len(items), 12)) / 100
                theirs = _per_kg(b for b in self.on[o.offering_id] if b.customer_id != rid)
                cost_en = cost_zh = ""
                for currency in sorted(set(own) & set(theirs)):
                    saving = 1 - theirs[currency] / own[currency]
                    if saving >= Decimal("0.1"):
                        pct = _percent(saving)
                        cost_en = (
                            f", at {theirs[currency]:.2f} {currency}/kg against its "
                            f"{own[currency]:.2f}: saves {pct}%"
                        )
                        cost_zh = (
                            f"，每公斤{theirs[currency]:.2f} {currency}，"
                            f"较其每公斤{own[currency]:.2f}节省{pct}%"
                        )
                        score += min(saving, Decimal("0.5")) / 2
                        break
                lane_en = f"{place(origin)}→{place(destination)} {mode}"
                lane_zh = f"{place(origin)}→{place(destination)}{MODE_ZH.get(mode, mode)}"
                how_en = f"{o.mode}, {o.service_level.replace('_', ' ')}, {o.transit_days} days"
                how_zh = f"{MODE_ZH.get(o.mode, o.mode)}，{o.transit_days}天"
                found.append(
                    Suggestion(
                        rid,
                        o.offering_id,
                        o.name,
                        SuggestionKind.LANE_UPGRADE,
                        _score(score),
                        f"ships {lane_en} {every_en} with us ({_shipments(len(items))}); "
                        f"{o.name} serves {place(o.destination)} ({how_en}){cost_en}",
                        f"{every_zh}经我司{lane_zh}（{len(items)}票）；{o.name}同样送达"
                        f"{place(o.destination)}（{how_zh}）{cost_zh}",
                    )
                )
        return found

    def peer_adoptions(self, account: BuyerProfile) -> list[Suggestion]:
        p, rid = self.policy, account.relationship_id
        peers = [
            a
            for a in self.accounts.values()
            if a.relationship_id != rid
            and a.kind == "customer"
            and a.industry == account.industry
            and self.bought.get(a.relationship_id)
        ]
        regional = [a for a in peers if a.region == account.region]
        where_en = f"in {account.region}"
        where_zh = f"{REGION_ZH.get(account.region, account.region)}地区"
        if len(regional) >= p.regional_peers:
            peers = regional
        else:
            where_en, where_zh = "across regions", "各地区"
        if not peers:
            return []
        industry_zh = INDUSTRY_ZH.get(account.industry, account.industry)
        bought = self.bought.get(rid, {})
        found: list[Suggestion] = []
        for o in self.offerings:
            if not o.active or o.offering_id in bought:
                continue
            users = sum(1 for a in peers if o.offering_id in self.bought[a.relationship_id])
            share = Decimal(users) / len(peers)
            if users == 0 or share < p.peer_share:
                continue
            found.append(
                Suggestion(
                    rid,
                    o.offering_id,
                    o.name,
                    SuggestionKind.PEER_ADOPTION,
                    _score(Decimal("0.3") + share / 2),
                    f"{users} of {len(peers)} {account.industry} customers {where_en} "
                    f"also use {o.name}",
                    f"{where_zh}{len(peers)}家{industry_zh}行业客户中有{users}家也在使用{o.name}",
                )
            )
        return found

    def cross_sells(self, account: BuyerProfile) -> list[Suggestion]:
        rid = account.relationship_id
        history = self.bookings.get(rid, [])
        bought = self.bought.get(rid, {})
        found: list[Suggestion] = []
        for o in self.offerings:
            if not o.active or o.offering_id in bought:
                continue
            origin = [b for b in history if named_in(o.origin, b.origin)]
            if not origin or any(named_in(o.destination, b.destination) for b in history):
                continue
            found.append(
                Suggestion(
                    rid,
                    o.offering_id,
                    o.name,
                    SuggestionKind.CROSS_SELL,
                    _score(Decimal("0.2") + Decimal(min(len(origin), 10)) / 100),
                    f"ships from {o.origin} with us ({_shipments(len(origin))}); {o.name} "
                    f"leaves from there for {o.destination}",
                    f"经我司从{o.origin}发货（{len(origin)}票）；{o.name}由此发往{o.destination}",
                )
            )
        return found

    # --- helpers -----------------------------------------------------------------------

    def _offering(self, offering_id: UUID | None) -> CatalogueOffering | None:
        return next((o for o in self.offerings if o.offering_id == offering_id), None)

    def popular(self) -> list[UUID]:
        """The offerings by how many relationships bought them, most first: the baseline
        a suggestion is measured against."""
        counts: dict[UUID, int] = defaultdict(int)
        for items in self.bought.values():
            for oid in items:
                counts[oid] += 1
        return sorted(counts, key=lambda o: (-counts[o], str(o)))


def _lane_order(item: tuple[tuple[str, str, str | None], list[BookedShipment]]) -> tuple[int, str]:
    (origin, destination, mode), items = item
    return (-len(items), f"{origin}|{destination}|{mode}")


def merge(found: Iterable[Suggestion]) -> list[Suggestion]:
    """One suggestion per offering (the at-risk one without an offering stays apart): the
    strongest reason's kind and words, the score of all reasons together."""
    by_offering: dict[UUID | None, list[Suggestion]] = defaultdict(list)
    for s in found:
        by_offering[s.offering_id].append(s)
    merged: list[Suggestion] = []
    for items in by_offering.values():
        items.sort(key=lambda s: (-s.score, s.kind.value))
        miss = Decimal(1)
        for s in items:
            miss *= 1 - s.score
        best = items[0]
        merged.append(
            Suggestion(
                best.relationship_id,
                best.offering_id,
                best.offering_name,
                best.kind,
                _score(1 - miss),
                best.reason_en,
                best.reason_zh,
            )
        )
    merged.sort(key=lambda s: (-s.score, s.offering_name or "", str(s.offering_id)))
    return merged
