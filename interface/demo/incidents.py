"""The incidents told in full, one shipment each: what went wrong on which link, the
customer's complaint, who answered for it, the claim, the recovery from the party at fault,
and how far each has got by the time of loading. Only data: ``stories.incidents`` tells
them, all in the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import Enum
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.liability import LiabilityRegime
from domain.service_case import CaseKind, Priority
from domain.shipment import Cargo, Condition, IncidentKind, ResponsibilityBasis
from interface.demo.routes import Delay
from interface.demo.wording import CaseTemplate

#: The seed case: an electronics maker's air export from Suzhou to Chicago in six links,
#: cartons found damaged at import, the customer compensated in full, recovery from the
#: airline limited to 26 SDR/kg under the Montreal Convention.
SEED_CASE_ID = uuid5(NAMESPACE_URL, "https://fullchain.example/demo/shipments/seed-case")


class Who(Enum):
    """Who issues a step of an incident's story, by their part in it."""

    RECORDING_OFFICE = "the office that records the link where it happened"
    RECORDING_MANAGER = "the manager of that office's branch"
    ACCOUNT_OFFICE = "the office rep of the customer's branch"
    ACCOUNT_MANAGER = "the manager of the customer's branch"
    HEADQUARTERS = "headquarters operations, who arbitrate"


@dataclass(frozen=True)
class Carriage:
    """How the shipment went: the condition in which links received the goods, the
    packages it affected, their remarks, a link that ran late, and the condition at
    delivery with the packages it affected and its note."""

    conditions: Mapping[int, Condition] = field(default_factory=dict)
    packages_affected: Mapping[int, int] = field(default_factory=dict)
    remarks: Mapping[int, str] = field(default_factory=dict)
    delay: Delay | None = None
    delivered: tuple[Condition, str | None] = (Condition.GOOD, None)
    delivered_packages_affected: int | None = None


@dataclass(frozen=True)
class Incident:
    """What happened, on which link, and when it was found: ``found_after`` the link
    received the goods (after delivery, ``at_delivery``)."""

    link_sequence: int
    kind: IncidentKind
    description: str
    found_after: timedelta
    at_delivery: bool = False
    packages_affected: int | None = None
    #: The weight affected, when it is known exactly; else that of the packages affected.
    weight_affected_kg: Decimal | None = None


@dataclass(frozen=True)
class Coordination:
    """An action taken on the incident, ``after`` it was found."""

    after: timedelta
    by: Who
    action: str


@dataclass(frozen=True)
class Responsibility:
    """Responsibility assigned ``assigned_after`` the incident was found (to a link named
    on a basis, or as the custody history proposes), then accepted or disputed by the
    party, ``answered_after`` it was found; a dispute perhaps arbitrated by headquarters."""

    assigned_after: timedelta
    answered_after: timedelta
    #: The party's note on accepting, or its reason for disputing.
    answer: str
    accepted: bool
    assigned_by: Who = Who.ACCOUNT_MANAGER
    link_sequence: int | None = None
    basis: ResponsibilityBasis | None = None
    explanation: str | None = None
    #: Headquarters' decision: (after the incident was found, the link, the decision).
    arbitration: tuple[timedelta, int, str] | None = None


@dataclass(frozen=True)
class Recovery:
    """What is recovered from the party at fault: the liability limit under ``regime`` is
    assessed and claimed a day after the customer is paid, and received ``received_after``
    the payment (if it has been by the time of loading); or it is waived for ``waived``."""

    regime: LiabilityRegime | None = None
    received_after: timedelta | None = None
    waived: str | None = None


@dataclass(frozen=True)
class Claim:
    """The customer's claim, filed ``filed_after`` delivery, paid ``paid_after`` it was
    filed (if it has been by the time of loading); recovery; the incident resolved
    ``resolved_after`` the payment and the claim closed an hour later. The resolution may
    name {amount}, {recoverable}, {weight} and {sdr_rate}."""

    amount: Decimal
    filed_after: timedelta
    paid_after: timedelta | None = None
    recovery: Recovery | None = None
    resolved_after: timedelta | None = None
    resolution: str = ""
    closing_note: str = ""


