"""The routes our customers ship on: the goods each carries and the chain of links from
pickup to delivery, each link performed by one of our branches or a partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from domain.cargo_conditions import CargoConditions, DangerousGoods
from domain.liability import TransportMode
from domain.shipment import LinkFunction
from interface.demo.catalogue import AIR, RAIL, ROAD, SEA

#: No shipment is booked earlier than this many days ago: every partner exists by then.
FIRST_BOOKING_DAYS_AGO = 330


@dataclass(frozen=True)
class Leg:
    """A link of a route: its function, who performs it and its planned hours."""

    function: LinkFunction
    #: A branch code (one of our branches) or an org key (a partner).
    party: str
    hours: int
    mode: TransportMode | None = None


class Delay(NamedTuple):
    """A link that runs ``hours`` late, and why (None: a reason typical of its mode)."""

    sequence: int
    hours: int
    reason: str | None = None


@dataclass(frozen=True)
class Goods:
    zh: str
    en: str
    unit_zh: str
    unit_en: str
    packages: tuple[int, int]
    kg_per_package: tuple[int, int]
    value_per_kg: tuple[int, int]
    #: Their special character and storage conditions (货物特殊性/储存条件), if any.
    conditions: CargoConditions | None = None


@dataclass(frozen=True)
class Route:
    origin: str
    destination: str
    legs: tuple[Leg, ...]
    goods: Goods
    #: Days between two bookings, on average.
    every: int
    currency: str = "USD"
    #: The branch whose office runs the origin side; default the customer's branch.
    ops: str | None = None


ELECTRONICS = Goods(
    "笔记本电脑及配件",
    "laptop computers and accessories",
    "箱",
    "cartons",
    (40, 160),
    (12, 18),
    (250, 380),
)
MODULES = Goods("通信模组", "telecom modules", "箱", "cartons", (30, 120), (10, 16), (300, 500))
OPTICS = Goods(
    "光电元器件",
    "optoelectronic components",
    "箱",
    "cartons",
    (10, 40),
    (8, 12),
    (400, 700),
    CargoConditions.of(fragile=True),
)
BATTERIES = Goods(
    "智能设备（含锂电池）",
    "smart devices with lithium batteries",
    "箱",
    "cartons",
    (20, 80),
    (10, 15),
    (150, 260),
    # Lithium ion batteries packed with equipment.
    CargoConditions.of(dangerous_goods=DangerousGoods.of("3481", "9")),
)
MEDICAL = Goods(
    "医疗器械",
    "medical devices",
    "箱",
    "cartons",
    (10, 40),
    (15, 25),
    (300, 600),
    CargoConditions.of(fragile=True, high_value=True),
)
PHARMA = Goods(
    "冷链药品（2–8℃）",
    "pharmaceuticals (2–8 °C)",
    "保温箱",
    "insulated boxes",
    (8, 30),
    (20, 30),
    (900, 1600),
    CargoConditions.of(temperature_min_c=Decimal(2), temperature_max_c=Decimal(8)),
)
AUTO = Goods("汽车零部件", "automotive components", "托", "pallets", (20, 40), (400, 700), (8, 15))
MOULDS = Goods("精密模具", "precision moulds", "木箱", "crates", (4, 12), (800, 1500), (15, 30))
MACHINERY = Goods(
    "工程机械部件", "construction machinery parts", "木箱", "crates", (6, 20), (1200, 3000), (6, 12)
)
APPAREL = Goods("服装", "garments", "箱", "cartons", (200, 600), (8, 14), (12, 25))
CHEMICALS = Goods(
    "化工原料（非危险品）", "chemicals (non-hazardous)", "桶", "drums", (60, 80), (220, 260), (2, 4)
)
HOMEWARE = Goods("家居用品", "home goods", "箱", "cartons", (300, 900), (6, 12), (8, 15))
PARCELS = Goods("跨境电商小包", "e-commerce parcels", "袋", "bags", (40, 120), (10, 20), (20, 40))


def export(
    pickup: str,
    customs: str,
    carrier: str,
    mode: TransportMode,
    hours: int,
    *,
    cfs: str | None = None,
    pickup_hours: int = 8,
    customs_hours: int = 24,
) -> tuple[Leg, ...]:
    """Door to port or airport of destination; ``cfs``: a warehouse consolidates first."""
    return (
        Leg(LinkFunction.PICKUP, pickup, pickup_hours, ROAD),
        *((Leg(LinkFunction.WAREHOUSING, cfs, 48),) if cfs else ()),
        Leg(LinkFunction.EXPORT_CUSTOMS, customs, customs_hours),
        Leg(LinkFunction.MAIN_CARRIAGE, carrier, hours, mode),
    )


def into_the_midwest(
    broker: str, customs_hours: int, delivery_hours: int, *, warehouse: bool = False
) -> tuple[Leg, ...]:
    """Import customs by ``broker`` and delivery by our Chicago agent; ``warehouse``: the
    goods wait at the O'Hare warehouse in between."""
    return (
        Leg(LinkFunction.IMPORT_CUSTOMS, broker, customs_hours),
        *((Leg(LinkFunction.WAREHOUSING, "ohare_handling", 24),) if warehouse else ()),
        Leg(LinkFunction.DELIVERY, "great_lakes", delivery_hours, ROAD),
    )


def air_to_chicago(
    origin_branch: str, airline: str, broker: str, *, warehouse: bool
) -> tuple[Leg, ...]:
    """Door to door: pickup and export customs by our branch, the airline to O'Hare."""
    return (
        *export(origin_branch, origin_branch, airline, AIR, 30, pickup_hours=6, customs_hours=18),
        *into_the_midwest(broker, 24, 12, warehouse=warehouse),
    )


#: Each customer's main route with us (see ``Org.lane``).
ROUTES: dict[str, Route] = {
    # The seed case's customer: pickup and export customs by our Suzhou branch, the partner
    # airline from Pudong, our Chicago agent for import customs and delivery, the O'Hare
    # warehouse in between.
    "huaxin": Route("Suzhou Industrial Park, CN", "Chicago, IL, US",
                    air_to_chicago("SZV", "shenhang", "great_lakes", warehouse=True),
                    ELECTRONICS, every=60),
    "prairie": Route("Suzhou Industrial Park, CN", "Elk Grove Village, IL, US",
                     air_to_chicago("SZV", "shenhang", "midwest_customs", warehouse=True),
                     ELECTRONICS, every=75, ops="SZV"),
    "antai": Route("Zhangjiang Hi-Tech Park, Shanghai, CN", "Chicago, IL, US",
                   air_to_chicago("SHA", "shenhang", "midwest_customs", warehouse=False),
                   PHARMA, every=54),
    "hongxun": Route("Nanshan, Shenzhen, CN", "Schaumburg, IL, US",
                     (*export("SZX", "qianhai", "victoria", AIR, 28, pickup_hours=6,
                              customs_hours=12),
                      *into_the_midwest("midwest_customs", 20, 10)),
                     MODULES, every=60),
    "borui": Route("Suzhou Industrial Park, CN", "Frankfurt Airport, DE",
                   export("SZV", "tongguanbao", "shenhang", AIR, 26), MEDICAL, every=90,
                   currency="EUR"),
    "xinrui": Route("Suzhou New District, CN", "Incheon Airport, KR",
                    export("shunda", "tongguanbao", "shenhang", AIR, 8), OPTICS, every=75),
    "youpin": Route("Qingpu, Shanghai, CN", "London Heathrow, GB",
                    export("SHA", "hutong", "shenhang", AIR, 24), PARCELS, every=45),
    "jiguang": Route("Bao'an, Shenzhen, CN", "Amsterdam Schiphol, NL",
                     export("SZX", "qianhai", "victoria", AIR, 26), BATTERIES, every=75,
                     currency="EUR"),
    "sugou": Route("Longhua, Shenzhen, CN", "Los Angeles, CA, US",
                   export("SZX", "qianhai", "victoria", AIR, 22), PARCELS, every=45),
    "kangning": Route("Daxing, Beijing, CN", "Boston Logan, MA, US",
                      export("BJS", "BJS", "shenhang", AIR, 28), PHARMA, every=67),
    "jinghua": Route("Chaoyang, Beijing, CN", "Milan Malpensa, IT",
                     export("BJS", "BJS", "shenhang", AIR, 24), APPAREL, every=75,
                     currency="EUR"),
    "kessler": Route("Taicang, CN", "Hamburg, DE", export("shunda", "SZV", "meridian", SEA, 816),
                     AUTO, every=60, currency="EUR"),
    "kunshan_mould": Route("Kunshan, CN", "Ho Chi Minh City, VN",
                           export("shunda", "tongguanbao", "meridian", SEA, 192), MOULDS,
                           every=90),
    "wujiang_silk": Route("Wujiang, Suzhou, CN", "Long Beach, CA, US",
                          export("shunda", "hutong", "meridian", SEA, 384, cfs="gangcheng"),
                          APPAREL, every=75),
    "hongyuan_chem": Route("Zhangjiagang, CN", "Rotterdam, NL",
                           export("shunda", "hutong", "meridian", SEA, 768), CHEMICALS,
                           every=90, currency="EUR"),
    "jincheng": Route("Taicang, CN", "Detroit, MI, US",
                      (*export("shunda", "hutong", "meridian", SEA, 432),
                       *into_the_midwest("midwest_customs", 48, 40)),
                      AUTO, every=67),
    "lumina": Route("Minhang, Shanghai, CN", "Long Beach, CA, US",
                    export("SHA", "hutong", "meridian", SEA, 384), HOMEWARE, every=60),
    "orient_fashion": Route("Songjiang, Shanghai, CN", "Rotterdam, NL",
                            export("SHA", "hutong", "meridian", SEA, 768, cfs="gangcheng"),
                            APPAREL, every=75, currency="EUR"),
    "meijia": Route("Dongguan, CN", "Long Beach, CA, US",
                    export("SZX", "qianhai", "south_sea", SEA, 384), APPAREL, every=67),
    "binhai": Route("Binhai New Area, Tianjin, CN", "Hamburg, DE",
                    export("BJS", "BJS", "meridian", SEA, 840), MACHINERY, every=105,
                    currency="EUR"),
    "zhixing": Route("Wuqing, Tianjin, CN", "Duisburg, DE",
                     export("BJS", "BJS", "beifang_rail", RAIL, 384, cfs="dongjiang"), AUTO,
                     every=67, currency="EUR"),
    "heartland": Route("Ningbo, CN", "Chicago, IL, US",
                       (*export("SHA", "hutong", "meridian", SEA, 480, pickup_hours=10),
                        *into_the_midwest("midwest_customs", 48, 40)),
                       AUTO, every=75, ops="SHA"),
}  # fmt: skip