@dataclass(frozen=True)
class ChargeBack:
    """Headquarters charges the partner found responsible back (奖惩), ``after`` the incident
    was found: the partner of link ``link_sequence``, in the cargo's currency."""

    after: timedelta
    link_sequence: int
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class IncidentStory:
    """One shipment of a customer, on its route, and the incident told in full."""

    customer: str
    booked_days_ago: int
    cargo: Cargo
    carriage: Carriage
    incident: Incident
    #: The customer's complaint, a service case late for its SLA (``ongoing``: still open).
    complaint: CaseTemplate
    responsibility: Responsibility
    claim: Claim
    coordination: tuple[Coordination, ...] = ()
    complaint_ongoing: bool = False
    #: The customer's rating, how many days after delivery, and its remarks (or typical).
    evaluation: tuple[int, int, tuple[str, str] | None] | None = None
    shipment_id: UUID | None = None
    #: What headquarters charges the partner found responsible back, if anything.
    charge_back: ChargeBack | None = None


#: The incidents told in full, in the order they are planned.
INCIDENTS: tuple[IncidentStory, ...] = (
    # The seed case. Laptops from Suzhou to Chicago: 8 of 96 cartons crushed on arrival at
    # O'Hare; the airline handed them over damaged (no link is named: the custody history
    # proposes it) and accepts; we compensate the customer in full and recover from the
    # airline only up to the Montreal Convention's 26 SDR/kg.
    IncidentStory(
        customer="huaxin",
        booked_days_ago=150,
        shipment_id=SEED_CASE_ID,
        cargo=Cargo("笔记本电脑，96箱", 96, Decimal("1440"), Decimal("432000"), "USD"),
        carriage=Carriage(
            conditions={4: Condition.DAMAGED, 5: Condition.DAMAGED, 6: Condition.DAMAGED},
            packages_affected={4: 8, 5: 8, 6: 8},
            remarks={
                4: "8 cartons crushed, contents rattling; noted on the airline's cargo manifest"
            },
            delivered=(Condition.DAMAGED, "88 cartons good, 8 crushed as noted at import"),
            delivered_packages_affected=8,
        ),
        incident=Incident(
            link_sequence=4,
            kind=IncidentKind.DAMAGE,
            description="8 of 96 cartons of laptops crushed on arrival at ORD, contents "
            "rattling; the airline's handover noted the damage.",
            found_after=timedelta(minutes=40),
            packages_affected=8,
            weight_affected_kg=Decimal("120"),
        ),
        complaint=CaseTemplate(
            CaseKind.COMPLAINT,
            Priority.HIGH,
            ("到货破损8箱", "8 cartons crushed on arrival"),
            (
                "芝加哥收货时8箱笔记本电脑外箱压损，客户要求赔偿并补发。",
                "8 cartons of laptops crushed on arrival in Chicago; the customer claims and "
                "wants replacements.",
            ),
            (
                "全额赔付，替换品已随下一班航班发运。",
                "Compensated in full; replacements flown on the next flight.",
            ),
        ),
        coordination=(
            Coordination(
                timedelta(hours=1),
                Who.RECORDING_OFFICE,
                "Photos taken; damage report requested from the airline's ORD cargo terminal; "
                "the 8 cartons set aside for survey.",
            ),
            Coordination(
                timedelta(hours=3),
                Who.ACCOUNT_OFFICE,
                "已通知客户；从苏州库存调拨8箱替换品，安排下一班航班发运。",
            ),
        ),
        responsibility=Responsibility(
            assigned_after=timedelta(hours=5),
            answered_after=timedelta(days=4),
            accepted=True,
            answer="申航货运理赔部来函确认：交接时外箱已压损，接受责任。",
        ),
        claim=Claim(
            amount=Decimal("36000"),
            filed_after=timedelta(days=3, hours=2),
            paid_after=timedelta(days=9),
            recovery=Recovery(LiabilityRegime.MONTREAL, received_after=timedelta(days=35)),
            resolved_after=timedelta(days=36),
            resolution="客户获全额赔付 USD {amount:,}；按蒙特利尔公约（26 SDR/kg × {weight} kg，"
            "1 SDR = {sdr_rate} USD）向申航追偿 USD {recoverable:,}，已到账。",
            closing_note="全额赔付客户，向承运人追偿至公约限额，结案。",
        ),
        evaluation=(
            3,
            5,
            ("时效满意；8箱破损，但赔付及时。", "On time; 8 cartons damaged, compensated at once."),
        ),
        # Beyond the Convention's limit, the airline's service agreement with us: the
        # replacements flown on the next flight are charged back once it has accepted.
        charge_back=ChargeBack(
            after=timedelta(days=6),
            link_sequence=3,
            amount=Decimal("1850.00"),
            reason="按服务协议扣款：8箱替换品次班航班加急运费，申航已接受责任。",
        ),
    ),
    # A delay the airline disputes: headquarters finds our own pickup late, so we compensate
    # the customer and have no one to recover from.
    IncidentStory(
        customer="hongxun",
        booked_days_ago=200,
        cargo=Cargo("通信模组，60箱", 60, Decimal("780"), Decimal("312000"), "USD"),
        carriage=Carriage(delay=Delay(3, 24, "货物未赶上原订香港—芝加哥货机，改配次日航班。")),
        incident=Incident(
            link_sequence=3,
            kind=IncidentKind.DELAY,
            description="货物未赶上原订香港—芝加哥货机，晚到一天；客户芝加哥工厂等料。",
            found_after=timedelta(hours=2),
        ),
        complaint=CaseTemplate(
            CaseKind.COMPLAINT,
            Priority.URGENT,
            ("货物未赶上航班，产线待料", "Missed flight, line down"),
            (
                "通信模组晚到一天，客户芝加哥工厂停线等料。",
                "Modules a day late; the customer's Chicago plant stopped the line.",
            ),
            (
                "改配次日航班，已到厂；延误损失按协议赔付。",
                "Rebooked on the next flight and delivered; the delay compensated per agreement.",
            ),
        ),
        responsibility=Responsibility(
            assigned_after=timedelta(hours=1),
            answered_after=timedelta(days=1),
            accepted=False,
            answer="Victoria Harbour 回函：货物23:40才交到香港机场货站，晚于22:00截载，"
            "航班准点起飞，不接受责任。",
            arbitration=(
                timedelta(days=5),
                1,
                "总部仲裁：货站收货记录（23:40）与车辆GPS显示，深圳提货车晚离厂3小时，"
                "航空公司按时起飞。责任在第1段（深圳分公司提货）。",
            ),
        ),
        claim=Claim(
            amount=Decimal("6800"),
            filed_after=timedelta(days=2, hours=1),
            paid_after=timedelta(days=7),
            resolved_after=timedelta(days=1),
            resolution="已全额赔付客户加急及停线费用；责任在我司提货环节，无可追偿。"
            "香港航班提货改为截载前5小时离厂。",
            closing_note="我司自身环节责任，不追偿，结案。",
        ),
        evaluation=(2, 3, None),
    ),
    # Cartons crushed at the O'Hare warehouse: it accepts, we compensate, and recovery under
    # our company terms (5 SDR/kg) is claimed and not yet paid.
    IncidentStory(
        customer="prairie",
        booked_days_ago=40,
        cargo=Cargo(
            "laptop computers and accessories, 120 cartons",
            120,
            Decimal("1800"),
            Decimal("540000"),
            "USD",
        ),
        carriage=Carriage(
            conditions={6: Condition.DAMAGED},
            packages_affected={6: 5},
            remarks={6: "5 cartons crushed, forklift tine marks; photographed at the dock"},
            delivered=(Condition.DAMAGED, "115 cartons good, 5 crushed as noted at pickup"),
            delivered_packages_affected=5,
        ),
        incident=Incident(
            link_sequence=6,
            kind=IncidentKind.DAMAGE,
            description="5 cartons crushed when loaded onto the delivery truck at the O'Hare "
            "warehouse; forklift tine marks on the cartons.",
            found_after=timedelta(minutes=30),
            packages_affected=5,
        ),
        complaint=CaseTemplate(
            CaseKind.COMPLAINT,
            Priority.HIGH,
            ("Forklift damage at the warehouse", "Forklift damage at the warehouse"),
            (
                "5 cartons crushed at the O'Hare warehouse.",
                "5 cartons crushed at the O'Hare warehouse; the customer wants them replaced.",
            ),
            (
                "Compensated; recovery claimed from the warehouse.",
                "Compensated; recovery claimed from the warehouse.",
            ),
        ),
        responsibility=Responsibility(
            assigned_after=timedelta(hours=2),
            answered_after=timedelta(days=3),
            accepted=True,
            answer="O'Hare Cargo Handling accepts under its incident report IR-2291.",
        ),
        claim=Claim(
            amount=Decimal("22500"),
            filed_after=timedelta(days=2, hours=1),
            paid_after=timedelta(days=6),
            recovery=Recovery(LiabilityRegime.COMPANY_TERMS),
        ),
        evaluation=(4, 2, None),
    ),
    # A customs broker's keying error holds the crates two days; we compensate the customer
    # and, for goodwill and a small amount, waive recovery.
    IncidentStory(
        customer="kunshan_mould",
        booked_days_ago=240,
        cargo=Cargo("精密模具，6木箱", 6, Decimal("7200"), Decimal("162000"), "USD"),
        carriage=Carriage(
            delay=Delay(2, 48, "HS编码误报，海关退单重报，货物滞港两天，改配下一班船。")
        ),
        incident=Incident(
            link_sequence=2,
            kind=IncidentKind.DOCUMENTATION_ERROR,
            description="出口报关单HS编码误报为8480.71（应为8466.94），海关退单重报，"
            "货物滞港两天，错过原订船期。",
            found_after=timedelta(hours=6),
        ),
        complaint=CaseTemplate(
            CaseKind.COMPLAINT,
            Priority.NORMAL,
            ("报关差错导致滞港", "Customs error held the crates"),
            ("HS编码误报，模具滞港两天。", "A wrong HS code held the moulds two days at port."),
            (
                "已重报放行，滞港费由我司承担。",
                "Re-declared and released; we bear the port charges.",
            ),
        ),
        responsibility=Responsibility(
            assigned_after=timedelta(hours=3),
            link_sequence=2,
            basis=ResponsibilityBasis.INVESTIGATION,
            explanation="报关由通关宝申报；客户发票和品名清单编码正确，差错发生在录入环节。",
            answered_after=timedelta(days=1),
            accepted=True,
            answer="通关宝确认录入差错，接受责任。",
        ),
        claim=Claim(
            amount=Decimal("860"),
            filed_after=timedelta(days=3, hours=2),
            paid_after=timedelta(days=5),
            recovery=Recovery(
                waived="通关宝三年来首次差错，合作良好；USD 860 低于追偿成本。"
                "改为新品HS编码双人复核。"
            ),
            resolved_after=timedelta(days=1, hours=1),
            resolution="已赔付客户额外港杂及改船费用；放弃向通关宝追偿。",
            closing_note="赔付完毕，放弃追偿，结案。",
        ),
        evaluation=(3, 4, None),
    ),
    # Two crates short at Hamburg: the ocean line accepts; recovery under the Hague-Visby
    # Rules (the higher of 666.67 SDR per package and 2 SDR/kg) is received.
    IncidentStory(
        customer="binhai",
        booked_days_ago=280,
        cargo=Cargo("工程机械部件，12木箱", 12, Decimal("24000"), Decimal("216000"), "EUR"),
        carriage=Carriage(
            delivered=(
                Condition.SHORT,
                "2 of 12 crates missing against the packing list; noted on the terminal tally",
            ),
            delivered_packages_affected=2,
        ),
        incident=Incident(
            link_sequence=3,
            kind=IncidentKind.SHORTAGE,
            description="汉堡卸船理货短少2木箱；天津装船理货记录显示已装船。",
            found_after=timedelta(hours=3),
            at_delivery=True,
            packages_affected=2,
        ),
        complaint=CaseTemplate(
            CaseKind.COMPLAINT,
            Priority.HIGH,
            ("汉堡到货短少2箱", "2 crates short at Hamburg"),
            ("收货时对照装箱单少了2个木箱。", "2 crates missing against the packing list."),
            (
                "船公司确认短卸，客户获赔。",
                "The line confirmed the short landing; the customer is compensated.",
            ),
        ),
        responsibility=Responsibility(
            assigned_after=timedelta(hours=2),
            answered_after=timedelta(days=10),
            accepted=True,
            answer="Meridian Ocean Line 确认短卸且未能找回，接受责任。",
        ),
        claim=Claim(
            amount=Decimal("36000"),
            filed_after=timedelta(days=2, hours=2),
            paid_after=timedelta(days=12),
            recovery=Recovery(LiabilityRegime.HAGUE_VISBY, received_after=timedelta(days=48)),
            resolved_after=timedelta(days=49),
            resolution="客户获全额赔付 EUR {amount:,}；按海牙—维斯比规则向船公司追偿"
            " EUR {recoverable:,}，已到账。",
            closing_note="赔付并追偿完毕，结案。",
        ),
        evaluation=(3, 6, None),
    ),
    # This week: insulated boxes arrive at O'Hare too warm; the airline disputes that it was
    # at fault, and the dispute awaits headquarters' arbitration.
    IncidentStory(
        customer="antai",
        booked_days_ago=7,
        cargo=Cargo("冷链药品（2–8℃），20保温箱", 20, Decimal("500"), Decimal("600000"), "USD"),
        carriage=Carriage(
            conditions={4: Condition.DAMAGED, 5: Condition.DAMAGED},
            packages_affected={4: 6, 5: 6},
            remarks={4: "Loggers in 6 boxes show 9–11 °C; boxes quarantined"},
            delivered=(Condition.DAMAGED, "6 boxes quarantined pending QA release"),
            delivered_packages_affected=6,
        ),
        incident=Incident(
            link_sequence=4,
            kind=IncidentKind.DAMAGE,
            description="Temperature excursion: loggers in 6 of 20 boxes recorded 9–11 °C for "
            "about 5 hours; the consignee quarantines them.",
            found_after=timedelta(hours=1),
            packages_affected=6,
        ),
        complaint=CaseTemplate(
            CaseKind.COMPLAINT,
            Priority.URGENT,
            ("冷链药品温度超标", "Temperature excursion"),
            (
                "6个保温箱记录仪显示9–11℃，货物隔离待质检放行。",
                "Loggers in 6 boxes show 9–11 °C; the goods are quarantined pending QA release.",
            ),
            ("质检放行4箱，2箱报废并已理赔。", "QA released 4 boxes; 2 destroyed and claimed."),
        ),
        complaint_ongoing=True,
        responsibility=Responsibility(
            assigned_after=timedelta(hours=3),
            assigned_by=Who.RECORDING_MANAGER,
            answered_after=timedelta(days=1),
            accepted=False,
            answer="申航回函：温度记录显示超温始于浦东冷库交接之前，交接时箱温已达9℃，不接受责任。",
        ),
        claim=Claim(amount=Decimal("180000"), filed_after=timedelta(hours=20)),
    ),
)