#: The routes of the special cargo's shipments (``stories.cargo``), which show the seed's
#: other functions of logistics: loading/unloading (装卸), handling (搬运) and logistics
#: information (物流信息), a link that never holds the goods.
#:
#: Cold chain, Shanghai to Chicago: our Shanghai office files the e-AWB and feeds the
#: temperature data to the airline (logistics information) and builds the cold ULDs at
#: Pudong (loading); the O'Hare handlers keep the boxes in their cold room (handling).
COLD_CHAIN_ROUTE = Route(
    "Zhangjiang Hi-Tech Park, Shanghai, CN",
    "Chicago, IL, US",
    (
        Leg(LinkFunction.PICKUP, "SHA", 6, ROAD),
        Leg(LinkFunction.EXPORT_CUSTOMS, "SHA", 18),
        Leg(LinkFunction.LOGISTICS_INFORMATION, "SHA", 4),
        Leg(LinkFunction.LOADING_UNLOADING, "SHA", 6),
        Leg(LinkFunction.MAIN_CARRIAGE, "shenhang", 30, AIR),
        Leg(LinkFunction.IMPORT_CUSTOMS, "midwest_customs", 24),
        Leg(LinkFunction.HANDLING, "ohare_handling", 12),
        Leg(LinkFunction.DELIVERY, "great_lakes", 12, ROAD),
    ),
    PHARMA,
    every=54,
)
#: Dangerous goods, Shenzhen to Amsterdam: our Shenzhen branch loads the batteries into
#: the airline's ULDs after the dangerous-goods acceptance check.
DANGEROUS_GOODS_ROUTE = Route(
    "Bao'an, Shenzhen, CN",
    "Amsterdam Schiphol, NL",
    (
        Leg(LinkFunction.PICKUP, "SZX", 6, ROAD),
        Leg(LinkFunction.EXPORT_CUSTOMS, "qianhai", 12),
        Leg(LinkFunction.LOADING_UNLOADING, "SZX", 6),
        Leg(LinkFunction.MAIN_CARRIAGE, "victoria", 26, AIR),
    ),
    BATTERIES,
    every=75,
    currency="EUR",
)
#: Fragile, high-value medical devices, Suzhou to Frankfurt: our Suzhou branch moves the
#: sealed crates through its cross-dock by hand (handling) and sends the pre-alert with the
#: seal numbers (logistics information).
FRAGILE_ROUTE = Route(
    "Suzhou Industrial Park, CN",
    "Frankfurt Airport, DE",
    (
        Leg(LinkFunction.PICKUP, "SZV", 8, ROAD),
        Leg(LinkFunction.HANDLING, "SZV", 8),
        Leg(LinkFunction.LOGISTICS_INFORMATION, "SZV", 4),
        Leg(LinkFunction.EXPORT_CUSTOMS, "tongguanbao", 24),
        Leg(LinkFunction.MAIN_CARRIAGE, "shenhang", 26, AIR),
    ),
    MEDICAL,
    every=90,
    currency="EUR",
)
