"""The demo data set: a year in the life of a freight forwarder's customer relationships.

Five branches (分支店) in four regions, about sixty relationships of every kind — the
customers a branch works for, the prospects and targets it pursues, the airlines, ocean
lines, agents, customs brokers and bonded warehouses it works with, and the forwarders it
competes against — each with its account team (a field rep 外勤 and an office rep 内勤),
contacts, interactions, customer care and the lifecycle a real year brings: prospects
qualified, first business booked, customers going dormant, lost to a competitor and won
back, key accounts designated, an account moving to another branch.

And the shipments the customers book on their routes while they do business with us, each
a chain of links performed by our branches and the partners: most delivered and evaluated,
some still on their way, a few late, two cancelled, and a handful of incidents told in full
— the seed case (laptops from Suzhou to Chicago, cartons crushed at import, the customer
compensated in full, recovery from the airline limited to 26 SDR/kg), a delay that
headquarters arbitrates, recoveries claimed, received and waived, a dispute that awaits
headquarters. Nothing of a shipment is loaded that would lie after the time of loading.

And what we sell, and how we serve: the catalogue of service offerings (sixteen lanes, terms
revised, the dangerous-goods lane suspended for the winter and resumed); the year's
opportunities with customers, prospects and targets, taken stage by stage against the
competitors — won (a prospect's or target's first win makes it a customer), lost on price or
to no decision, or still open at every stage —; what we know of each competitor; service
cases of every kind and priority, answered and resolved mostly in time, some late, some
escalated or reopened, most rated, this week's still open and some already past due; and
each shipment's charges, quoted with the booking (air freight at 4–8 a kilogram, sea and rail
by the container) and invoiced.

Everything is loaded through the application service, one command at a time, exactly as
staff would issue it: each command carries the staff member who issued it and the business
time it happened (weekday office hours in the branch's time zone; portal bookings and
messages also at weekends and in the evening), and the commands are applied in the order
of those times, so the log reads like the year it records. Commands that belong together
(a registration and its set-up, a complaint and its follow-up, a customer's notice and the
loss it leads to, everything that happens to one shipment) share a correlation id.

The same seed and the same day of loading give the same history: every id, time and text
comes from seeded random generators — one for the relationships and shipments, one for sales,
service and charges — and times count back from the day of loading.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from application.service import CommandResult, Fullchain, NotFound
from domain.base import CommandContext
from domain.liability import CENT, LiabilityRegime, TransportMode, liability_limit
from domain.offering import Lane, ServiceLevel
from domain.opportunity import STAGES, LossReason, OpportunityStatus, Stage
from domain.relationship import CareActionKind, Channel, Direction, RelationshipKind
from domain.service_case import DEFAULT_SLA_POLICY, CaseKind, CaseStatus, Priority
from domain.shipment import (
    Cargo,
    Charges,
    Condition,
    IncidentKind,
    LinkFunction,
    LinkPlan,
    Party,
    ResponsibilityBasis,
    ShipmentStatus,
)
from domain.staff import Role
from interface.runtime import Services

#: The seed of the demo history.
SEED = 20_240_517

#: Advisory lock held while loading, so two processes never load the demo at once.
LOAD_LOCK = 7_303_000_001

#: Headquarters key-account management (总部大客户部), who designates key accounts.
HQ_KEY_ACCOUNTS = "qian.lin"

#: The staff member `demo_token` issues a token for: headquarters, who sees every branch.
DEMO_EXPLORER = ("qian.lin", "Qian Lin 钱琳 (headquarters)")

#: The demo's auditor.
DEMO_AUDITOR = "gao.min"


def _zone(name: str, utc_offset_hours: int) -> tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # no time-zone database: a fixed offset will do
        return timezone(timedelta(hours=utc_offset_hours))


CHINA = _zone("Asia/Shanghai", 8)
CHICAGO = _zone("America/Chicago", -6)


# --- branches and staff ------------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    region: str
    zone: tzinfo
    manager: str
    field_reps: tuple[str, ...]
    office_reps: tuple[str, ...]
    #: Country and area code of the branch's landlines.
    phone_prefix: str
    english: bool = False


BRANCHES: dict[str, Branch] = {
    b.code: b
    for b in (
        Branch(
            "SZV", "Suzhou 苏州分公司", "East China", CHINA,
            manager="zhou.hui", field_reps=("li.wei", "wu.gang"), office_reps=("zhang.min",),
            phone_prefix="+86 512",
        ),
        Branch(
            "SHA", "Shanghai 上海分公司", "East China", CHINA,
            manager="xu.jun", field_reps=("chen.jing", "liu.yang"), office_reps=("wang.fang",),
            phone_prefix="+86 21",
        ),
        Branch(
            "SZX", "Shenzhen 深圳分公司", "South China", CHINA,
            manager="huang.lei", field_reps=("lin.tao",), office_reps=("he.xiaoli",),
            phone_prefix="+86 755",
        ),
        Branch(
            "BJS", "Beijing 北京分公司", "North China", CHINA,
            manager="zhao.qiang", field_reps=("sun.peng",), office_reps=("ma.li",),
            phone_prefix="+86 10",
        ),
        Branch(
            "CHI", "Chicago Office 芝加哥办事处", "North America", CHICAGO,
            manager="david.chen", field_reps=("sarah.miller",), office_reps=("emily.johnson",),
            phone_prefix="+1 312", english=True,
        ),
    )
}  # fmt: skip


# --- the relationships -------------------------------------------------------------------


class Story(Enum):
    """How a relationship's year goes."""

    CUSTOMER = "an existing customer, active all year"
    DORMANT = "an existing customer that stops shipping and is marked dormant"
    DORMANT_REACTIVATED = "goes dormant, then ships again"
    LOST = "an existing customer lost to a competitor"
    LOST_WON_BACK = "lost to a competitor, then won back"
    WALK_IN = "a prospect who books at once and becomes a customer"
    PROSPECT = "a prospect, not yet qualified"
    QUALIFIED = "a prospect qualified as a target"
    PROSPECT_TO_CUSTOMER = "prospect, qualified as target, first business"
    TARGET = "a target, still pursued"
    TARGET_TO_CUSTOMER = "a target that places its first business"
    TARGET_COLD = "a target whose lead goes cold: back to prospect"
    PARTNER = "a partner: carrier, agent, customs broker or warehouse"
    COMPETITOR = "a competitor"


REGISTERED_KIND = {
    Story.CUSTOMER: RelationshipKind.CUSTOMER,
    Story.DORMANT: RelationshipKind.CUSTOMER,
    Story.DORMANT_REACTIVATED: RelationshipKind.CUSTOMER,
    Story.LOST: RelationshipKind.CUSTOMER,
    Story.LOST_WON_BACK: RelationshipKind.CUSTOMER,
    Story.WALK_IN: RelationshipKind.PROSPECT,
    Story.PROSPECT: RelationshipKind.PROSPECT,
    Story.QUALIFIED: RelationshipKind.PROSPECT,
    Story.PROSPECT_TO_CUSTOMER: RelationshipKind.PROSPECT,
    Story.TARGET: RelationshipKind.TARGET,
    Story.TARGET_TO_CUSTOMER: RelationshipKind.TARGET,
    Story.TARGET_COLD: RelationshipKind.TARGET,
    Story.PARTNER: RelationshipKind.PARTNER,
    Story.COMPETITOR: RelationshipKind.COMPETITOR,
}


class KeyAccount(Enum):
    NO = "no"
    FROM_START = "registered as a key account"
    DESIGNATED = "designated a key account during the year"


@dataclass(frozen=True)
class Org:
    key: str
    name: str
    story: Story
    industry: str
    branch: str
    #: The domain of its e-mail addresses.
    domain: str
    #: Its main lane or service with us, in the language of its summaries.
    lane: str
    english: bool = False
    key_account: KeyAccount = KeyAccount.NO
    contacts: int = 2
    lost_to: str | None = None
    rename_to: str | None = None
    move_to: str | None = None
    #: Its field rep changes during the year.
    handover: bool = False


S = Story
KEY_FROM_START = KeyAccount.FROM_START
KEY_DESIGNATED = KeyAccount.DESIGNATED

ORGS: tuple[Org, ...] = (
    # Suzhou 苏州分公司 — electronics and precision manufacturing around the industrial park
    Org("huaxin", "苏州华芯电子有限公司", S.CUSTOMER, "electronics", "SZV",
        "huaxin-elec.com.cn", "苏州→芝加哥 空运门到门", key_account=KEY_FROM_START, contacts=3),
    Org("kessler", "Kessler Automotive Components (Taicang) Co., Ltd.", S.CUSTOMER,
        "automotive", "SZV", "kessler-automotive.com", "Taicang → Hamburg sea freight, FCL",
        english=True, key_account=KEY_DESIGNATED, contacts=3),
    Org("kunshan_mould", "昆山精密模具厂", S.CUSTOMER, "machinery", "SZV", "ks-mould.cn",
        "昆山→胡志明市 海运整柜", rename_to="昆山精密模具有限公司"),
    Org("borui", "苏州博睿医疗器械有限公司", S.TARGET_TO_CUSTOMER, "medical devices", "SZV",
        "borui-med.com", "苏州→法兰克福 温控空运"),
    Org("wujiang_silk", "吴江丝绸服饰有限公司", S.DORMANT, "apparel", "SZV", "wjsilk.com",
        "上海→洛杉矶 海运拼箱"),
    Org("ruida", "苏州瑞达新材料科技有限公司", S.QUALIFIED, "chemicals", "SZV",
        "ruida-material.cn", "上海→釜山 危险品海运", handover=True),
    Org("hongyuan_chem", "张家港宏远化工有限公司", S.LOST_WON_BACK, "chemicals", "SZV",
        "hongyuan-chem.com", "张家港→鹿特丹 化工品海运", lost_to="jieyun"),
    Org("yunfan", "常熟云帆户外用品有限公司", S.PROSPECT, "apparel", "SZV", "yunfan-outdoor.cn",
        "上海→西雅图 海运整柜", contacts=1),
    Org("xinrui", "苏州新锐光电有限公司", S.WALK_IN, "electronics", "SZV", "xinrui-opto.com",
        "苏州→首尔 空运"),
    Org("sip_bonded", "苏州园区综保物流仓储有限公司", S.PARTNER, "warehousing", "SZV",
        "sip-bonded.com.cn", "综保区保税仓储及分拨"),
    Org("tongguanbao", "苏州通关宝报关有限公司", S.PARTNER, "customs brokerage", "SZV",
        "tongguanbao.cn", "苏州出口报关", contacts=1),
    Org("shunda", "江苏顺达公路运输有限公司", S.PARTNER, "road haulage", "SZV",
        "shunda-trans.cn", "苏州→浦东机场 陆运"),
    # Shanghai 上海分公司 — pharma, automotive, e-commerce; the airlines and ocean lines
    Org("antai", "上海安泰生物制药有限公司", S.CUSTOMER, "pharmaceuticals", "SHA",
        "antai-bio.com", "浦东→芝加哥 温控空运（2–8℃）", key_account=KEY_FROM_START,
        contacts=3),
    Org("jincheng", "上海锦程汽车零部件有限公司", S.CUSTOMER, "automotive", "SHA",
        "jincheng-auto.com", "太仓→底特律 海铁联运", move_to="SZV"),
    Org("lumina", "Lumina Home Goods (Shanghai) Trading Co., Ltd.", S.TARGET_TO_CUSTOMER,
        "e-commerce", "SHA", "luminahome.com", "Shanghai → Los Angeles sea, Amazon FBA delivery",
        english=True),
    Org("youpin", "上海优品跨境电商有限公司", S.LOST, "e-commerce", "SHA", "youpin-global.com",
        "上海→伦敦 跨境电商空运专线", lost_to="globelink"),
    Org("huadong_chem", "上海华东化学品进出口有限公司", S.TARGET, "chemicals", "SHA",
        "hdchem.com.cn", "上海→新加坡 危险品海运"),
    Org("orient_fashion", "Orient Fashion Sourcing Ltd.", S.PROSPECT_TO_CUSTOMER, "apparel",
        "SHA", "orientfashion.com", "Shanghai → Rotterdam sea, buyer's consolidation",
        english=True, handover=True),
    Org("xunchi", "上海迅驰电子商务有限公司", S.PROSPECT, "e-commerce", "SHA", "xunchi.com",
        "上海→东京 跨境小包", contacts=1),
    Org("baina", "上海百纳机械设备有限公司", S.TARGET_COLD, "machinery", "SHA",
        "baina-machinery.com", "上海→迪拜 海运大件"),
    Org("shenhang", "申航国际货运航空有限公司", S.PARTNER, "air cargo", "SHA",
        "shenhang-cargo.com", "浦东→芝加哥 全货机", contacts=3),
    Org("meridian", "Meridian Ocean Line", S.PARTNER, "ocean shipping", "SHA",
        "meridianline.com", "Shanghai → Long Beach weekly service", english=True),
    Org("gangcheng", "上海港城保税仓储有限公司", S.PARTNER, "warehousing", "SHA",
        "gangcheng-bonded.cn", "外高桥保税仓储"),
    Org("hutong", "上海沪通报关有限公司", S.PARTNER, "customs brokerage", "SHA",
        "hutong-customs.cn", "上海进出口报关"),
    Org("jieyun", "上海捷运国际货运代理有限公司", S.COMPETITOR, "freight forwarding", "SHA",
        "jieyun-logistics.com", "上海→欧洲 海运", contacts=1),
    Org("globelink", "GlobeLink Forwarding (Shanghai) Ltd.", S.COMPETITOR, "freight forwarding",
        "SHA", "globelink-fwd.com", "Shanghai → London e-commerce air", english=True,
        contacts=1),
    # Shenzhen 深圳分公司 — electronics, apparel and cross-border e-commerce
    Org("hongxun", "深圳宏讯通信设备有限公司", S.CUSTOMER, "electronics", "SZX",
        "hongxun-tel.com", "深圳→芝加哥 空运", key_account=KEY_DESIGNATED, contacts=3),
    Org("meijia", "东莞美嘉服装有限公司", S.DORMANT_REACTIVATED, "apparel", "SZX",
        "meijia-garment.com", "盐田→洛杉矶 海运整柜"),
    Org("jiguang", "深圳极光智能科技有限公司", S.PROSPECT_TO_CUSTOMER, "electronics", "SZX",
        "jiguang-tech.com", "深圳→阿姆斯特丹 空运（含锂电池）"),
    Org("nanyue", "广州南粤化工有限公司", S.TARGET, "chemicals", "SZX", "nanyue-chem.com",
        "南沙→曼谷 危险品海运"),
    Org("sugou", "深圳速购跨境电商有限公司", S.LOST, "e-commerce", "SZX", "sugou.com",
        "深圳→洛杉矶 电商空派", lost_to="pengcheng"),
    Org("shunde", "佛山顺德家电制造有限公司", S.PROSPECT, "household appliances", "SZX",
        "shunde-appliance.com", "蛇口→悉尼 海运整柜"),
    Org("bairui", "惠州比瑞电池科技有限公司", S.QUALIFIED, "electronics", "SZX",
        "bairui-battery.com", "深圳→法兰克福 危险品空运"),
    Org("kangda", "深圳康达医药有限公司", S.PROSPECT, "pharmaceuticals", "SZX",
        "kangda-pharma.com", "深圳→香港 冷链陆运", contacts=1),
    Org("qianhai", "深圳前海联运报关有限公司", S.PARTNER, "customs brokerage", "SZX",
        "qianhai-customs.cn", "深圳进出口报关"),
    Org("south_sea", "South Sea Container Lines", S.PARTNER, "ocean shipping", "SZX",
        "southsealines.com", "Yantian → Long Beach", english=True),
    Org("victoria", "Victoria Harbour Air Cargo Ltd.", S.PARTNER, "air cargo", "SZX",
        "vharbourcargo.com.hk", "Hong Kong → Chicago freighter", english=True),
    Org("pengcheng", "深圳鹏程国际物流有限公司", S.COMPETITOR, "freight forwarding", "SZX",
        "pengcheng-log.com", "深圳→美西 电商空派", contacts=1),
    # Beijing 北京分公司 — pharma, heavy machinery, rail to Europe
    Org("kangning", "北京康宁生物医药股份有限公司", S.CUSTOMER, "pharmaceuticals", "BJS",
        "kangning-bio.com", "首都机场→波士顿 温控空运", key_account=KEY_FROM_START,
        contacts=3),
    Org("binhai", "天津滨海重工机械有限公司", S.CUSTOMER, "machinery", "BJS",
        "binhai-heavy.com", "天津→汉堡 大件海运"),
    Org("zhixing", "北京智行汽车科技有限公司", S.TARGET_TO_CUSTOMER, "automotive", "BJS",
        "zhixing-auto.com", "天津→慕尼黑 中欧班列", key_account=KEY_DESIGNATED),
    Org("jinghua", "北京京华时装有限公司", S.LOST_WON_BACK, "apparel", "BJS",
        "jinghua-fashion.com", "北京→米兰 空运", lost_to="huayun"),
    Org("cangzhou", "河北沧州化工有限公司", S.PROSPECT, "chemicals", "BJS", "czchem.com.cn",
        "天津→鹿特丹 化工品海运", contacts=1),
    Org("yunduan", "北京中关村云端科技有限公司", S.PROSPECT, "electronics", "BJS",
        "yunduan-tech.com", "北京→新加坡 服务器空运"),
    Org("nordic", "Nordic Machinery (Beijing) Co., Ltd.", S.TARGET, "machinery", "BJS",
        "nordic-machinery.com", "Tianjin → Gothenburg sea, breakbulk", english=True),
    Org("beifang_rail", "北方铁路联运有限公司", S.PARTNER, "rail freight", "BJS",
        "beifang-rail.com", "天津→杜伊斯堡 中欧班列"),
    Org("dongjiang", "天津东疆保税仓储有限公司", S.PARTNER, "warehousing", "BJS",
        "dongjiang-bonded.cn", "东疆保税港区仓储"),
    Org("huayun", "北京华运通国际货运代理有限公司", S.COMPETITOR, "freight forwarding", "BJS",
        "huayuntong.com", "北京→欧洲 空运", contacts=1),
    Org("huaxia", "华夏环球物流集团有限公司", S.COMPETITOR, "freight forwarding", "BJS",
        "huaxia-global.com", "全国 海运及空运", contacts=1),
    # Chicago Office 芝加哥办事处 — our agent and brokers at destination, US importers
    Org("great_lakes", "Great Lakes Freight Services, Inc.", S.PARTNER, "freight forwarding",
        "CHI", "greatlakesfreight.com", "O'Hare import handling and Midwest delivery",
        english=True, contacts=3),
    Org("midwest_customs", "Midwest Customs Brokerage LLC", S.PARTNER, "customs brokerage",
        "CHI", "midwestcustoms.com", "US import entries at Chicago", english=True),
    Org("ohare_handling", "O'Hare Cargo Handling Services", S.PARTNER, "warehousing", "CHI",
        "ohcargo.com", "ORD airport cargo handling", english=True, contacts=1),
    Org("prairie", "Prairie Electronics Distribution, Inc.", S.CUSTOMER, "electronics", "CHI",
        "prairie-electronics.com", "Suzhou → Chicago air, door to door", english=True),
    Org("heartland", "Heartland Auto Parts Corp.", S.DORMANT, "automotive", "CHI",
        "heartlandautoparts.com", "Ningbo → Chicago, sea and rail", english=True),
    Org("lakeshore", "Lakeshore Medical Supply Co.", S.TARGET, "pharmaceuticals", "CHI",
        "lakeshoremedical.com", "Shanghai → Chicago air, 2–8 °C", english=True),
    Org("windy_city", "Windy City Outdoor Gear LLC", S.PROSPECT, "apparel", "CHI",
        "windycitygear.com", "Yantian → Chicago, sea via Los Angeles", english=True,
        contacts=1),
    Org("summit", "Summit Retail Brands, Inc.", S.TARGET_COLD, "e-commerce", "CHI",
        "summitretail.com", "Shenzhen → Chicago e-commerce air", english=True),
    Org("transpacific", "TransPacific Logistics Group", S.COMPETITOR, "freight forwarding",
        "CHI", "transpacificlog.com", "Asia → US Midwest", english=True, contacts=1),
)  # fmt: skip

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


# --- people ------------------------------------------------------------------------------

SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
    ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"), ("郑", "zheng"),
    ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"), ("韩", "han"),
    ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"), ("曾", "zeng"),
    ("沈", "shen"), ("蒋", "jiang"), ("陆", "lu"),
)  # fmt: skip
GIVEN_NAMES = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
    ("秀英", "xiuying"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("建华", "jianhua"),
    ("志强", "zhiqiang"), ("晓东", "xiaodong"), ("海燕", "haiyan"), ("雪梅", "xuemei"),
    ("文斌", "wenbin"), ("丹", "dan"), ("婷", "ting"), ("浩", "hao"), ("宇", "yu"),
    ("佳怡", "jiayi"), ("子涵", "zihan"), ("立新", "lixin"), ("春燕", "chunyan"),
)  # fmt: skip
FIRST_NAMES = (
    "Michael", "Jennifer", "David", "Robert", "Linda", "James", "Karen", "Thomas", "Laura",
    "Daniel", "Mark", "Rachel", "Brian", "Megan", "Kevin", "Lisa", "Anna", "Peter", "Markus",
    "Katrin", "Stefan", "Julia", "Erik", "Ingrid",
)  # fmt: skip
LAST_NAMES = (
    "Anderson", "Brooks", "Carter", "Novak", "Kowalski", "Schmidt", "Weber", "Johnson",
    "Murphy", "Nguyen", "Patel", "Rossi", "Larsen", "Fischer", "Hughes", "Bennett",
    "Sullivan", "Reyes", "Walsh", "Keller", "Lindqvist", "Hoffmann",
)  # fmt: skip

MOBILE_PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "158", "159", "186", "189")

TITLES = {
    ("customer", False): (
        "物流经理", "采购经理", "供应链总监", "关务主管", "进出口部经理", "总经理助理", "仓储主管",
    ),
    ("customer", True): (
        "Logistics Manager", "Supply Chain Director", "Import/Export Coordinator",
        "Purchasing Manager", "Trade Compliance Specialist", "Operations Manager",
    ),
    ("partner", False): ("销售经理", "客服经理", "操作主管", "大客户经理", "运营总监"),
    ("partner", True): (
        "Account Manager", "Station Manager", "Operations Supervisor",
        "Customer Service Lead", "Licensed Customs Broker",
    ),
    ("competitor", False): ("销售总监", "区域经理", "市场部经理"),
    ("competitor", True): ("Sales Director", "Regional Manager", "Business Development Manager"),
}  # fmt: skip


# --- what is said ------------------------------------------------------------------------


class Tpl(NamedTuple):
    """An interaction: channel, direction and summary ({contact}, {lane}, {competitor})."""

    channel: Channel
    direction: Direction
    text: str
    #: A complaint about a shipment: customer care follows up a few days later.
    incident: bool = False


V, C, E, M, W, P = (
    Channel.VISIT, Channel.CALL, Channel.EMAIL, Channel.MEETING, Channel.MESSAGE, Channel.PORTAL,
)  # fmt: skip
IN, OUT = Direction.INBOUND, Direction.OUTBOUND

#: Interactions to choose from, in Chinese (False) and in English (True).
Pools = dict[bool, tuple[Tpl, ...]]

PURSUIT: Pools = {
    False: (
        Tpl(V, OUT, "上门拜访{contact}，介绍我司的全程负责服务（{lane}）；对方目前由其他货代操作，"
                    "愿意比价。"),
        Tpl(C, OUT, "电话联系{contact}，了解月均出货量和主要目的港，约下周上门拜访。"),
        Tpl(E, OUT, "向{contact}发送公司介绍和{lane}的报价方案，含门到门时效和保险条款。"),
        Tpl(M, OUT, "与{contact}及采购部开会，讨论{lane}的时效要求、付款账期和异常处理流程。"),
        Tpl(E, IN, "{contact}来邮件询价：{lane}，要求三个工作日内提供门到门报价。"),
        Tpl(W, IN, "{contact}微信询问旺季舱位和运价走势。"),
        Tpl(C, IN, "{contact}来电了解我司的清关能力和海外代理网络。"),
        Tpl(V, OUT, "陪同{contact}参观我司仓库和操作中心，演示在途追踪系统。"),
        Tpl(M, OUT, "向{contact}提交{lane}的试单方案，对方同意先走一票试单。"),
    ),
    True: (
        Tpl(V, OUT, "Visited {contact} to present our door-to-door service on {lane}; they use "
                    "another forwarder today but are open to a comparison."),
        Tpl(C, OUT, "Called {contact} about monthly volumes and main destinations; visit booked "
                    "for next week."),
        Tpl(E, OUT, "Sent {contact} our company profile and a rate proposal for {lane}, with "
                    "transit times and cargo insurance terms."),
        Tpl(M, OUT, "Meeting with {contact} and purchasing on transit times, payment terms and "
                    "exception handling for {lane}."),
        Tpl(E, IN, "{contact} asked for a door-to-door quote on {lane} within three working "
                   "days."),
        Tpl(W, IN, "{contact} asked about peak-season space and the rate outlook."),
        Tpl(C, IN, "{contact} called to ask about our customs clearance and overseas agent "
                   "network."),
        Tpl(V, OUT, "Showed {contact} round our warehouse and operations centre, with a demo "
                    "of shipment tracking."),
        Tpl(M, OUT, "Proposed a trial shipment on {lane}; {contact} agreed to book one to test "
                    "us."),
    ),
}  # fmt: skip

ACCOUNT: Pools = {
    False: (
        Tpl(P, IN, "客户通过门户下单：{lane}，已上传商业发票和装箱单。"),
        Tpl(P, IN, "客户在门户查询在途货物状态并下载签收单。"),
        Tpl(C, OUT, "与{contact}电话确认下月出货计划，预计比本月增加约两成。"),
        Tpl(E, OUT, "向{contact}发送上月发运报表和准时率统计。"),
        Tpl(V, OUT, "上门拜访{contact}，讨论仓储加配送一体化方案和旺季备舱。"),
        Tpl(M, OUT, "季度业务回顾：{lane}的准时率和异常件处理，{contact}对清关时效表示满意。"),
        Tpl(C, IN, "{contact}来电反馈一票货物晚到一天，已说明原因（中转衔接延误）和补救措施。",
            incident=True),
        Tpl(E, IN, "{contact}来邮件投诉到货外箱破损，已登记并转客服跟进理赔。", incident=True),
        Tpl(W, IN, "{contact}微信询问节前最后一班截关时间。"),
        Tpl(E, OUT, "向{contact}发送新年度{lane}的运价协议草案，请对方法务审阅。"),
        Tpl(C, OUT, "提醒{contact}下周起燃油附加费调整，并说明计算方式。"),
        Tpl(V, OUT, "与{contact}现场查看新产线的包装方式，建议改用托盘加缠绕膜以减少破损。"),
    ),
    True: (
        Tpl(P, IN, "Booking received through the portal for {lane}; commercial invoice and "
                   "packing list uploaded."),
        Tpl(P, IN, "Customer checked shipment status in the portal and downloaded the proof of "
                   "delivery."),
        Tpl(C, OUT, "Confirmed next month's shipping plan with {contact}: volume up about 20%."),
        Tpl(E, OUT, "Sent {contact} last month's shipment report and on-time statistics."),
        Tpl(V, OUT, "Visited {contact} to discuss combined warehousing and distribution and "
                    "peak-season space."),
        Tpl(M, OUT, "Quarterly business review of {lane}: on-time rate and exceptions; "
                    "{contact} is satisfied with clearance times."),
        Tpl(C, IN, "{contact} reported a shipment arriving one day late; explained the "
                   "missed connection and what we do about it.", incident=True),
        Tpl(E, IN, "{contact} complained about damaged outer cartons on arrival; logged and "
                   "passed to customer service for the claim.", incident=True),
        Tpl(W, IN, "{contact} asked for the last cut-off before the holidays."),
        Tpl(E, OUT, "Sent {contact} next year's draft rate agreement for {lane}, for their "
                    "legal review."),
        Tpl(C, OUT, "Told {contact} about next week's fuel surcharge change and how it is "
                    "calculated."),
        Tpl(V, OUT, "Reviewed the packaging of the new production line with {contact}; "
                    "recommended pallets and stretch wrap to cut damage."),
    ),
}  # fmt: skip

PARTNER: Pools = {
    False: (
        Tpl(E, OUT, "与{contact}核对本月{lane}的业务量和协议价格。"),
        Tpl(C, IN, "{contact}通知下周作业安排调整，已同步操作和客服团队。"),
        Tpl(M, OUT, "与{contact}召开半年度合作评估会：时效达成率、差错率和理赔追偿进度。"),
        Tpl(C, OUT, "就一票破损货物的责任认定与{contact}沟通，对方同意按合同限额赔付。"),
        Tpl(E, IN, "{contact}发来旺季附加费通知和新的截单时间。"),
        Tpl(V, OUT, "拜访{contact}，现场查看作业场地、温控和安保条件。"),
        Tpl(W, OUT, "请{contact}协调一票急件优先处理。"),
        Tpl(E, IN, "{contact}来邮件确认上月对账单，两票差异已核销。"),
    ),
    True: (
        Tpl(E, OUT, "Reconciled this month's volumes and contract rates on {lane} with "
                    "{contact}."),
        Tpl(C, IN, "{contact} advised a schedule change next week; operations and customer "
                   "service informed."),
        Tpl(M, OUT, "Half-year partner review with {contact}: on-time performance, error rate "
                    "and claim recoveries."),
        Tpl(C, OUT, "Discussed liability for a damaged shipment with {contact}; they accept "
                    "payment up to the contract limit."),
        Tpl(E, IN, "{contact} sent the peak-season surcharge notice and new cut-off times."),
        Tpl(V, OUT, "Visited {contact} to inspect the facility, temperature control and "
                    "security."),
        Tpl(W, OUT, "Asked {contact} to give an urgent shipment priority."),
        Tpl(E, IN, "{contact} confirmed last month's statement; two differences cleared."),
    ),
}  # fmt: skip

COMPETITOR: Pools = {
    False: (
        Tpl(M, IN, "行业展会上与对方{contact}交流，对方正在以低价争夺我们的电子类客户。"),
        Tpl(W, IN, "获悉对方新开包机线路（{lane}），报价比我司低约8%。"),
        Tpl(C, OUT, "与对方{contact}电话沟通旺季拼舱合作的可能性，对方暂无意向。"),
    ),
    True: (
        Tpl(M, IN, "Met {contact} at a trade fair; they are pricing aggressively for our "
                   "electronics shippers."),
        Tpl(W, IN, "Heard that they opened a charter service on {lane}, priced about 8% below "
                   "ours."),
        Tpl(C, OUT, "Called {contact} about co-loading in peak season; no interest for now."),
    ),
}  # fmt: skip

DORMANT_CHECK = {
    False: Tpl(C, OUT, "电话了解{contact}近三个月无出货的原因：海外订单下滑，预计下半年恢复。"),
    True: Tpl(C, OUT, "Called {contact} about three months without shipments: overseas orders "
                      "are down, recovery expected later in the year."),
}  # fmt: skip
REACTIVATION = {
    False: Tpl(E, IN, "{contact}来邮件：新订单落地，恢复{lane}的出货，请求更新报价。"),
    True: Tpl(E, IN, "{contact} wrote that new orders have landed: shipments on {lane} resume; "
                     "asked for updated rates."),
}  # fmt: skip
LOSS_NOTICE = {
    False: Tpl(E, IN, "{contact}通知自下月起{lane}业务转由{competitor}操作，主要原因是对方价格低约"
                      "一成。"),
    True: Tpl(E, IN, "{contact} told us that {competitor} takes over {lane} from next month, "
                     "mainly on price (about 10% lower)."),
}  # fmt: skip
AFTER_LOSS = {
    False: Tpl(C, OUT, "回访{contact}，对方表示暂不考虑更换服务商，保持联系。"),
    True: Tpl(C, OUT, "Called {contact}: no plan to change provider for now; we keep in touch."),
}  # fmt: skip
WIN_BACK: Pools = {
    False: (
        Tpl(V, OUT, "拜访{contact}，了解其对现服务商的不满（延误频繁、异常响应慢），"
                    "提出试单方案。"),
        Tpl(M, OUT, "与{contact}开会确认试单结果：时效和破损率均优于现服务商，讨论恢复合作。"),
    ),
    True: (
        Tpl(V, OUT, "Visited {contact}: unhappy with their current provider (frequent delays, "
                    "slow exception handling); proposed a trial shipment."),
        Tpl(M, OUT, "Reviewed the trial with {contact}: faster and less damage than their "
                    "current provider; discussed resuming business."),
    ),
}  # fmt: skip

REASONS = {
    "qualify": {
        False: "年出货量约{tons}吨，{lane}的需求明确，已接触到决策人。",
        True: "About {tons} t a year with a clear need on {lane}; decision maker engaged.",
    },
    "cold": {
        False: "对方年内无新项目，采购冻结，转回潜在客户定期维护。",
        True: "No new projects this year and purchasing is frozen; back to prospect for "
        "periodic follow-up.",
    },
    "dormant": {
        False: "超过90天无业务往来。",
        True: "No business for more than 90 days.",
    },
    "reactivate": {
        False: "新订单落地，恢复出货。",
        True: "New orders landed; shipments resumed.",
    },
    "lost": {
        False: "价格竞争失利，业务转至{competitor}。",
        True: "Lost on price; the business moved to {competitor}.",
    },
    "won_back": {
        False: "现服务商延误频繁，试单后恢复合作。",
        True: "Frequent delays with their current provider; business resumed after a trial.",
    },
    "key_account": {
        False: "预计年营业额超过{amount}万元，纳入{industry_zh}行业大客户管理。",
        True: "Expected annual revenue above CNY {millions} million; managed as a key account "
        "in {industry}.",
    },
}

#: Notes of customer-care actions, a few variants each, in Chinese and in English.
CARE: dict[CareActionKind, dict[bool, tuple[str, ...]]] = {
    CareActionKind.SATISFACTION_CALL: {
        False: (
            "季度满意度回访：{contact}评分{score}/5，希望提高轨迹更新频率。",
            "满意度回访：{contact}评分{score}/5，对清关时效满意，建议账单按票拆分。",
            "回访{contact}：评分{score}/5，希望旺季提前锁定舱位。",
        ),
        True: (
            "Quarterly satisfaction call: {contact} rated us {score}/5 and asked for more "
            "frequent tracking updates.",
            "Satisfaction call: {contact} rated us {score}/5; happy with clearance times, asked "
            "for one invoice per shipment.",
            "Satisfaction call with {contact}: {score}/5; wants peak-season space secured earlier.",
        ),
    },
    CareActionKind.FOLLOW_UP_AFTER_INCIDENT: {
        False: ("异常后回访{contact}：说明处理结果，我司先行赔付并向责任方追偿，客户表示认可。",),
        True: (
            "Follow-up with {contact} after the incident: we compensate first and recover from "
            "the party at fault; the customer is satisfied.",
        ),
    },
    CareActionKind.GIFT: {
        False: ("{contact}公司周年庆，送花篮祝贺。", "{contact}生日，寄送贺卡和鲜花。"),
        True: (
            "Sent flowers to {contact} for the company's anniversary.",
            "Birthday card and flowers to {contact}.",
        ),
    },
    CareActionKind.REVIEW_MEETING: {
        False: ("年度业务回顾会：全年发运量、准时率和明年合同计划，{contact}出席。",),
        True: (
            "Annual business review with {contact}: volumes, on-time rate and next year's "
            "contract.",
        ),
    },
}

#: Greetings on holidays (month, day), in Chinese and in English.
GREETINGS = {
    False: (
        ((1, 20), "春节前向{contact}寄送贺卡和年货礼盒。"),
        ((9, 12), "中秋节前向{contact}赠送月饼。"),
    ),
    True: (((12, 16), "Season's greetings card and gift basket to {contact}."),),
}  # fmt: skip
THANKSGIVING = ((11, 22), "Thanksgiving greeting card to {contact}.")


# --- shipments ---------------------------------------------------------------------------

#: Headquarters operations (总部运营部), who arbitrates disputed responsibility (总部仲裁).
HQ_OPERATIONS = "song.jian"

#: One SDR in the claim's currency on the day a limit is assessed.
SDR_RATES = {"USD": Decimal("1.33"), "EUR": Decimal("1.22")}

#: The seed case: an electronics maker's air export from Suzhou to Chicago in six links,
#: cartons found damaged at import, the customer compensated in full, recovery from the
#: airline limited to 26 SDR/kg under the Montreal Convention.
SEED_CASE_ID = uuid5(NAMESPACE_URL, "https://fullchain.example/demo/shipments/seed-case")

#: No shipment is booked earlier than this many days ago: every partner exists by then.
FIRST_BOOKING_DAYS_AGO = 330

#: Nothing of a shipment happens later than this before the time of loading.
SHIPMENT_CUTOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Leg:
    """A link of a route: its function, who performs it and its planned hours."""

    function: LinkFunction
    #: A branch code (one of our branches) or an org key (a partner).
    party: str
    hours: int
    mode: TransportMode | None = None


@dataclass(frozen=True)
class Goods:
    zh: str
    en: str
    unit_zh: str
    unit_en: str
    packages: tuple[int, int]
    kg_per_package: tuple[int, int]
    value_per_kg: tuple[int, int]


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
    "光电元器件", "optoelectronic components", "箱", "cartons", (10, 40), (8, 12), (400, 700)
)
BATTERIES = Goods(
    "智能设备（含锂电池）",
    "smart devices with lithium batteries",
    "箱",
    "cartons",
    (20, 80),
    (10, 15),
    (150, 260),
)
MEDICAL = Goods("医疗器械", "medical devices", "箱", "cartons", (10, 40), (15, 25), (300, 600))
PHARMA = Goods(
    "冷链药品（2–8℃）",
    "pharmaceuticals (2–8 °C)",
    "保温箱",
    "insulated boxes",
    (8, 30),
    (20, 30),
    (900, 1600),
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

F = LinkFunction
AIR, SEA, ROAD, RAIL = TransportMode.AIR, TransportMode.SEA, TransportMode.ROAD, TransportMode.RAIL


def air_to_chicago(
    origin_branch: str, airline: str, broker: str, *, warehouse: bool
) -> tuple[Leg, ...]:
    return (
        Leg(F.PICKUP, origin_branch, 6, ROAD),
        Leg(F.EXPORT_CUSTOMS, origin_branch, 18),
        Leg(F.MAIN_CARRIAGE, airline, 30, AIR),
        Leg(F.IMPORT_CUSTOMS, broker, 24),
        *((Leg(F.WAREHOUSING, "ohare_handling", 24),) if warehouse else ()),
        Leg(F.DELIVERY, "great_lakes", 12, ROAD),
    )


def export(
    pickup: str,
    customs: str,
    carrier: str,
    mode: TransportMode,
    hours: int,
    *,
    cfs: str | None = None,
) -> tuple[Leg, ...]:
    """Door to port or airport of destination; ``cfs``: a warehouse consolidates first."""
    return (
        Leg(F.PICKUP, pickup, 8, ROAD),
        *((Leg(F.WAREHOUSING, cfs, 48),) if cfs else ()),
        Leg(F.EXPORT_CUSTOMS, customs, 24),
        Leg(F.MAIN_CARRIAGE, carrier, hours, mode),
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
                     (Leg(F.PICKUP, "SZX", 6, ROAD), Leg(F.EXPORT_CUSTOMS, "qianhai", 12),
                      Leg(F.MAIN_CARRIAGE, "victoria", 28, AIR),
                      Leg(F.IMPORT_CUSTOMS, "midwest_customs", 20),
                      Leg(F.DELIVERY, "great_lakes", 10, ROAD)),
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
                      (Leg(F.PICKUP, "shunda", 8, ROAD), Leg(F.EXPORT_CUSTOMS, "hutong", 24),
                       Leg(F.MAIN_CARRIAGE, "meridian", 432, SEA),
                       Leg(F.IMPORT_CUSTOMS, "midwest_customs", 48),
                       Leg(F.DELIVERY, "great_lakes", 40, ROAD)),
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
                       (Leg(F.PICKUP, "SHA", 10, ROAD), Leg(F.EXPORT_CUSTOMS, "hutong", 24),
                        Leg(F.MAIN_CARRIAGE, "meridian", 480, SEA),
                        Leg(F.IMPORT_CUSTOMS, "midwest_customs", 48),
                        Leg(F.DELIVERY, "great_lakes", 40, ROAD)),
                       AUTO, every=75, ops="SHA"),
}  # fmt: skip

#: Why a link runs late, by its mode (None: customs, storage, handling), in Chinese and English.
DELAY_REASONS: dict[TransportMode | None, tuple[tuple[str, str], ...]] = {
    AIR: (
        ("航班因舱位不足拉货，改配次日货机。",
         "Offloaded for lack of capacity; rebooked on the next day's freighter."),
        ("目的港天气原因航班备降，延误一天。", "Flight diverted by weather at destination."),
    ),
    SEA: (
        ("台风影响码头提前截港，改配下一班船。",
         "Terminal closed early ahead of a typhoon; rolled to the next sailing."),
        ("中转港拥堵，船舶错过靠泊窗口。", "Congestion at transshipment; berth window missed."),
    ),
    RAIL: (
        ("马拉舍维奇换装站拥堵，班列滞留。", "Gauge-change congestion at Małaszewicze."),
    ),
    ROAD: (
        ("高速检查站查验，车辆滞留。", "Truck held at a highway checkpoint."),
        ("卸货码头排队，预约时段顺延。", "Queue at the receiving dock; slot moved."),
    ),
    None: (
        ("海关布控查验。", "Customs selected the entry for inspection."),
        ("仓库出库排队。", "Warehouse dispatch backlog."),
    ),
}  # fmt: skip

#: What the customer says when a shipment is evaluated, by rating, in Chinese and English.
EVALUATION_REMARKS: dict[int, tuple[str, str]] = {
    5: ("准时送达，全程信息及时。", "On time, with timely updates all the way."),
    4: ("整体满意，签收单上传稍慢。", "Good overall; the proof of delivery came a little late."),
    3: ("晚到，但异常通知及时。", "Late, but we were told early."),
    2: ("延误影响了客户生产线。", "The delay held up the production line."),
}


# --- sales and service -------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A service offering of the catalogue, priced in ``currency``."""

    key: str
    name: str
    origin: str
    destination: str
    mode: TransportMode
    level: ServiceLevel
    days: int
    description: str
    currency: str = "USD"


#: What we sell: a lane each, launched before the year begins.
CATALOGUE: tuple[Product, ...] = (
    Product("szv_ord", "Suzhou–Chicago Air Door-to-Door 苏州—芝加哥空运门到门", "Suzhou", "Chicago",
            AIR, ServiceLevel.DOOR_TO_DOOR, 5,
            "Pickup at the plant, export customs in Suzhou, PVG–ORD freighter, import customs and "
            "delivery by our Chicago agent."),
    Product("sha_ord_cold", "Shanghai–Chicago Pharma Air 2–8 °C 上海—芝加哥温控空运", "Shanghai",
            "Chicago", AIR, ServiceLevel.DOOR_TO_DOOR, 4,
            "Active containers, temperature loggers, GDP-qualified handling at both ends."),
    Product("szx_ord", "Shenzhen–Chicago Air 深圳—芝加哥空运", "Shenzhen", "Chicago", AIR,
            ServiceLevel.DOOR_TO_DOOR, 5, "Via Hong Kong, freighter to ORD, Midwest delivery."),
    Product("szv_fra", "Suzhou–Frankfurt Air 苏州—法兰克福空运", "Suzhou", "Frankfurt", AIR,
            ServiceLevel.DOOR_TO_PORT, 4, "Medical devices and spares to FRA.", "EUR"),
    Product("szx_ams", "Shenzhen–Amsterdam Air (lithium batteries) 深圳—阿姆斯特丹空运（含锂电池）",
            "Shenzhen", "Amsterdam", AIR, ServiceLevel.DOOR_TO_PORT, 4,
            "UN3481 accepted; DG documents prepared by us.", "EUR"),
    Product("sha_lhr", "Shanghai–London E-commerce Air 上海—伦敦跨境电商专线", "Shanghai", "London",
            AIR, ServiceLevel.CONSOLIDATED, 5,
            "Consolidated parcels, DDP, last mile by Royal Mail."),
    Product("szx_lax", "Shenzhen–Los Angeles E-commerce Air 深圳—洛杉矶电商空派", "Shenzhen",
            "Los Angeles", AIR, ServiceLevel.CONSOLIDATED, 4, "Consolidated, FBA delivery."),
    Product("pek_bos", "Beijing–Boston Pharma Air 北京—波士顿温控空运", "Beijing", "Boston", AIR,
            ServiceLevel.DOOR_TO_PORT, 3, "2–8 °C and 15–25 °C, PEK–BOS."),
    Product("pek_mxp", "Beijing–Milan Air 北京—米兰空运", "Beijing", "Milan", AIR,
            ServiceLevel.DOOR_TO_PORT, 4, "Garments on hangers and cartons to MXP.", "EUR"),
    Product("tag_ham", "Taicang–Hamburg FCL 太仓—汉堡整柜", "Taicang", "Hamburg", SEA,
            ServiceLevel.DOOR_TO_PORT, 36, "Weekly sailing, 40' HC.", "EUR"),
    Product("sha_lgb", "Shanghai–Long Beach FCL 上海—长滩整柜", "Shanghai", "Long Beach", SEA,
            ServiceLevel.DOOR_TO_PORT, 16, "Weekly transpacific service."),
    Product("sha_rtm", "Shanghai–Rotterdam LCL 上海—鹿特丹拼箱", "Shanghai", "Rotterdam", SEA,
            ServiceLevel.CONSOLIDATED, 34, "Weekly consolidation at our Waigaoqiao CFS.", "EUR"),
    Product("ngb_ord", "Ningbo–Chicago Sea & Rail 宁波—芝加哥海铁联运", "Ningbo", "Chicago", SEA,
            ServiceLevel.DOOR_TO_DOOR, 30, "Via Los Angeles, intermodal rail to Chicago."),
    Product("tsn_dui", "Tianjin–Duisburg China–Europe Rail 天津—杜伊斯堡中欧班列", "Tianjin",
            "Duisburg", RAIL, ServiceLevel.DOOR_TO_PORT, 18, "Block train, gauge change at "
            "Małaszewicze.", "EUR"),
    Product("sha_sgn", "Shanghai–Ho Chi Minh City FCL 上海—胡志明市整柜", "Shanghai",
            "Ho Chi Minh City", SEA, ServiceLevel.DOOR_TO_PORT, 8, "Weekly, 20' and 40'."),
    Product("sha_pus_dg", "Shanghai–Busan Dangerous Goods 上海—釜山危险品海运", "Shanghai", "Busan",
            SEA, ServiceLevel.PORT_TO_PORT, 3, "IMDG classes 3, 8 and 9."),
)  # fmt: skip

#: The offering each relationship's business is about (see ``Org.lane``).
PRODUCT_OF: dict[str, str] = {
    "huaxin": "szv_ord", "prairie": "szv_ord", "antai": "sha_ord_cold",
    "lakeshore": "sha_ord_cold", "hongxun": "szx_ord", "summit": "szx_ord", "borui": "szv_fra",
    "bairui": "szv_fra", "jiguang": "szx_ams", "youpin": "sha_lhr", "xunchi": "sha_lhr",
    "sugou": "szx_lax", "kangning": "pek_bos", "kangda": "pek_bos", "jinghua": "pek_mxp",
    "yunduan": "pek_mxp", "kessler": "tag_ham", "binhai": "tag_ham", "nordic": "tag_ham",
    "lumina": "sha_lgb", "wujiang_silk": "sha_lgb", "meijia": "sha_lgb", "yunfan": "sha_lgb",
    "windy_city": "sha_lgb", "shunde": "sha_lgb", "kunshan_mould": "sha_sgn",
    "orient_fashion": "sha_rtm", "hongyuan_chem": "sha_rtm", "cangzhou": "sha_rtm",
    "heartland": "ngb_ord", "jincheng": "ngb_ord", "zhixing": "tsn_dui", "ruida": "sha_pus_dg",
    "huadong_chem": "sha_pus_dg", "nanyue": "sha_pus_dg", "baina": "sha_lgb",
}  # fmt: skip

#: The forwarders each branch meets in its tenders.
RIVALS: dict[str, tuple[str, str]] = {
    "SZV": ("jieyun", "huaxia"),
    "SHA": ("jieyun", "globelink"),
    "SZX": ("pengcheng", "huaxia"),
    "BJS": ("huayun", "huaxia"),
    "CHI": ("transpacific", "globelink"),
}


class Profile(NamedTuple):
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    lanes: tuple[tuple[str, str, TransportMode], ...]
    #: Learnt during the year: a strength, a weakness withdrawn, a lane added, a lane dropped.
    later: tuple[str | None, str | None, tuple[str, str, TransportMode] | None, bool]


PROFILES: dict[str, Profile] = {
    "jieyun": Profile(
        ("欧洲航线海运价格低", "与船公司有长期协议舱位"),
        ("无自营海外代理", "异常响应慢"),
        (("Shanghai", "Hamburg", SEA), ("Shanghai", "Rotterdam", SEA)),
        ("化工品危险品资质齐全", "异常响应慢", ("Zhangjiagang", "Rotterdam", SEA), False),
    ),
    "globelink": Profile(
        ("Strong UK e-commerce network", "Own bonded warehouse at Heathrow"),
        ("Weak in temperature-controlled freight",),
        (("Shanghai", "London", AIR), ("Shanghai", "Chicago", AIR)),
        ("Aggressive peak-season pricing", None, None, True),
    ),
    "pengcheng": Profile(
        ("美西电商空派时效快", "价格灵活"),
        ("清关能力弱", "旺季爆仓"),
        (("Shenzhen", "Los Angeles", AIR),),
        (None, "清关能力弱", ("Shenzhen", "New York", AIR), False),
    ),
    "huayun": Profile(
        ("北京—欧洲空运包板", "服装客户关系深"),
        ("无温控资质",),
        (("Beijing", "Milan", AIR), ("Beijing", "Paris", AIR)),
        ("新增米兰自营清关", None, None, True),
    ),
    "huaxia": Profile(
        ("全国网络覆盖", "海运空运一站式"),
        ("大客户服务不够专业", "IT系统陈旧"),
        (("Tianjin", "Hamburg", SEA), ("Shanghai", "Long Beach", SEA), ("Beijing", "Boston", AIR)),
        (None, None, ("Tianjin", "Duisburg", RAIL), False),
    ),
    "transpacific": Profile(
        ("Asset-based trucking in the Midwest", "Own CFS in Chicago"),
        ("No China origin offices",),
        (("Ningbo", "Chicago", SEA),),
        ("Opened a Shanghai office", "No China origin offices", None, False),
    ),
}

#: An opportunity's expected value, in tens of thousands of its offering's currency a year.
DEAL_SIZES: dict[TransportMode, tuple[int, int]] = {AIR: (15, 90), SEA: (8, 50), RAIL: (20, 60)}

#: The chance of winning as sales estimates it at each open stage.
STAGE_PROBABILITY: dict[Stage, Decimal] = {
    Stage.GENERATION: Decimal("0.10"),
    Stage.TRACKING: Decimal("0.30"),
    Stage.CONTROL: Decimal("0.50"),
    Stage.IMPLEMENTATION: Decimal("0.80"),
}

#: How the customer's confirmed forecast moves the expected value, in percent.
VALUE_REVISIONS = (80, 90, 110, 115, 125)

#: Opportunity titles: (Chinese, English), with the relationship's {lane}.
DEAL_TITLES = {
    "new": ("{lane}年度物流招标", "Annual logistics tender: {lane}"),
    "growth": ("{lane}增量业务", "Additional volume on {lane}"),
    "renewal": ("{lane}运价年度续约", "Annual rate renewal: {lane}"),
    "win_back": ("赢回{lane}业务", "Win back {lane}"),
    "resume": ("恢复{lane}出货", "Resumed shipments on {lane}"),
}

#: Why business was lost, in Chinese and English.
LOSS_EXPLANATIONS: dict[LossReason, tuple[str, str]] = {
    LossReason.PRICE: ("对方报价低约一成，客户按最低价授标。",
                       "Their rate was about 10% lower; the customer awarded on price."),
    LossReason.TRANSIT_TIME: ("对方直飞航班时效快一天。", "Their direct flight is a day faster."),
    LossReason.SERVICE_QUALITY: ("客户对去年两票延误仍有意见。",
                                 "The customer still holds last year's two delays against us."),
    LossReason.CAPACITY: ("旺季舱位无法保证。", "We could not guarantee peak-season space."),
    LossReason.RELATIONSHIP: ("现服务商与客户总部关系深厚。",
                              "The incumbent is close to the customer's head office."),
    LossReason.NO_DECISION: ("项目搁置，客户年内不再招标。",
                             "The project was shelved; no tender this year."),
}  # fmt: skip

#: The reasons a competitor takes business from us.
COMPETITIVE_LOSSES = (
    LossReason.PRICE,
    LossReason.TRANSIT_TIME,
    LossReason.SERVICE_QUALITY,
    LossReason.CAPACITY,
    LossReason.RELATIONSHIP,
)

#: The win's note and the evaluation's remarks, in Chinese and English.
WIN_NOTE = ("合同已签，首票下周出运。", "Contract signed; first shipment next week.")
EVALUATION_NOTES = {
    5: ("首季度准时率100%，客户增加了货量。", "100% on time in the first quarter; volumes up."),
    4: ("整体顺利，个别单证延误。", "Smooth overall; a few documents late."),
    3: ("时效达标，但费用对账反复。", "On time, but invoices had to be reissued twice."),
}  # fmt: skip


class CaseTpl(NamedTuple):
    """A service case: kind, priority, subject, description and resolution (Chinese, English)."""

    kind: CaseKind
    priority: Priority
    subject: tuple[str, str]
    description: tuple[str, str]
    resolution: tuple[str, str]
    #: It concerns one of the customer's shipments: the latest under way.
    about_shipment: bool = False


CASES: tuple[CaseTpl, ...] = (
    CaseTpl(CaseKind.INQUIRY, Priority.LOW, ("索取空运提单副本", "Copy of the air waybill"),
            ("财务对账需要上月三票货的提单副本。",
             "Accounts need copies of last month's three AWBs."),
            ("已从系统导出并邮件发送。", "Exported from the system and e-mailed.")),
    CaseTpl(CaseKind.INQUIRY, Priority.NORMAL, ("旺季运价咨询", "Peak-season rates"),
            ("询问十月至十二月的运价和舱位保障。", "Asked for October–December rates and space."),
            ("已提供旺季报价和锁舱方案。", "Sent peak-season rates and a space guarantee offer.")),
    CaseTpl(CaseKind.INQUIRY, Priority.NORMAL, ("清关资料要求", "Customs documents needed"),
            ("询问新品出口需要哪些认证和资料。", "Asked which certificates a new product needs."),
            ("已发送资料清单和样例。", "Sent the document checklist and samples.")),
    CaseTpl(CaseKind.REQUEST, Priority.NORMAL, ("更改送货地址", "Change of delivery address"),
            ("收货人要求改送新仓库。", "The consignee wants delivery to its new warehouse."),
            ("已通知目的港代理改派。", "Destination agent rerouted the delivery."), True),
    CaseTpl(CaseKind.REQUEST, Priority.HIGH, ("加急清关", "Expedite customs clearance"),
            ("产线待料，请求优先清关。", "Production line waiting; asked for priority clearance."),
            ("已安排预申报，当天放行。", "Pre-lodged the entry; released the same day."), True),
    CaseTpl(CaseKind.REQUEST, Priority.LOW, ("追加货物保险", "Add cargo insurance"),
            ("要求为后续货物投保一切险。", "Asked for all-risks cover on coming shipments."),
            ("已出具预约保单。", "Open cover issued.")),
    CaseTpl(CaseKind.REQUEST, Priority.URGENT, ("货物被海关扣留", "Goods held by customs"),
            ("目的港海关查验扣货，客户急需放行。", "Customs at destination holds the goods for "
             "inspection; the customer needs them urgently."),
            ("补交原产地证后放行。", "Released after the certificate of origin was filed."), True),
    CaseTpl(CaseKind.COMPLAINT, Priority.NORMAL, ("账单金额有误", "Invoice amount wrong"),
            ("燃油附加费计算与协议不符。", "The fuel surcharge does not match the agreement."),
            ("已开具红字发票并重开。", "Credit note issued and invoice reissued.")),
    CaseTpl(CaseKind.COMPLAINT, Priority.HIGH, ("货物晚到", "Shipment arrived late"),
            ("货物晚到一天，影响客户排产。", "A day late; the customer's production plan slipped."),
            ("说明延误原因，承诺下票优先配舱。", "Explained the delay; priority space promised "
             "for the next shipment."), True),
    CaseTpl(CaseKind.COMPLAINT, Priority.LOW, ("轨迹更新不及时", "Tracking not updated"),
            ("门户中轨迹两天未更新。", "Tracking in the portal did not move for two days."),
            ("已修复接口并补录节点。", "Interface fixed and the milestones backfilled.")),
)  # fmt: skip

#: Reopening a resolution that did not hold, in Chinese and English.
REOPEN_REASONS = ("客户反馈问题仍未解决。", "The customer reports the problem is not solved.")

#: The customers' complaints about the incidents told in full, by story.
INCIDENT_CASES: dict[str, CaseTpl] = {
    "seed_case": CaseTpl(
        CaseKind.COMPLAINT, Priority.HIGH, ("到货破损8箱", "8 cartons crushed on arrival"),
        ("芝加哥收货时8箱笔记本电脑外箱压损，客户要求赔偿并补发。",
         "8 cartons of laptops crushed on arrival in Chicago; the customer claims and wants "
         "replacements."),
        ("全额赔付，替换品已随下一班航班发运。",
         "Compensated in full; replacements flown on the next flight.")),
    "missed_flight": CaseTpl(
        CaseKind.COMPLAINT, Priority.URGENT,
        ("货物未赶上航班，产线待料", "Missed flight, line down"),
        ("通信模组晚到一天，客户芝加哥工厂停线等料。",
         "Modules a day late; the customer's Chicago plant stopped the line."),
        ("改配次日航班，已到厂；延误损失按协议赔付。",
         "Rebooked on the next flight and delivered; the delay compensated per agreement.")),
    "forklift": CaseTpl(
        CaseKind.COMPLAINT, Priority.HIGH, ("Forklift damage at the warehouse",
                                            "Forklift damage at the warehouse"),
        ("5 cartons crushed at the O'Hare warehouse.", "5 cartons crushed at the O'Hare "
         "warehouse; the customer wants them replaced."),
        ("Compensated; recovery claimed from the warehouse.",
         "Compensated; recovery claimed from the warehouse.")),
    "hs_code": CaseTpl(
        CaseKind.COMPLAINT, Priority.NORMAL, ("报关差错导致滞港", "Customs error held the crates"),
        ("HS编码误报，模具滞港两天。", "A wrong HS code held the moulds two days at port."),
        ("已重报放行，滞港费由我司承担。", "Re-declared and released; we bear the port charges.")),
    "short_landed": CaseTpl(
        CaseKind.COMPLAINT, Priority.HIGH, ("汉堡到货短少2箱", "2 crates short at Hamburg"),
        ("收货时对照装箱单少了2个木箱。", "2 crates missing against the packing list."),
        ("船公司确认短卸，客户获赔。", "The line confirmed the short landing; the customer is "
         "compensated.")),
    "temperature": CaseTpl(
        CaseKind.COMPLAINT, Priority.URGENT, ("冷链药品温度超标", "Temperature excursion"),
        ("6个保温箱记录仪显示9–11℃，货物隔离待质检放行。",
         "Loggers in 6 boxes show 9–11 °C; the goods are quarantined pending QA release."),
        ("质检放行4箱，2箱报废并已理赔。", "QA released 4 boxes; 2 destroyed and claimed.")),
}  # fmt: skip

#: The first response to the customer, in Chinese and English.
FIRST_RESPONSES = (
    ("已受理，专人跟进，今日内回复处理方案。",
     "Received; your case owner replies with a plan today."),
    ("已联系相关方核实，稍后告知进展。",
     "We are checking with the parties involved; an update follows."),
)  # fmt: skip


# --- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    contact_id: str
    name: str
    #: The name as written in English summaries (pinyin for Chinese names).
    latin: str
    #: The first or given name: not two of these at one organisation.
    first: str
    title: str


@dataclass
class Rel:
    """One relationship while its year is planned."""

    org: Org
    rid: UUID
    branch: Branch
    registered_days_ago: int = 0
    contacts: list[Contact] = field(default_factory=list)
    #: The account team from a day on: (days ago, field rep, office rep), oldest first.
    teams: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    #: When it does business with us: (from, until) days ago, for a customer.
    shipping: list[tuple[int, int]] = field(default_factory=list)

    @property
    def english(self) -> bool:
        return self.org.english

    def team(self, days_ago: int) -> tuple[str | None, str | None]:
        current: tuple[str | None, str | None] = (None, None)
        for since, field_rep, office_rep in self.teams:
            if since >= days_ago:
                current = (field_rep, office_rep)
        return current

    def field_rep(self, days_ago: int) -> str:
        field_rep, office_rep = self.team(days_ago)
        return field_rep or office_rep or self.branch.manager

    def office_rep(self, days_ago: int) -> str:
        field_rep, office_rep = self.team(days_ago)
        return office_rep or field_rep or self.branch.manager


Run = Callable[[CommandContext], CommandResult]


@dataclass(frozen=True)
class Step:
    when: datetime
    seq: int
    actor: str
    run: Run
    tally: str
    #: Steps with the same conversation share a correlation id.
    conversation: str | None = None


@dataclass
class Voyage:
    """One shipment while it is planned."""

    sid: UUID
    rel: Rel
    route: Route
    reference: str
    #: The office that runs the origin side of the chain.
    ops: Branch
    plans: list[LinkPlan]
    #: When each link received the goods, as carried.
    received: list[datetime] = field(default_factory=list)
    delivered_at: datetime | None = None
    #: The charges quoted, the last quote standing.
    charges: Charges | None = None


class Delay(NamedTuple):
    """A link that runs ``hours`` late, and why (None: a reason typical of its mode)."""

    sequence: int
    hours: int
    reason: str | None = None


class Plan:
    """A year of commands for every relationship, before any of them is issued."""

    def __init__(
        self, app: Fullchain, now: datetime, rng: random.Random, sales: random.Random
    ) -> None:
        """``rng`` draws the relationships' year and the shipments, ``sales`` the offerings,
        opportunities, service cases, competitors' profiles and charges."""
        self.app = app
        self.now = now
        self.rng = rng
        self.sales = sales
        self.steps: list[Step] = []
        self.rels: dict[str, Rel] = {}
        self.voyages: list[Voyage] = []
        self.products: dict[str, UUID] = {}
        self.opportunity_ids: list[UUID] = []
        self.case_ids: list[UUID] = []
        self.invoice_count = 0

    # --- ids and times -----------------------------------------------------------------

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def day(self, zone: tzinfo, days_ago: int, *, weekend: bool = False) -> date:
        """The day ``days_ago`` before today; a weekend day moves back to Friday.

        Moving back keeps the order of days (it only merges a weekend into its Friday),
        so steps three or more days apart stay in order.
        """
        day = self.now.astimezone(zone).date() - timedelta(days=max(days_ago, 1))
        while not weekend and day.weekday() >= 5:
            day -= timedelta(days=1)
        return day

    def at(
        self, zone: tzinfo, days_ago: int, minute: int | None = None, *, weekend: bool = False
    ) -> datetime:
        if minute is None:
            minute = (
                self.rng.randint(7 * 60 + 30, 22 * 60 + 30)
                if weekend
                else self.rng.randint(8 * 60 + 30, 17 * 60 + 45)
            )
        clock = time(minute // 60, minute % 60)
        return datetime.combine(self.day(zone, days_ago, weekend=weekend), clock, tzinfo=zone)

    def add(
        self,
        when: datetime,
        actor: str,
        run: Run,
        tally: str,
        conversation: str | None = None,
    ) -> None:
        self.steps.append(Step(when, len(self.steps), actor, run, tally, conversation))

    def between(self, hi: int, lo: int) -> int:
        """A day between ``hi`` and ``lo`` days ago."""
        return self.rng.randint(min(lo, hi), max(lo, hi))

    # --- the whole plan ------------------------------------------------------------------

    def build(self) -> None:
        for org in ORGS:
            self.rels[org.key] = Rel(org, self.uuid(), BRANCHES[org.branch])
        self.catalogue()
        for org in ORGS:
            self.story(self.rels[org.key])
        self.shipments()
        self.competitor_profiles()
        for rel in self.rels.values():
            self.pipeline(rel)
            self.service(rel)

    def story(self, rel: Rel) -> None:
        org, r = rel.org, self.rng.randint
        key = org.key_account is not KeyAccount.NO
        s = org.story
        if s is Story.CUSTOMER:
            reg = self.setup(rel, r(330, 364))
            rel.shipping.append((reg - 3, 2))
            self.window(rel, reg - 3, 2, r(9, 13) if key else r(4, 9), ACCOUNT)
            designated = None
            if org.key_account is KeyAccount.DESIGNATED:
                designated = r(150, 260)
                self.designate_key_account(rel, designated)
            self.customer_care(rel, reg - 3, 2, key_from=designated)
        elif s is Story.DORMANT:
            reg = self.setup(rel, r(320, 364))
            dormant = r(80, 110)
            rel.shipping.append((reg - 3, dormant + 95))
            self.window(rel, reg - 3, r(190, 230), r(3, 5), ACCOUNT)
            self.customer_care(rel, reg - 3, dormant + 20)
            self.mark_dormant(rel, dormant)
            self.care(rel, r(10, dormant - 10), CareActionKind.SATISFACTION_CALL)
        elif s is Story.DORMANT_REACTIVATED:
            reg = self.setup(rel, r(320, 364))
            dormant, react = r(160, 190), r(50, 80)
            rel.shipping += [(reg - 3, dormant + 95), (react - 3, 2)]
            self.window(rel, reg - 3, 225, r(3, 5), ACCOUNT)
            self.mark_dormant(rel, dormant)
            self.reactivate(rel, react)
            self.window(rel, react - 3, 2, r(2, 4), ACCOUNT)
            self.customer_care(rel, react - 3, 2)
        elif s is Story.LOST:
            reg = self.setup(rel, r(320, 364))
            lost = r(100, 135)
            rel.shipping.append((reg - 3, lost + 3))
            self.window(rel, reg - 3, 150, r(4, 7), ACCOUNT)
            self.customer_care(rel, reg - 3, 150)
            self.mark_lost(rel, lost)
            self.interaction(rel, r(20, lost - 20), AFTER_LOSS[rel.english])
        elif s is Story.LOST_WON_BACK:
            reg = self.setup(rel, r(320, 364))
            lost, won = r(205, 240), r(80, 120)
            rel.shipping += [(reg - 3, lost + 3), (won - 3, 2)]
            self.window(rel, reg - 3, 260, r(4, 6), ACCOUNT)
            self.mark_lost(rel, lost)
            self.win_back(rel, lost, won)
            self.window(rel, won - 3, 2, r(2, 4), ACCOUNT)
            self.customer_care(rel, won - 3, 2)
        elif s is Story.WALK_IN:
            reg = self.setup(rel, r(120, 250), walk_in=True)
            rel.shipping.append((reg - 3, 2))
            self.window(rel, reg - 3, 2, r(3, 5), ACCOUNT)
            self.customer_care(rel, reg - 3, 2)
        elif s is Story.PROSPECT:
            reg = self.setup(rel, r(20, 220))
            self.window(rel, reg - 3, 2, r(1, 3), PURSUIT)
        elif s is Story.QUALIFIED:
            reg = self.setup(rel, r(150, 300))
            qualified = r(40, reg - 45)
            self.window(rel, reg - 3, qualified + 3, r(2, 3), PURSUIT)
            self.qualify(rel, qualified)
            self.window(rel, qualified - 3, 2, r(1, 3), PURSUIT)
        elif s is Story.PROSPECT_TO_CUSTOMER:
            reg = self.setup(rel, r(260, 330))
            qualified = reg - r(30, 60)
            first = qualified - r(40, 90)
            rel.shipping.append((first - 3, 2))
            self.window(rel, reg - 3, qualified + 3, r(1, 2), PURSUIT)
            self.qualify(rel, qualified)
            self.window(rel, qualified - 3, first + 3, r(2, 3), PURSUIT)
            self.won_first_business(rel, first)
            self.window(rel, first - 3, 2, r(3, 6), ACCOUNT)
            self.customer_care(rel, first - 3, 2)
        elif s is Story.TARGET:
            reg = self.setup(rel, r(100, 300))
            self.window(rel, reg - 3, 2, r(2, 5), PURSUIT)
            self.greetings(rel, reg - 3, 2)
        elif s is Story.TARGET_TO_CUSTOMER:
            reg = self.setup(rel, r(220, 340))
            first = r(60, reg - 40)
            rel.shipping.append((first - 3, 2))
            self.window(rel, reg - 3, first + 3, r(2, 4), PURSUIT)
            self.won_first_business(rel, first)
            self.window(rel, first - 3, 2, r(3, 6), ACCOUNT)
            designated = None
            if key:
                designated = r(20, first - 20)
                self.designate_key_account(rel, designated)
            self.customer_care(rel, first - 3, 2, key_from=designated)
        elif s is Story.TARGET_COLD:
            reg = self.setup(rel, r(200, 320))
            cold = r(40, 120)
            self.window(rel, reg - 3, cold + 5, r(2, 3), PURSUIT)
            self.return_to_prospect(rel, cold)
        elif s is Story.PARTNER:
            reg = self.setup(rel, r(340, 364))
            self.window(rel, reg - 3, 2, r(4, 8), PARTNER)
            self.greetings(rel, reg - 3, 2, only_first=True)
        elif s is Story.COMPETITOR:
            reg = self.setup(rel, r(355, 364))
            self.window(rel, reg - 3, 2, r(1, 3), COMPETITOR)

    # --- set-up --------------------------------------------------------------------------

    def setup(self, rel: Rel, days_ago: int, *, walk_in: bool = False) -> int:
        """Register, assign the account team and add the contacts, one morning."""
        org, branch, rng, app, rid = rel.org, rel.branch, self.rng, self.app, rel.rid
        rel.registered_days_ago = days_ago
        conversation = f"{org.key}:setup"
        minute = rng.randint(9 * 60, 10 * 60 + 30)
        office = rng.choice(branch.office_reps)
        field_rep = None if org.story is Story.COMPETITOR else rng.choice(branch.field_reps)
        rel.teams.append((days_ago, field_rep, office))
        kind = REGISTERED_KIND[org.story]
        self.add(
            self.at(branch.zone, days_ago, minute),
            office,
            lambda ctx: app.register_relationship(
                ctx,
                name=org.name,
                kind=kind,
                industry=org.industry,
                region=branch.region,
                branch=branch.name,
                key_account=org.key_account is KeyAccount.FROM_START,
                relationship_id=rid,
            ),
            f"registered:{kind.value}",
            conversation,
        )
        minute += rng.randint(5, 25)
        self.add(
            self.at(branch.zone, days_ago, minute),
            branch.manager,
            lambda ctx: app.assign_account_team(ctx, rid, field_rep=field_rep, office_rep=office),
            "team",
            conversation,
        )
        for index in range(org.contacts):
            minute += rng.randint(3, 12)
            self.contact(rel, index, self.at(branch.zone, days_ago, minute), office, conversation)
        if walk_in:
            minute += rng.randint(20, 45)
            self.first_business(rel, days_ago, minute=minute, conversation=conversation)
        # Changes of team and name are planned first: interactions go to the team of their day.
        if org.rename_to is not None:
            self.rename(rel, self.between(days_ago - 60, 100), org.rename_to)
        if org.move_to is not None:
            self.move(rel, self.between(days_ago - 60, 120), BRANCHES[org.move_to])
        if org.handover:
            self.handover(rel, self.between(days_ago - 60, 60))
        return days_ago

    def contact(self, rel: Rel, index: int, when: datetime, actor: str, conversation: str) -> None:
        org, rng, app, rid = rel.org, self.rng, self.app, rel.rid
        english = org.english and (rel.branch.english or index == 0)
        taken = {c.first for c in rel.contacts}
        while True:
            if english:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                name = latin = f"{first} {last}"
                contact_id = f"{first}.{last}".lower()
                email = f"{first[0]}{last}@{org.domain}".lower()
            else:
                (surname, surname_py), (given, given_py) = (
                    rng.choice(SURNAMES),
                    rng.choice(GIVEN_NAMES),
                )
                name = surname + given
                latin = f"{surname_py.title()} {given_py.title()}"
                contact_id = f"{surname_py}.{given_py}"
                email = rng.choice(
                    (
                        f"{surname_py}.{given_py}@{org.domain}",
                        f"{given_py}.{surname_py}@{org.domain}",
                        f"{surname_py}{given_py}@{org.domain}",
                    )
                )
                first = given
            if first not in taken:
                break
        role = (
            "competitor"
            if org.story is Story.COMPETITOR
            else "partner"
            if org.story is Story.PARTNER
            else "customer"
        )
        titles = TITLES[(role, english)]
        used = {c.title for c in rel.contacts}
        title = titles[0] if index == 0 else rng.choice([t for t in titles[1:] if t not in used])
        if rel.branch.english:
            phone: str | None = f"+1 312 555 01{rng.randint(0, 99):02d}"
        elif english or rng.random() < 0.4:
            phone = f"{rel.branch.phone_prefix} {rng.randint(5000, 6999)} {rng.randint(1000, 9999)}"
        else:
            mobile = rng.choice(MOBILE_PREFIXES)
            phone = f"+86 {mobile} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        if org.story is Story.COMPETITOR:
            phone, email_or_none = None, None
        else:
            email_or_none = None if rng.random() < 0.1 else email
        contact = Contact(contact_id, name, latin, first, title)
        rel.contacts.append(contact)
        self.add(
            when,
            actor,
            lambda ctx: app.add_contact(
                ctx,
                rid,
                contact_id=contact_id,
                name=name,
                title=title,
                phone=phone,
                email=email_or_none,
            ),
            "contact",
            conversation,
        )

    # --- interactions and care ---------------------------------------------------------

    def window(self, rel: Rel, hi: int, lo: int, count: int, pools: Pools) -> None:
        """``count`` interactions between ``hi`` and ``lo`` days ago."""
        if hi < lo or count <= 0:
            return
        pool = pools[rel.english]
        chosen = (
            self.rng.sample(pool, count) if count <= len(pool) else self.rng.choices(pool, k=count)
        )
        for tpl in chosen:
            self.interaction(rel, self.rng.randint(lo, hi), tpl)

    def interaction(
        self, rel: Rel, days_ago: int, tpl: Tpl, *, conversation: str | None = None
    ) -> None:
        app, rid = self.app, rel.rid
        staff = (
            rel.field_rep(days_ago)
            if tpl.channel in (Channel.VISIT, Channel.MEETING)
            else rel.office_rep(days_ago)
        )
        weekend = tpl.direction is Direction.INBOUND and tpl.channel in (P, W)
        when = self.at(rel.branch.zone, days_ago, weekend=weekend)
        contact = self.rng.choice(rel.contacts) if "{contact}" in tpl.text else None
        competitor = self.rels[rel.org.lost_to].org.name if rel.org.lost_to else ""
        summary = tpl.text.format(
            contact=(contact.latin if rel.english else contact.name) if contact else "",
            lane=rel.org.lane,
            competitor=competitor,
        )
        interaction_id = self.uuid()
        contact_id = contact.contact_id if contact else None
        if tpl.incident:
            conversation = f"{rel.org.key}:incident:{interaction_id}"
        self.add(
            when,
            staff,
            lambda ctx: app.log_interaction(
                ctx,
                rid,
                interaction_id=interaction_id,
                channel=tpl.channel,
                direction=tpl.direction,
                summary=summary,
                staff=staff,
                contact_id=contact_id,
            ),
            f"interaction:{tpl.channel.value}",
            conversation,
        )
        if tpl.incident and days_ago > 3:
            follow_up = days_ago - self.rng.randint(3, min(6, days_ago - 1))
            self.care(
                rel,
                follow_up,
                CareActionKind.FOLLOW_UP_AFTER_INCIDENT,
                staff=rel.branch.manager
                if rel.org.key_account is not KeyAccount.NO
                else rel.office_rep(follow_up),
                contact=contact,
                conversation=conversation,
            )

    def care(
        self,
        rel: Rel,
        days_ago: int,
        kind: CareActionKind,
        *,
        text: str | None = None,
        staff: str | None = None,
        contact: Contact | None = None,
        conversation: str | None = None,
    ) -> None:
        app, rid = self.app, rel.rid
        contact = contact or self.rng.choice(rel.contacts)
        note = (text or self.rng.choice(CARE[kind][rel.english])).format(
            contact=contact.latin if rel.english else contact.name,
            score=self.rng.choice((3, 4, 4, 4, 5, 5)),
        )
        who = staff or (
            rel.field_rep(days_ago)
            if kind in (CareActionKind.GIFT, CareActionKind.REVIEW_MEETING)
            else rel.office_rep(days_ago)
        )
        care_id = self.uuid()
        self.add(
            self.at(rel.branch.zone, days_ago),
            who,
            lambda ctx: app.record_customer_care(
                ctx, rid, care_id=care_id, care_kind=kind, note=note, staff=who
            ),
            f"care:{kind.value}",
            conversation,
        )

    def customer_care(self, rel: Rel, hi: int, lo: int, *, key_from: int | None = None) -> None:
        """Satisfaction calls and greetings between ``hi`` and ``lo`` days ago; a key account
        (from ``key_from`` days ago, else from the start) also gets a second satisfaction
        call, sometimes a gift and, after a year as a customer, an annual review meeting with
        the branch manager."""
        if hi < lo:
            return
        r = self.rng.randint
        key = rel.org.key_account is not KeyAccount.NO
        key_hi = min(hi, key_from - 3) if key_from is not None else hi
        if key and key_hi - lo >= 60:
            middle = (key_hi + lo) // 2
            for day in (r(middle + 20, key_hi), r(lo, middle - 20)):
                self.care(rel, day, CareActionKind.SATISFACTION_CALL)
            if hi - lo >= 180:  # a customer for the year: the annual review
                self.care(
                    rel,
                    r(lo, min(key_hi, 60)),
                    CareActionKind.REVIEW_MEETING,
                    staff=rel.branch.manager,
                )
            if self.rng.random() < 0.6:
                self.care(rel, r(lo, key_hi), CareActionKind.GIFT)
        else:
            self.care(rel, r(lo, hi), CareActionKind.SATISFACTION_CALL)
        self.greetings(rel, hi, lo)

    def greetings(self, rel: Rel, hi: int, lo: int, *, only_first: bool = False) -> None:
        holidays = list(GREETINGS[rel.english])
        if rel.branch.english:
            holidays.append(THANKSGIVING)
        if only_first:
            holidays = holidays[:1]
        today = self.now.astimezone(rel.branch.zone).date()
        for (month, day), text in holidays:
            holiday = date(today.year, month, day)
            if holiday >= today:
                holiday = date(today.year - 1, month, day)
            days_ago = (today - holiday).days
            if lo <= days_ago <= hi:
                self.care(rel, days_ago, CareActionKind.GREETING, text=text)

    # --- kind and lifecycle ------------------------------------------------------------

    def reason(self, what: str, rel: Rel, **values: object) -> str:
        return REASONS[what][rel.english].format(lane=rel.org.lane, **values)

    def qualify(self, rel: Rel, days_ago: int) -> None:
        app, rid = self.app, rel.rid
        reason = self.reason("qualify", rel, tons=self.rng.randrange(50, 800, 10))
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.field_rep(days_ago),
            lambda ctx: app.qualify_as_target(ctx, rid, reason=reason),
            "qualified",
        )

    def first_business(
        self,
        rel: Rel,
        days_ago: int,
        *,
        minute: int | None = None,
        conversation: str | None = None,
    ) -> None:
        app, rid = self.app, rel.rid
        when = self.at(rel.branch.zone, days_ago, minute)
        reference = f"{rel.branch.code}-{when:%y%m%d}-{self.rng.randint(1, 999):03d}"
        self.add(
            when,
            rel.office_rep(days_ago),
            lambda ctx: app.record_first_business(ctx, rid, reference=reference),
            "first_business",
            conversation,
        )

    def won_first_business(self, rel: Rel, days_ago: int) -> None:
        """A prospect or target wins its first opportunity; the service records its first
        business right after the win, and it becomes a customer."""
        self.pursue(
            rel,
            "new",
            start=days_ago + self.sales.randint(24, 40),
            last=days_ago,
            reach=Stage.IMPLEMENTATION,
            outcome=OpportunityStatus.WON,
        )

    def return_to_prospect(self, rel: Rel, days_ago: int) -> None:
        app, rid = self.app, rel.rid
        reason = self.reason("cold", rel)
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.field_rep(days_ago),
            lambda ctx: app.return_to_prospect(ctx, rid, reason=reason),
            "returned_to_prospect",
        )
        self.pursue(
            rel,
            "new",
            start=days_ago + 50,
            last=days_ago + 3,
            reach=Stage.CONTROL,
            outcome=OpportunityStatus.LOST,
            loss=LossReason.NO_DECISION,
        )

    def mark_dormant(self, rel: Rel, days_ago: int) -> None:
        app, rid = self.app, rel.rid
        conversation = f"{rel.org.key}:dormant"
        self.interaction(
            rel,
            days_ago + self.rng.randint(4, 10),
            DORMANT_CHECK[rel.english],
            conversation=conversation,
        )
        reason = self.reason("dormant", rel)
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.office_rep(days_ago),
            lambda ctx: app.mark_dormant(ctx, rid, reason=reason),
            "dormant",
            conversation,
        )
        self.pursue(
            rel,
            "renewal",
            start=days_ago + 60,
            last=days_ago + 10,
            reach=Stage.TRACKING,
            outcome=OpportunityStatus.LOST,
            loss=LossReason.NO_DECISION,
        )

    def reactivate(self, rel: Rel, days_ago: int) -> None:
        app, rid = self.app, rel.rid
        conversation = f"{rel.org.key}:reactivation"
        self.interaction(
            rel,
            days_ago + self.rng.randint(3, 5),
            REACTIVATION[rel.english],
            conversation=conversation,
        )
        reason = self.reason("reactivate", rel)
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.field_rep(days_ago),
            lambda ctx: app.reactivate(ctx, rid, reason=reason),
            "reactivated",
            conversation,
        )
        self.pursue(
            rel,
            "resume",
            start=days_ago + 30,
            last=days_ago + 2,
            reach=Stage.IMPLEMENTATION,
            outcome=OpportunityStatus.WON,
        )

    def mark_lost(self, rel: Rel, days_ago: int) -> None:
        assert rel.org.lost_to is not None, f"{rel.org.key} is lost to no competitor"
        app, rid = self.app, rel.rid
        competitor = self.rels[rel.org.lost_to]
        conversation = f"{rel.org.key}:lost"
        self.interaction(
            rel,
            days_ago + self.rng.randint(3, 6),
            LOSS_NOTICE[rel.english],
            conversation=conversation,
        )
        reason = self.reason("lost", rel, competitor=competitor.org.name)
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.branch.manager,
            lambda ctx: app.mark_lost(
                ctx, rid, reason=reason, lost_to_competitor_id=competitor.rid
            ),
            "lost",
            conversation,
        )
        lost_to = rel.org.lost_to
        self.pursue(
            rel,
            "renewal",
            start=days_ago + 70,
            last=days_ago + 4,
            reach=Stage.CONTROL,
            outcome=OpportunityStatus.LOST,
            loss=LossReason.PRICE,
            lost_to=lost_to,
            competitors=[lost_to],
        )

    def win_back(self, rel: Rel, lost_days_ago: int, days_ago: int) -> None:
        app, rid = self.app, rel.rid
        conversation = f"{rel.org.key}:win_back"
        visit, review = WIN_BACK[rel.english]
        trial = self.rng.randint(days_ago + 30, lost_days_ago - 20)
        self.interaction(rel, trial, visit, conversation=conversation)
        self.interaction(rel, days_ago + self.rng.randint(3, 8), review, conversation=conversation)
        reason = self.reason("won_back", rel)
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.branch.manager,
            lambda ctx: app.win_back(ctx, rid, reason=reason),
            "won_back",
            conversation,
        )
        assert rel.org.lost_to is not None
        self.pursue(
            rel,
            "win_back",
            start=days_ago + 45,
            last=days_ago + 1,
            reach=Stage.IMPLEMENTATION,
            outcome=OpportunityStatus.WON,
            competitors=[rel.org.lost_to],
        )

    # --- other changes -----------------------------------------------------------------

    def designate_key_account(self, rel: Rel, days_ago: int) -> None:
        app, rid, org = self.app, rel.rid, rel.org
        amount = self.rng.choice((300, 500, 800))  # 万元 (ten thousands of CNY)
        reason = self.reason(
            "key_account",
            rel,
            amount=amount,
            millions=amount // 100,
            industry=org.industry,
            industry_zh=INDUSTRY_ZH.get(org.industry, org.industry),
        )
        self.add(
            self.at(rel.branch.zone, days_ago),
            HQ_KEY_ACCOUNTS,
            lambda ctx: app.designate_key_account(ctx, rid, reason=reason),
            "key_account",
        )

    def rename(self, rel: Rel, days_ago: int, name: str) -> None:
        app, rid = self.app, rel.rid
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.office_rep(days_ago),
            lambda ctx: app.rename_relationship(ctx, rid, name=name),
            "renamed",
        )

    def move(self, rel: Rel, days_ago: int, branch: Branch) -> None:
        """Production moves: the relationship goes to another branch and its team."""
        app, rid = self.app, rel.rid
        conversation = f"{rel.org.key}:move"
        self.add(
            self.at(rel.branch.zone, days_ago),
            HQ_KEY_ACCOUNTS,
            lambda ctx: app.move_to_branch(ctx, rid, region=branch.region, branch=branch.name),
            "moved",
            conversation,
        )
        field_rep, office_rep = branch.field_reps[0], branch.office_reps[0]
        rel.teams.append((days_ago - 3, field_rep, office_rep))
        self.add(
            self.at(branch.zone, days_ago - 3),
            branch.manager,
            lambda ctx: app.assign_account_team(
                ctx, rid, field_rep=field_rep, office_rep=office_rep
            ),
            "team",
            conversation,
        )

    def handover(self, rel: Rel, days_ago: int) -> None:
        """The field rep hands the account over to a colleague of the same branch."""
        app, rid = self.app, rel.rid
        current, office_rep = rel.team(days_ago)
        field_rep = next(r for r in rel.branch.field_reps if r != current)
        rel.teams.append((days_ago, field_rep, office_rep))
        self.add(
            self.at(rel.branch.zone, days_ago),
            rel.branch.manager,
            lambda ctx: app.assign_account_team(
                ctx, rid, field_rep=field_rep, office_rep=office_rep
            ),
            "team",
        )

    # --- shipments -----------------------------------------------------------------------

    def shipments(self) -> None:
        """Every customer books on its route while it does business with us; then the
        stories told in full: the seed case, an arbitration, recoveries claimed, received
        and waived, a dispute awaiting headquarters, cancellations."""
        rng = self.rng
        for org in ORGS:
            route = ROUTES.get(org.key)
            if route is None:
                continue
            rel = self.rels[org.key]
            for hi, lo in rel.shipping:
                day = min(hi, FIRST_BOOKING_DAYS_AGO) - rng.randint(0, route.every // 2)
                while day >= lo:
                    self.routine_shipment(rel, route, day)
                    day -= max(3, round(route.every * rng.uniform(0.6, 1.4)))
                if lo <= 2 and rng.random() < 0.5:  # booked in the last days: on its way
                    self.routine_shipment(rel, route, rng.randint(1, 4))
        self.seed_case()
        self.missed_flight_arbitrated()
        self.forklift_damage_recovery_claimed()
        self.wrong_hs_code_recovery_waived()
        self.short_landed_recovered()
        self.temperature_excursion_disputed()
        self.cancelled(
            self.rels["kessler"],
            120,
            "Production at the plant slipped a week; the customer withdrew this booking.",
        )
        self.cancelled(self.rels["huaxin"], 60, "客户的美国买家推迟订单，本票取消。")

    def routine_shipment(self, rel: Rel, route: Route, days_ago: int) -> None:
        """Booked, carried — one in eight runs late on a link — delivered, mostly evaluated."""
        rng = self.rng
        v = self.book(rel, route, days_ago)
        delay = None
        if rng.random() < 0.125:
            sequence = rng.choice([k for k, leg in enumerate(route.legs, 1) if leg.hours >= 8])
            delay = Delay(sequence, rng.choice((12, 24, 36, 48)))
        self.carry(v, delay=delay)
        if v.delivered_at is not None and rng.random() < 0.9:
            late = v.delivered_at > v.plans[-1].planned_end
            self.evaluate(v, rng.choice((2, 3) if late else (4, 5, 5)), rng.randint(1, 6))

    def book(
        self,
        rel: Rel,
        route: Route,
        days_ago: int,
        *,
        shipment_id: UUID | None = None,
        cargo: Cargo | None = None,
    ) -> Voyage:
        rng = self.rng
        when = self.at(rel.branch.zone, days_ago)
        if cargo is None:
            goods = route.goods
            packages = rng.randint(*goods.packages)
            weight = packages * rng.randint(*goods.kg_per_package)
            cargo = Cargo(
                description=f"{goods.en}, {packages} {goods.unit_en}"
                if rel.english
                else f"{goods.zh}，{packages}{goods.unit_zh}",
                packages=packages,
                gross_weight_kg=Decimal(weight),
                declared_value=Decimal(round(weight * rng.randint(*goods.value_per_kg), -2)),
                currency=route.currency,
            )
        charges = self.charges(route, cargo)
        start = when + timedelta(hours=rng.randint(16, 40))
        plans = []
        for leg in route.legs:
            end = start + timedelta(hours=leg.hours)
            plans.append(LinkPlan(leg.function, self.party(leg.party), start, end, leg.mode))
            start = end
        v = Voyage(
            sid=shipment_id or self.uuid(),
            rel=rel,
            route=route,
            reference=f"{rel.branch.code}-{when:%y%m%d}-{rng.randint(100, 999)}",
            ops=BRANCHES[route.ops] if route.ops else rel.branch,
            plans=plans,
            charges=charges,
        )
        self.voyages.append(v)
        self.ship(
            v,
            when,
            rel.office_rep(days_ago),
            partial(
                self.app.book_shipment,
                customer_id=rel.rid,
                reference=v.reference,
                origin=route.origin,
                destination=route.destination,
                cargo=cargo,
                links=plans,
                charges=charges,
                shipment_id=v.sid,
            ),
            "booked",
        )
        return v

    def party(self, key: str) -> Party:
        if key in BRANCHES:
            return Party.our_branch(BRANCHES[key].name)
        return Party.partner(self.rels[key].rid)

    def person(self, english: bool) -> str:
        if english:
            return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
        return self.rng.choice(SURNAMES)[0] + self.rng.choice(GIVEN_NAMES)[0]

    def signatory(self, key: str) -> str:
        """Who signs for the goods at a party: its name and a person's."""
        if key in BRANCHES:
            branch = BRANCHES[key]
            return f"{branch.name} · {self.person(branch.english)}"
        org = self.rels[key].org
        return f"{org.name} · {self.person(org.english)}"

    def desk(self, v: Voyage, sequence: int) -> Branch:
        """The office that records what happens on a link: the branch that performs it; for
        a partner, our Chicago office on the American side, else the office of the origin."""
        key = v.route.legs[sequence - 1].party
        if key in BRANCHES:
            return BRANCHES[key]
        return BRANCHES["CHI"] if self.rels[key].branch.code == "CHI" else v.ops

    def ship(self, v: Voyage, when: datetime, actor: str, run: Run, tally: str) -> None:
        """A step of a shipment. Its commands share one correlation id; what would happen
        after the time of loading has not happened yet, and is left out."""
        if when <= self.now - SHIPMENT_CUTOFF:
            self.add(when, actor, run, f"shipment:{tally}", f"shipment:{v.sid}")

    def carry(
        self,
        v: Voyage,
        *,
        conditions: Mapping[int, Condition] | None = None,
        remarks: Mapping[int, str] | None = None,
        delay: Delay | None = None,
        delivered: tuple[Condition, str | None] = (Condition.GOOD, None),
    ) -> None:
        """Run the chain. Link k starts, receives the goods from link k-1 (the shipper, for
        the pickup), which then completes; the last link delivers. A delay on a link is
        reported while it runs, and every later link runs that much later."""
        rng, app, sid = self.rng, self.app, v.sid
        conditions, remarks = conditions or {}, remarks or {}
        drift = -timedelta(minutes=rng.randint(0, 180))
        started: datetime | None = None
        for sequence, (plan, leg) in enumerate(zip(v.plans, v.route.legs, strict=True), 1):
            received = plan.planned_start + drift + timedelta(minutes=rng.randint(0, 90))
            if v.received:
                received = max(received, v.received[-1] + timedelta(hours=1))
            start = received - timedelta(minutes=rng.randint(20, 90))
            started = start if started is None else max(start, started)
            desk = self.desk(v, sequence)
            self.ship(
                v,
                started,
                desk.office_reps[0],
                partial(app.start_link, sid=sid, sequence=sequence),
                "link_started",
            )
            self.ship(
                v,
                received,
                desk.office_reps[0],
                partial(
                    app.hand_over,
                    sid=sid,
                    to_sequence=sequence,
                    condition=conditions.get(sequence, Condition.GOOD),
                    signed_by=self.signatory(leg.party),
                    reference=self.transport_document(leg),
                    remarks=remarks.get(sequence),
                ),
                "handover",
            )
            if sequence > 1:
                self.ship(
                    v,
                    received,
                    self.desk(v, sequence - 1).office_reps[0],
                    partial(app.complete_link, sid=sid, sequence=sequence - 1),
                    "link_completed",
                )
            v.received.append(received)
            if leg.function is F.MAIN_CARRIAGE and self.sales.random() < 0.12:
                self.requote(v, received + timedelta(hours=self.sales.randint(1, 3)))
            if delay is not None and delay.sequence == sequence:
                drift += timedelta(hours=delay.hours)
                zh, en = rng.choice(DELAY_REASONS[leg.mode])
                self.ship(
                    v,
                    received + timedelta(hours=rng.randint(2, 5)),
                    desk.office_reps[0],
                    partial(
                        app.report_delay,
                        sid=sid,
                        sequence=sequence,
                        estimated_end=plan.planned_end + drift,
                        reason=delay.reason or (en if desk.english else zh),
                    ),
                    "delay",
                )
        at = v.plans[-1].planned_end + drift - timedelta(minutes=rng.randint(0, 120))
        at = max(at, v.received[-1] + timedelta(hours=1))
        condition, note = delivered
        last = self.desk(v, len(v.plans))
        self.ship(
            v,
            at,
            last.office_reps[0],
            partial(
                app.deliver,
                sid=sid,
                condition=condition,
                signed_by=f"{v.route.destination.split(',')[0]} consignee · {self.person(True)}",
                proof_of_delivery=f"POD-{v.reference}",
                remarks=note,
            ),
            "delivered",
        )
        v.delivered_at = at
        self.bill(v)

    def transport_document(self, leg: Leg) -> str | None:
        if leg.function is not F.MAIN_CARRIAGE:
            return None
        number = self.rng.randint(10_000_000, 99_999_999)
        if leg.mode is AIR:
            return f"AWB 999-{number}"
        return f"B/L MRDL{number}" if leg.mode is SEA else f"CIM {number}"

    def evaluate(
        self,
        v: Voyage,
        rating: int,
        days_after: int,
        remarks: tuple[str, str] | None = None,
    ) -> None:
        assert v.delivered_at is not None
        when = v.delivered_at + timedelta(days=days_after, hours=self.rng.randint(0, 6))
        zh, en = remarks or EVALUATION_REMARKS[rating]
        self.ship(
            v,
            when,
            v.rel.office_rep((self.now - when).days),
            partial(
                self.app.evaluate_shipment,
                sid=v.sid,
                rating=rating,
                remarks=en if v.rel.english else zh,
            ),
            "evaluated",
        )

    def cancelled(self, rel: Rel, days_ago: int, reason: str) -> None:
        route = ROUTES[rel.org.key]
        v = self.book(rel, route, days_ago)
        self.ship(
            v,
            self.at(rel.branch.zone, days_ago, 17 * 60 + 30),
            rel.office_rep(days_ago),
            partial(self.app.cancel_shipment, sid=v.sid, reason=reason),
            "cancelled",
        )

    # --- shipments: the stories told in full ---------------------------------------------

    def seed_case(self) -> None:
        """Laptops from Suzhou to Chicago: 8 of 96 cartons crushed on arrival at O'Hare, the
        airline handed them over damaged and accepts; we compensate the customer in full and
        recover from the airline only up to the Montreal Convention's 26 SDR/kg."""
        app, rel = self.app, self.rels["huaxin"]
        suzhou, chicago = rel.branch, BRANCHES["CHI"]
        cargo = Cargo("笔记本电脑，96箱", 96, Decimal("1440"), Decimal("432000"), "USD")
        v = self.book(rel, ROUTES["huaxin"], 150, shipment_id=SEED_CASE_ID, cargo=cargo)
        crushed = "8 cartons crushed, contents rattling; noted on the airline's cargo manifest"
        self.carry(
            v,
            conditions={4: Condition.DAMAGED, 5: Condition.DAMAGED, 6: Condition.DAMAGED},
            remarks={4: crushed},
            delivered=(Condition.DAMAGED, "88 cartons good, 8 crushed as noted at import"),
        )
        assert v.delivered_at is not None
        sid, incident, claim = v.sid, self.uuid(), self.uuid()
        weight, amount = Decimal("120"), Decimal("36000")
        recoverable = liability_limit(
            LiabilityRegime.MONTREAL,
            weight_kg=weight,
            packages=8,
            sdr_rate=SDR_RATES["USD"],
            currency="USD",
        ).amount
        found = v.received[3] + timedelta(minutes=40)
        self.complaint(v, incident, found, "seed_case")
        notice = v.delivered_at + timedelta(days=3, hours=2)
        paid = notice + timedelta(days=9)
        office = suzhou.office_reps[0]
        self.chronicle(
            v,
            (
                found,
                chicago.office_reps[0],
                partial(
                    app.report_incident,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=4,
                    kind=IncidentKind.DAMAGE,
                    description="8 of 96 cartons of laptops crushed on arrival at ORD, contents "
                    "rattling; the airline's handover noted the damage.",
                    packages_affected=8,
                    weight_affected_kg=weight,
                ),
                "incident",
            ),
            (
                found + timedelta(hours=1),
                chicago.office_reps[0],
                partial(
                    app.record_coordination_action,
                    sid=sid,
                    incident_id=incident,
                    action="Photos taken; damage report requested from the airline's ORD cargo "
                    "terminal; the 8 cartons set aside for survey.",
                ),
                "coordination",
            ),
            (
                found + timedelta(hours=3),
                office,
                partial(
                    app.record_coordination_action,
                    sid=sid,
                    incident_id=incident,
                    action="已通知客户；从苏州库存调拨8箱替换品，安排下一班航班发运。",
                ),
                "coordination",
            ),
            (  # no link named: the proposal from custody, the airline that handed over damaged
                found + timedelta(hours=5),
                suzhou.manager,
                partial(app.assign_responsibility, sid=sid, incident_id=incident),
                "responsibility",
            ),
            (
                found + timedelta(days=4),
                office,
                partial(
                    app.accept_responsibility,
                    sid=sid,
                    incident_id=incident,
                    note="申航货运理赔部来函确认：交接时外箱已压损，接受责任。",
                ),
                "responsibility_accepted",
            ),
            (
                notice,
                office,
                partial(
                    app.file_claim,
                    sid=sid,
                    claim_id=claim,
                    incident_id=incident,
                    amount=amount,
                    currency="USD",
                ),
                "claim",
            ),
            (
                paid,
                suzhou.manager,
                partial(
                    app.pay_compensation,
                    sid=sid,
                    claim_id=claim,
                    amount=amount,
                    payment_reference=f"PAY-{v.reference}",
                ),
                "compensation",
            ),
            (
                paid + timedelta(days=1),
                office,
                partial(
                    app.assess_liability_limit,
                    sid=sid,
                    claim_id=claim,
                    sdr_rate=SDR_RATES["USD"],
                ),
                "limit",
            ),
            (
                paid + timedelta(days=1, hours=1),
                office,
                partial(app.claim_recovery, sid=sid, claim_id=claim, amount=recoverable),
                "recovery_claimed",
            ),
            (
                paid + timedelta(days=35),
                office,
                partial(app.receive_recovery, sid=sid, claim_id=claim, amount=recoverable),
                "recovery_received",
            ),
            (
                paid + timedelta(days=36),
                suzhou.manager,
                partial(
                    app.resolve_incident,
                    sid=sid,
                    incident_id=incident,
                    resolution=f"客户获全额赔付 USD {amount:,}；按蒙特利尔公约（26 SDR/kg × "
                    f"{weight} kg，1 SDR = {SDR_RATES['USD']} USD）向申航追偿 USD "
                    f"{recoverable:,}，已到账。",
                ),
                "incident_resolved",
            ),
            (
                paid + timedelta(days=36, hours=1),
                office,
                partial(
                    app.close_claim,
                    sid=sid,
                    claim_id=claim,
                    note="全额赔付客户，向承运人追偿至公约限额，结案。",
                ),
                "claim_closed",
            ),
        )
        self.evaluate(
            v,
            3,
            5,
            ("时效满意；8箱破损，但赔付及时。", "On time; 8 cartons damaged, compensated at once."),
        )

    def chronicle(self, v: Voyage, *steps: tuple[datetime, str, Run, str]) -> None:
        for when, actor, run, tally in steps:
            self.ship(v, when, actor, run, tally)

    def missed_flight_arbitrated(self) -> None:
        """A delay the airline disputes: headquarters finds our own pickup late, so we
        compensate the customer and have no one to recover from."""
        app, rel = self.app, self.rels["hongxun"]
        shenzhen = rel.branch
        cargo = Cargo("通信模组，60箱", 60, Decimal("780"), Decimal("312000"), "USD")
        v = self.book(rel, ROUTES["hongxun"], 200, cargo=cargo)
        self.carry(
            v,
            delay=Delay(3, 24, "货物未赶上原订香港—芝加哥货机，改配次日航班。"),
        )
        assert v.delivered_at is not None
        sid, incident, claim = v.sid, self.uuid(), self.uuid()
        found = v.received[2] + timedelta(hours=2)
        self.complaint(v, incident, found, "missed_flight")
        notice = v.delivered_at + timedelta(days=2, hours=1)
        amount = Decimal("6800")
        office = shenzhen.office_reps[0]
        self.chronicle(
            v,
            (
                found,
                office,
                partial(
                    app.report_incident,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=3,
                    kind=IncidentKind.DELAY,
                    description="货物未赶上原订香港—芝加哥货机，晚到一天；客户芝加哥工厂等料。",
                ),
                "incident",
            ),
            (
                found + timedelta(hours=1),
                shenzhen.manager,
                partial(app.assign_responsibility, sid=sid, incident_id=incident),
                "responsibility",
            ),
            (
                found + timedelta(days=1),
                office,
                partial(
                    app.dispute_responsibility,
                    sid=sid,
                    incident_id=incident,
                    reason="Victoria Harbour 回函：货物23:40才交到香港机场货站，晚于22:00截载，"
                    "航班准点起飞，不接受责任。",
                ),
                "responsibility_disputed",
            ),
            (
                found + timedelta(days=5),
                HQ_OPERATIONS,
                partial(
                    app.arbitrate_responsibility,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=1,
                    decision="总部仲裁：货站收货记录（23:40）与车辆GPS显示，深圳提货车晚离厂"
                    "3小时，航空公司按时起飞。责任在第1段（深圳分公司提货）。",
                ),
                "arbitrated",
            ),
            (
                notice,
                office,
                partial(
                    app.file_claim,
                    sid=sid,
                    claim_id=claim,
                    incident_id=incident,
                    amount=amount,
                    currency="USD",
                ),
                "claim",
            ),
            (
                notice + timedelta(days=7),
                shenzhen.manager,
                partial(
                    app.pay_compensation,
                    sid=sid,
                    claim_id=claim,
                    amount=amount,
                    payment_reference=f"PAY-{v.reference}",
                ),
                "compensation",
            ),
            (
                notice + timedelta(days=8),
                shenzhen.manager,
                partial(
                    app.resolve_incident,
                    sid=sid,
                    incident_id=incident,
                    resolution="已全额赔付客户加急及停线费用；责任在我司提货环节，无可追偿。"
                    "香港航班提货改为截载前5小时离厂。",
                ),
                "incident_resolved",
            ),
            (
                notice + timedelta(days=8, hours=1),
                office,
                partial(
                    app.close_claim,
                    sid=sid,
                    claim_id=claim,
                    note="我司自身环节责任，不追偿，结案。",
                ),
                "claim_closed",
            ),
        )
        self.evaluate(v, 2, 3)

    def forklift_damage_recovery_claimed(self) -> None:
        """Cartons crushed at the O'Hare warehouse: it accepts, we compensate, and recovery
        under our company terms (5 SDR/kg) is claimed and not yet paid."""
        app, rel = self.app, self.rels["prairie"]
        chicago = rel.branch
        cargo = Cargo(
            "laptop computers and accessories, 120 cartons",
            120,
            Decimal("1800"),
            Decimal("540000"),
            "USD",
        )
        v = self.book(rel, ROUTES["prairie"], 40, cargo=cargo)
        self.carry(
            v,
            conditions={6: Condition.DAMAGED},
            remarks={6: "5 cartons crushed, forklift tine marks; photographed at the dock"},
            delivered=(Condition.DAMAGED, "115 cartons good, 5 crushed as noted at pickup"),
        )
        assert v.delivered_at is not None
        sid, incident, claim = v.sid, self.uuid(), self.uuid()
        recoverable = liability_limit(
            LiabilityRegime.COMPANY_TERMS,
            weight_kg=cargo.weight_of(5),
            packages=5,
            sdr_rate=SDR_RATES["USD"],
            currency="USD",
        ).amount
        found = v.received[5] + timedelta(minutes=30)
        self.complaint(v, incident, found, "forklift")
        notice = v.delivered_at + timedelta(days=2, hours=1)
        amount = Decimal("22500")
        office = chicago.office_reps[0]
        self.chronicle(
            v,
            (
                found,
                office,
                partial(
                    app.report_incident,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=6,
                    kind=IncidentKind.DAMAGE,
                    description="5 cartons crushed when loaded onto the delivery truck at the "
                    "O'Hare warehouse; forklift tine marks on the cartons.",
                    packages_affected=5,
                ),
                "incident",
            ),
            (
                found + timedelta(hours=2),
                chicago.manager,
                partial(app.assign_responsibility, sid=sid, incident_id=incident),
                "responsibility",
            ),
            (
                found + timedelta(days=3),
                office,
                partial(
                    app.accept_responsibility,
                    sid=sid,
                    incident_id=incident,
                    note="O'Hare Cargo Handling accepts under its incident report IR-2291.",
                ),
                "responsibility_accepted",
            ),
            (
                notice,
                office,
                partial(
                    app.file_claim,
                    sid=sid,
                    claim_id=claim,
                    incident_id=incident,
                    amount=amount,
                    currency="USD",
                ),
                "claim",
            ),
            (
                notice + timedelta(days=6),
                chicago.manager,
                partial(
                    app.pay_compensation,
                    sid=sid,
                    claim_id=claim,
                    amount=amount,
                    payment_reference=f"PAY-{v.reference}",
                ),
                "compensation",
            ),
            (
                notice + timedelta(days=7),
                office,
                partial(
                    app.assess_liability_limit,
                    sid=sid,
                    claim_id=claim,
                    sdr_rate=SDR_RATES["USD"],
                ),
                "limit",
            ),
            (
                notice + timedelta(days=7, hours=1),
                office,
                partial(app.claim_recovery, sid=sid, claim_id=claim, amount=recoverable),
                "recovery_claimed",
            ),
        )
        self.evaluate(v, 4, 2)

    def wrong_hs_code_recovery_waived(self) -> None:
        """A customs broker's keying error holds the crates two days; we compensate the
        customer and, for goodwill and a small amount, waive recovery."""
        app, rel = self.app, self.rels["kunshan_mould"]
        suzhou = rel.branch
        cargo = Cargo("精密模具，6木箱", 6, Decimal("7200"), Decimal("162000"), "USD")
        v = self.book(rel, ROUTES["kunshan_mould"], 240, cargo=cargo)
        self.carry(v, delay=Delay(2, 48, "HS编码误报，海关退单重报，货物滞港两天，改配下一班船。"))
        assert v.delivered_at is not None
        sid, incident, claim = v.sid, self.uuid(), self.uuid()
        found = v.received[1] + timedelta(hours=6)
        self.complaint(v, incident, found, "hs_code")
        notice = v.delivered_at + timedelta(days=3, hours=2)
        amount = Decimal("860")
        office = suzhou.office_reps[0]
        self.chronicle(
            v,
            (
                found,
                office,
                partial(
                    app.report_incident,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=2,
                    kind=IncidentKind.DOCUMENTATION_ERROR,
                    description="出口报关单HS编码误报为8480.71（应为8466.94），海关退单重报，"
                    "货物滞港两天，错过原订船期。",
                ),
                "incident",
            ),
            (
                found + timedelta(hours=3),
                suzhou.manager,
                partial(
                    app.assign_responsibility,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=2,
                    basis=ResponsibilityBasis.INVESTIGATION,
                    explanation="报关由通关宝申报；客户发票和品名清单编码正确，差错发生在录入环节。",
                ),
                "responsibility",
            ),
            (
                found + timedelta(days=1),
                office,
                partial(
                    app.accept_responsibility,
                    sid=sid,
                    incident_id=incident,
                    note="通关宝确认录入差错，接受责任。",
                ),
                "responsibility_accepted",
            ),
            (
                notice,
                office,
                partial(
                    app.file_claim,
                    sid=sid,
                    claim_id=claim,
                    incident_id=incident,
                    amount=amount,
                    currency="USD",
                ),
                "claim",
            ),
            (
                notice + timedelta(days=5),
                suzhou.manager,
                partial(
                    app.pay_compensation,
                    sid=sid,
                    claim_id=claim,
                    amount=amount,
                    payment_reference=f"PAY-{v.reference}",
                ),
                "compensation",
            ),
            (
                notice + timedelta(days=6),
                suzhou.manager,
                partial(
                    app.waive_recovery,
                    sid=sid,
                    claim_id=claim,
                    reason="通关宝三年来首次差错，合作良好；USD 860 低于追偿成本。"
                    "改为新品HS编码双人复核。",
                ),
                "recovery_waived",
            ),
            (
                notice + timedelta(days=6, hours=1),
                suzhou.manager,
                partial(
                    app.resolve_incident,
                    sid=sid,
                    incident_id=incident,
                    resolution="已赔付客户额外港杂及改船费用；放弃向通关宝追偿。",
                ),
                "incident_resolved",
            ),
            (
                notice + timedelta(days=6, hours=2),
                office,
                partial(
                    app.close_claim, sid=sid, claim_id=claim, note="赔付完毕，放弃追偿，结案。"
                ),
                "claim_closed",
            ),
        )
        self.evaluate(v, 3, 4)

    def short_landed_recovered(self) -> None:
        """Two crates short at Hamburg: the ocean line accepts; recovery under the
        Hague-Visby Rules (the higher of 666.67 SDR per package and 2 SDR/kg) is received."""
        app, rel = self.app, self.rels["binhai"]
        beijing = rel.branch
        cargo = Cargo("工程机械部件，12木箱", 12, Decimal("24000"), Decimal("216000"), "EUR")
        v = self.book(rel, ROUTES["binhai"], 280, cargo=cargo)
        self.carry(
            v,
            delivered=(
                Condition.SHORT,
                "2 of 12 crates missing against the packing list; noted on the terminal tally",
            ),
        )
        assert v.delivered_at is not None
        sid, incident, claim = v.sid, self.uuid(), self.uuid()
        recoverable = liability_limit(
            LiabilityRegime.HAGUE_VISBY,
            weight_kg=cargo.weight_of(2),
            packages=2,
            sdr_rate=SDR_RATES["EUR"],
            currency="EUR",
        ).amount
        found = v.delivered_at + timedelta(hours=3)
        self.complaint(v, incident, found, "short_landed")
        notice = v.delivered_at + timedelta(days=2, hours=2)
        amount = Decimal("36000")
        office = beijing.office_reps[0]
        self.chronicle(
            v,
            (
                found,
                office,
                partial(
                    app.report_incident,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=3,
                    kind=IncidentKind.SHORTAGE,
                    description="汉堡卸船理货短少2木箱；天津装船理货记录显示已装船。",
                    packages_affected=2,
                ),
                "incident",
            ),
            (
                found + timedelta(hours=2),
                beijing.manager,
                partial(app.assign_responsibility, sid=sid, incident_id=incident),
                "responsibility",
            ),
            (
                notice,
                office,
                partial(
                    app.file_claim,
                    sid=sid,
                    claim_id=claim,
                    incident_id=incident,
                    amount=amount,
                    currency="EUR",
                ),
                "claim",
            ),
            (
                found + timedelta(days=10),
                office,
                partial(
                    app.accept_responsibility,
                    sid=sid,
                    incident_id=incident,
                    note="Meridian Ocean Line 确认短卸且未能找回，接受责任。",
                ),
                "responsibility_accepted",
            ),
            (
                notice + timedelta(days=12),
                beijing.manager,
                partial(
                    app.pay_compensation,
                    sid=sid,
                    claim_id=claim,
                    amount=amount,
                    payment_reference=f"PAY-{v.reference}",
                ),
                "compensation",
            ),
            (
                notice + timedelta(days=13),
                office,
                partial(
                    app.assess_liability_limit,
                    sid=sid,
                    claim_id=claim,
                    sdr_rate=SDR_RATES["EUR"],
                ),
                "limit",
            ),
            (
                notice + timedelta(days=13, hours=1),
                office,
                partial(app.claim_recovery, sid=sid, claim_id=claim, amount=recoverable),
                "recovery_claimed",
            ),
            (
                notice + timedelta(days=60),
                office,
                partial(app.receive_recovery, sid=sid, claim_id=claim, amount=recoverable),
                "recovery_received",
            ),
            (
                notice + timedelta(days=61),
                beijing.manager,
                partial(
                    app.resolve_incident,
                    sid=sid,
                    incident_id=incident,
                    resolution=f"客户获全额赔付 EUR {amount:,}；按海牙—维斯比规则向船公司追偿"
                    f" EUR {recoverable:,}，已到账。",
                ),
                "incident_resolved",
            ),
            (
                notice + timedelta(days=61, hours=1),
                office,
                partial(app.close_claim, sid=sid, claim_id=claim, note="赔付并追偿完毕，结案。"),
                "claim_closed",
            ),
        )
        self.evaluate(v, 3, 6)

    def temperature_excursion_disputed(self) -> None:
        """This week: insulated boxes arrive at O'Hare too warm; the airline disputes that it
        was at fault, and the dispute awaits headquarters' arbitration."""
        app, rel = self.app, self.rels["antai"]
        chicago = BRANCHES["CHI"]
        cargo = Cargo("冷链药品（2–8℃），20保温箱", 20, Decimal("500"), Decimal("600000"), "USD")
        v = self.book(rel, ROUTES["antai"], 7, cargo=cargo)
        self.carry(
            v,
            conditions={4: Condition.DAMAGED, 5: Condition.DAMAGED},
            remarks={4: "Loggers in 6 boxes show 9–11 °C; boxes quarantined"},
            delivered=(Condition.DAMAGED, "6 boxes quarantined pending QA release"),
        )
        assert v.delivered_at is not None
        sid, incident, claim = v.sid, self.uuid(), self.uuid()
        found = v.received[3] + timedelta(hours=1)
        self.complaint(v, incident, found, "temperature")
        self.chronicle(
            v,
            (
                found,
                chicago.office_reps[0],
                partial(
                    app.report_incident,
                    sid=sid,
                    incident_id=incident,
                    link_sequence=4,
                    kind=IncidentKind.DAMAGE,
                    description="Temperature excursion: loggers in 6 of 20 boxes recorded "
                    "9–11 °C for about 5 hours; the consignee quarantines them.",
                    packages_affected=6,
                ),
                "incident",
            ),
            (
                found + timedelta(hours=3),
                chicago.manager,
                partial(app.assign_responsibility, sid=sid, incident_id=incident),
                "responsibility",
            ),
            (
                found + timedelta(days=1),
                rel.branch.office_reps[0],
                partial(
                    app.dispute_responsibility,
                    sid=sid,
                    incident_id=incident,
                    reason="申航回函：温度记录显示超温始于浦东冷库交接之前，交接时箱温已达9℃，"
                    "不接受责任。",
                ),
                "responsibility_disputed",
            ),
            (
                v.delivered_at + timedelta(hours=20),
                rel.branch.office_reps[0],
                partial(
                    app.file_claim,
                    sid=sid,
                    claim_id=claim,
                    incident_id=incident,
                    amount=Decimal("180000"),
                    currency="USD",
                ),
                "claim",
            ),
        )

    # --- sales: the catalogue, competitors and the pipeline ------------------------------

    def sales_uuid(self) -> UUID:
        return UUID(int=self.sales.getrandbits(128), version=4)

    def sales_at(self, zone: tzinfo, days_ago: int) -> datetime:
        """A time in office hours ``days_ago`` (see ``day``), drawn by the sales generator."""
        return self.at(zone, days_ago, self.sales.randint(8 * 60 + 30, 17 * 60))

    def catalogue(self) -> None:
        """What we sell, launched by headquarters before the year begins; during the year
        terms are revised, a product renamed, and the dangerous-goods lane suspended for the
        winter and resumed."""
        app = self.app
        for index, product in enumerate(CATALOGUE):
            oid = self.sales_uuid()
            self.products[product.key] = oid
            self.add(
                self.at(CHINA, 365, 9 * 60 + 10 * index),
                HQ_KEY_ACCOUNTS,
                partial(
                    app.launch_offering,
                    name=product.name,
                    lane=Lane(product.origin, product.destination, product.mode),
                    service_level=product.level,
                    transit_days=product.days,
                    description=product.description,
                    offering_id=oid,
                ),
                "offering:launched",
            )
        changes: list[tuple[int, str, Callable[..., CommandResult], str]] = [
            (200, "szv_ord", partial(
                app.revise_offering_terms, service_level=ServiceLevel.DOOR_TO_DOOR,
                transit_days=4, reason="New daily PVG–ORD freighter: a day faster."),
             "offering:terms_revised"),
            (120, "sha_lgb", partial(
                app.revise_offering_terms, service_level=ServiceLevel.DOOR_TO_PORT,
                transit_days=18, reason="Congestion in San Pedro Bay: two days more."),
             "offering:terms_revised"),
            (90, "sha_lhr", partial(
                app.redescribe_offering,
                name="Shanghai–London E-commerce Air DDP 上海—伦敦跨境电商专线（双清包税）",
                description="Consolidated parcels, duties and VAT paid, last mile by Royal Mail."),
             "offering:redescribed"),
            (250, "sha_pus_dg", partial(
                app.retire_offering, reason="The carrier stops accepting IMDG class 3 for the "
                "winter."), "offering:retired"),
            (150, "sha_pus_dg", partial(
                app.reinstate_offering, reason="Dangerous goods accepted again for the spring."),
             "offering:reinstated"),
        ]  # fmt: skip
        for days_ago, key, run, tally in changes:
            oid = self.products[key]
            self.add(self.sales_at(CHINA, days_ago), HQ_KEY_ACCOUNTS, partial(run, oid=oid), tally)

    def competitor_profiles(self) -> None:
        """What we know of each competitor, noted by its branch's manager soon after it is
        registered, and what we learn of it during the year."""
        app, rng = self.app, self.sales
        for key, (strengths, weaknesses, lanes, later) in PROFILES.items():
            rel = self.rels[key]
            rid, manager, zone = rel.rid, rel.branch.manager, rel.branch.zone
            conversation = f"{key}:profile"
            english = rel.english
            day = rel.registered_days_ago - rng.randint(3, 10)
            self.add(
                self.sales_at(zone, day),
                manager,
                partial(
                    app.start_competitor_profile,
                    relationship_id=rid,
                    strengths=strengths,
                    weaknesses=weaknesses,
                    lanes=[Lane(*lane) for lane in lanes],
                ),
                "profile:started",
                conversation,
            )
            strength, weakness, lane, drop = later
            learnt: list[tuple[Callable[..., CommandResult], str]] = []
            if strength is not None:
                learnt.append((partial(app.note_competitor_strength, strength=strength), "noted"))
            if weakness is not None:
                improved = (
                    "Recent visits show this has improved." if english else "近期走访显示已改善。"
                )
                learnt.append(
                    (
                        partial(
                            app.withdraw_competitor_weakness, weakness=weakness, reason=improved
                        ),
                        "withdrawn",
                    )
                )
            if lane is not None:
                learnt.append((partial(app.add_competitor_lane, lane=Lane(*lane)), "lane_added"))
            if drop:
                left = "They left this trade." if english else "对方已退出该航线。"
                learnt.append(
                    (
                        partial(app.drop_competitor_lane, lane=Lane(*lanes[0]), reason=left),
                        "lane_dropped",
                    )
                )
            day = rng.randint(120, 220)
            for run, tally in learnt:
                self.add(
                    self.sales_at(zone, day),
                    manager,
                    partial(run, relationship_id=rid),
                    f"profile:{tally}",
                    conversation,
                )
                day -= rng.randint(10, 40)

    def rival(self, rel: Rel) -> str:
        """A competitor the relationship's branch meets in its tenders."""
        return self.sales.choice(RIVALS[rel.branch.code])

    def pipeline(self, rel: Rel) -> None:
        """The opportunities of a relationship's year that its lifecycle does not already
        tell (lost and won-back business, dormancy, a first win: see those steps)."""
        if rel.org.key not in PRODUCT_OF:
            return
        r, story, reg = self.sales.randint, rel.org.story, rel.registered_days_ago
        open_stages = (Stage.TRACKING, Stage.CONTROL, Stage.IMPLEMENTATION)
        if story is Story.CUSTOMER:
            won = r(60, 160)
            self.pursue(
                rel,
                "growth",
                start=won + r(40, 90),
                last=won,
                reach=Stage.IMPLEMENTATION,
                outcome=OpportunityStatus.WON,
                competitors=[self.rival(rel)],
                step_back=r(0, 3) == 0,
            )
            # Every third customer's renewal is lost; the others' are open, a stage each in turn.
            turn = len(self.opportunity_ids) % 3
            if turn == 0:
                loss = self.sales.choice(COMPETITIVE_LOSSES)
                decided = r(20, 200)
                rival = self.rival(rel)
                self.pursue(
                    rel,
                    "renewal",
                    start=decided + r(30, 60),
                    last=decided,
                    reach=self.sales.choice(open_stages),
                    outcome=OpportunityStatus.LOST,
                    loss=loss,
                    lost_to=rival,
                    competitors=[rival],
                )
            else:
                self.pursue(
                    rel,
                    "renewal",
                    start=r(30, 80),
                    last=r(3, 12),
                    reach=open_stages[turn],
                    competitors=[self.rival(rel)],
                )
        elif story is Story.PROSPECT and (rel.org.key == "windy_city" or r(0, 9) < 6):
            windy = rel.org.key == "windy_city"
            self.pursue(
                rel,
                "new",
                start=r(8, min(60, reg - 3)),
                last=3,
                reach=Stage.TRACKING if windy else Stage.GENERATION,
                change_to="ngb_ord" if windy else None,
            )
        elif story is Story.QUALIFIED:
            self.pursue(
                rel,
                "new",
                start=r(20, 45),
                last=r(3, 8),
                reach=self.sales.choice(open_stages[:2]),
                competitors=[self.rival(rel)],
            )
        elif story is Story.TARGET:
            step_back = rel.org.key == "lakeshore"
            self.pursue(
                rel,
                "new",
                start=r(50, 100),
                last=r(3, 10),
                reach=Stage.CONTROL if step_back else Stage.IMPLEMENTATION,
                competitors=[self.rival(rel)],
                step_back=step_back,
            )

    def pursue(
        self,
        rel: Rel,
        kind: str,
        *,
        start: int,
        last: int,
        reach: Stage,
        outcome: OpportunityStatus = OpportunityStatus.OPEN,
        loss: LossReason | None = None,
        lost_to: str | None = None,
        competitors: Sequence[str] = (),
        step_back: bool = False,
        change_to: str | None = None,
    ) -> None:
        """One opportunity: identified ``start`` days ago, taken stage by stage to ``reach``
        (stepping back once from control if ``step_back``) and, ``last`` days ago, won,
        lost or left open; its steps at least three days apart, each new stage's probability
        revised right after it, the value revised in control. A won one is evaluated some
        forty days later."""
        rng, app, zone, en = self.sales, self.app, rel.branch.zone, rel.english
        product = next(p for p in CATALOGUE if p.key == PRODUCT_OF[rel.org.key])
        start = min(start, rel.registered_days_ago - 3)
        if product.key == "sha_pus_dg":  # not while the lane is suspended
            start = min(start, 140)
        moves: list[tuple[str, Stage | None]] = []
        for stage in STAGES[1 : reach.position + 1]:
            moves.append(("advance", stage))
            if step_back and stage is Stage.CONTROL:
                moves += [("step_back", Stage.TRACKING), ("advance", Stage.CONTROL)]
        if outcome is not OpportunityStatus.OPEN:
            moves.append((outcome.value, None))
        assert start - last >= 3 * len(moves), (rel.org.key, start, last, moves)
        oid = self.sales_uuid()
        self.opportunity_ids.append(oid)
        conversation = f"{rel.org.key}:opportunity:{oid}"

        def step(when: datetime, actor: str, run: Callable[..., CommandResult], tally: str) -> None:
            self.add(when, actor, partial(run, oid=oid), f"opportunity:{tally}", conversation)

        amount = Decimal(rng.randint(*DEAL_SIZES[product.mode]) * 10_000)
        probability = STAGE_PROBABILITY[Stage.GENERATION]
        self.add(
            self.sales_at(zone, start),
            rel.field_rep(start),
            partial(
                app.identify_opportunity,
                relationship_id=rel.rid,
                title=DEAL_TITLES[kind][en].format(lane=rel.org.lane),
                offering_id=self.products[product.key],
                expected_value=amount,
                currency=product.currency,
                probability=probability,
                competitor_ids=[self.rels[c].rid for c in competitors],
                opportunity_id=oid,
            ),
            "opportunity:identified",
            conversation,
        )
        revised = False
        for index, (move, to_stage) in enumerate(moves, 1):
            days_ago = start - round(index * (start - last) / len(moves))
            when = self.sales_at(zone, days_ago)
            field_rep, office = rel.field_rep(days_ago), rel.office_rep(days_ago)
            if move == "advance":
                assert to_stage is not None
                stage = to_stage
                step(when, field_rep, partial(app.advance_opportunity, to_stage=stage), "advanced")
                chance = STAGE_PROBABILITY[stage] + rng.choice((-5, 0, 5)) * Decimal("0.01")
                if chance != probability:
                    probability = chance
                    why = ("进入{stage}阶段，重估成交概率。", "Entered {stage}; chance reassessed.")
                    step(
                        when + timedelta(hours=1),
                        office,
                        partial(
                            app.revise_probability,
                            probability=chance,
                            reason=why[en].format(stage=stage.value),
                        ),
                        "probability",
                    )
                if stage is Stage.CONTROL and not revised:
                    revised = True
                    amount = (amount * rng.choice(VALUE_REVISIONS) / 100).quantize(Decimal(1))
                    why = ("客户确认年度货量预测。", "The customer confirmed its annual forecast.")
                    step(
                        when + timedelta(hours=2),
                        office,
                        partial(
                            app.revise_expected_value,
                            amount=amount,
                            currency=product.currency,
                            reason=why[en],
                        ),
                        "value",
                    )
                    other = [c for c in RIVALS[rel.branch.code] if c not in competitors]
                    if other and rng.random() < 0.4:
                        step(
                            when + timedelta(hours=3),
                            field_rep,
                            partial(app.involve_competitor, competitor_id=self.rels[other[0]].rid),
                            "competitor_involved",
                        )
                if stage is Stage.TRACKING and change_to is not None:
                    why = (
                        "客户要求送到芝加哥仓库，改报海铁联运门到门。",
                        "They want delivery to their Chicago DC: offered sea and rail door to "
                        "door instead.",
                    )
                    step(
                        when + timedelta(hours=2),
                        office,
                        partial(
                            app.change_opportunity_offering,
                            offering_id=self.products[change_to],
                            reason=why[en],
                        ),
                        "offering_changed",
                    )
            elif move == "step_back":
                why = (
                    "客户重新提出包装和时效要求。",
                    "The customer reopened its packaging and transit-time requirements.",
                )
                step(
                    when,
                    field_rep,
                    partial(app.step_back_opportunity, to_stage=Stage.TRACKING, reason=why[en]),
                    "stepped_back",
                )
            elif move == OpportunityStatus.WON.value:
                first = rel.org.story in (Story.PROSPECT_TO_CUSTOMER, Story.TARGET_TO_CUSTOMER)
                step(
                    when,
                    rel.branch.manager,
                    partial(app.mark_opportunity_won, note=WIN_NOTE[en]),
                    "won_first_business" if first else "won",
                )
                if days_ago - 40 >= 3:
                    rating = rng.choice((5, 4, 4, 3))
                    step(
                        self.sales_at(zone, days_ago - 40),
                        office,
                        partial(
                            app.evaluate_opportunity,
                            rating=rating,
                            remarks=EVALUATION_NOTES[rating][en],
                        ),
                        "evaluated",
                    )
            else:
                assert loss is not None
                step(
                    when,
                    rel.branch.manager,
                    partial(
                        app.mark_opportunity_lost,
                        reason=loss,
                        explanation=LOSS_EXPLANATIONS[loss][en],
                        competitor_id=self.rels[lost_to].rid if lost_to else None,
                    ),
                    "lost",
                )

    # --- service: cases and their SLA clocks ---------------------------------------------

    def service(self, rel: Rel) -> None:
        """The year's service cases of a relationship: a few for every customer while it
        ships with us, some of them this week; an inquiry now and then from a prospect or
        target."""
        if rel.org.story in (Story.PARTNER, Story.COMPETITOR):
            return
        rng = self.sales
        if not rel.shipping:
            if rng.random() < 0.5:
                inquiries = [tpl for tpl in CASES if tpl.kind is CaseKind.INQUIRY]
                day = rng.randint(3, max(3, rel.registered_days_ago - 5))
                self.case(rel, rng.choice(inquiries), self.sales_at(rel.branch.zone, day))
            return
        for hi, lo in rel.shipping:
            hi = min(hi, FIRST_BOOKING_DAYS_AGO)
            for _ in range(max(1, (hi - lo) // 110) + rng.randint(0, 1)):
                day = rng.randint(max(lo, 5), max(hi, 5))
                self.case(rel, rng.choice(CASES), self.sales_at(rel.branch.zone, day))
            if lo <= 2 and rng.random() < 0.4:  # this week's: some past due, some running
                day = rng.randint(1, 4)
                self.case(rel, rng.choice(CASES), self.sales_at(rel.branch.zone, day))

    def complaint(self, v: Voyage, incident: UUID, found: datetime, story: str) -> None:
        """The customer complains about an incident soon after it is found; resolving it
        takes longer than the SLA allows."""
        opened = found + timedelta(minutes=self.sales.randint(30, 120))
        tpl = INCIDENT_CASES[story]
        self.case(v.rel, tpl, opened, shipment=v.sid, incident=incident, late=True)

    def case(
        self,
        rel: Rel,
        tpl: CaseTpl,
        opened: datetime,
        *,
        shipment: UUID | None = None,
        incident: UUID | None = None,
        late: bool | None = None,
    ) -> None:
        """A case through its life: opened, assigned, answered (mostly within its first-
        response hours), perhaps escalated, resolved (late if ``late``, else now and then),
        perhaps reopened and resolved again, rated, closed. What would come after the time
        of loading has not happened yet: the case is still open, and may be past due."""
        rng, app, en = self.sales, self.app, rel.english
        cid = self.sales_uuid()
        self.case_ids.append(cid)
        days_ago = (self.now - opened).days
        office, manager = rel.office_rep(days_ago), rel.branch.manager
        if shipment is None and tpl.about_shipment:
            shipment = self.shipment_before(rel, opened)
        target = DEFAULT_SLA_POLICY.target(tpl.priority)
        answer_late = rng.random() < 0.15
        late = rng.random() < 0.2 if late is None else late
        answer_within = (1.2, 2.5) if answer_late else (0.1, 0.8)
        answered = opened + timedelta(
            hours=target.first_response_hours * rng.uniform(*answer_within)
        )
        resolve_within = (1.1, 2.0) if late else (0.3, 0.9)
        resolved = opened + timedelta(hours=target.resolution_hours * rng.uniform(*resolve_within))
        resolved = max(resolved, answered + timedelta(minutes=30))
        conversation = f"case:{cid}"

        def step(when: datetime, actor: str, run: Callable[..., CommandResult], tally: str) -> None:
            if when <= self.now - SHIPMENT_CUTOFF:
                self.add(when, actor, run, f"case:{tally}", conversation)

        step(
            opened,
            rel.field_rep(days_ago) if tpl.kind is CaseKind.INQUIRY else office,
            partial(
                app.open_case,
                relationship_id=rel.rid,
                kind=tpl.kind,
                priority=tpl.priority,
                subject=tpl.subject[en],
                description=tpl.description[en],
                shipment_id=shipment,
                incident_id=incident,
                case_id=cid,
            ),
            "opened",
        )
        step(
            opened + timedelta(minutes=rng.randint(5, 25)),
            manager,
            partial(app.assign_case, cid=cid, owner=office),
            "assigned",
        )
        step(
            answered,
            office,
            partial(app.respond_to_case, cid=cid, summary=rng.choice(FIRST_RESPONSES)[en]),
            "answered",
        )
        if tpl.priority is not Priority.URGENT and rng.random() < 0.12:
            escalated = answered + timedelta(minutes=20)
            if escalated + timedelta(minutes=20) < resolved:
                why = ("客户升级投诉至管理层。", "The customer escalated to our management.")
                step(
                    escalated,
                    manager,
                    partial(app.escalate_case, cid=cid, reason=why[en]),
                    "escalated",
                )
        step(
            resolved,
            office,
            partial(app.resolve_case, cid=cid, resolution=tpl.resolution[en]),
            "resolved",
        )
        if rng.random() < 0.12:
            reopened = resolved + timedelta(days=rng.randint(1, 2), hours=rng.randint(0, 4))
            step(
                reopened,
                office,
                partial(app.reopen_case, cid=cid, reason=REOPEN_REASONS[en]),
                "reopened",
            )
            resolved = reopened + timedelta(hours=target.resolution_hours * rng.uniform(0.2, 0.8))
            step(
                resolved,
                office,
                partial(app.resolve_case, cid=cid, resolution=tpl.resolution[en]),
                "resolved",
            )
        if rng.random() < 0.75:
            rating = rng.choice((2, 3) if late or answer_late else (4, 5, 5))
            step(
                resolved + timedelta(days=rng.randint(1, 3)),
                office,
                partial(app.rate_case, cid=cid, rating=rating),
                "rated",
            )
        step(
            resolved + timedelta(days=rng.randint(4, 8)),
            office,
            partial(app.close_case, cid=cid),
            "closed",
        )

    def shipment_before(self, rel: Rel, moment: datetime) -> UUID | None:
        """The relationship's latest shipment under way before ``moment``."""
        booked = [v for v in self.voyages if v.rel is rel and v.plans[0].planned_start < moment]
        return max(booked, key=lambda v: v.plans[0].planned_start).sid if booked else None

    # --- charges and invoices ------------------------------------------------------------

    def charges(self, route: Route, cargo: Cargo) -> Charges:
        """What the customer pays: air freight by the kilogram (4–8 a kg), sea and rail by
        the 40' container (consolidated cargo by the cubic metre, inland delivery on top),
        plus origin fees and, where we clear at destination, destination fees."""
        rng, legs = self.sales, route.legs
        main = next(leg for leg in legs if leg.function is F.MAIN_CARRIAGE)
        kg = cargo.gross_weight_kg
        if main.mode is AIR:
            freight = kg * rng.randint(400, 800) / 100
        elif any(leg.function is F.WAREHOUSING for leg in legs[: legs.index(main)]):
            freight = max(Decimal(1), kg / 250) * rng.randint(60, 95)  # by the cubic metre
        else:
            low, high = (
                (6000, 8000) if main.mode is RAIL
                else (600, 1100) if main.hours <= 240  # within Asia
                else (1800, 3200) if main.hours <= 500  # across the Pacific
                else (1500, 2900)  # to Europe
            )  # fmt: skip
            per_box = rng.randint(low, high)
            if legs[-1].function is F.DELIVERY:
                per_box += rng.randint(1500, 2500)  # by rail or truck inland
            freight = Decimal(math.ceil(kg / 18_000) * per_box)
        fees = rng.randint(120, 380)
        if any(leg.function is F.IMPORT_CUSTOMS for leg in legs):
            fees += rng.randint(250, 600)
        return Charges((freight + fees).quantize(CENT), route.currency)

    def requote(self, v: Voyage, when: datetime) -> None:
        """The quote changes while the goods travel: the airline's scale finds more
        chargeable weight, or the line adds a peak-season surcharge."""
        assert v.charges is not None
        amount = v.charges.amount * (100 + self.sales.randint(3, 12)) / 100
        v.charges = Charges(amount.quantize(CENT), v.charges.currency)
        self.ship(
            v,
            when,
            v.ops.office_reps[0],
            partial(
                self.app.quote_charges,
                sid=v.sid,
                amount=v.charges.amount,
                currency=v.charges.currency,
            ),
            "charges_requoted",
        )

    def bill(self, v: Voyage) -> None:
        """The invoices: sea and rail freight the day the goods leave, air freight after
        delivery; now and then destination charges (storage, duties advanced) after it."""
        assert v.charges is not None
        assert v.delivered_at is not None
        rng = self.sales
        main = next(k for k, leg in enumerate(v.route.legs) if leg.function is F.MAIN_CARRIAGE)
        if v.route.legs[main].mode is AIR:
            freight_at = v.delivered_at + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 6))
        else:
            freight_at = v.received[main] + timedelta(days=1, hours=rng.randint(0, 4))
        self.invoice(v, freight_at, v.charges.amount)
        if rng.random() < 0.25:
            extra = Decimal(rng.randint(80, 900))
            self.invoice(v, v.delivered_at + timedelta(days=rng.randint(4, 12)), extra)

    def invoice(self, v: Voyage, when: datetime, amount: Decimal) -> None:
        assert v.charges is not None
        self.invoice_count += 1
        number = f"{v.ops.code}-INV-{when:%y%m}-{self.invoice_count:05d}"
        self.ship(
            v,
            when,
            v.ops.office_reps[0],
            partial(
                self.app.invoice_shipment,
                sid=v.sid,
                invoice_number=number,
                amount=amount,
                currency=v.charges.currency,
            ),
            "invoiced",
        )

    # --- issuing the commands ------------------------------------------------------------

    def issue(self) -> Counter[str]:
        """Issue every command in the order of business time; count them by tally."""
        tally: Counter[str] = Counter()
        first: dict[str, str] = {}
        previous: dict[str, str] = {}
        for step in sorted(self.steps, key=lambda s: (s.when, s.seq)):
            command_id = str(self.uuid())
            correlation_id = causation_id = command_id
            if step.conversation is not None:
                correlation_id = first.setdefault(step.conversation, command_id)
                causation_id = previous.get(step.conversation, command_id)
                previous[step.conversation] = command_id
            ctx = self.app.context(
                step.actor,
                occurred_at=step.when,
                command_id=command_id,
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            step.run(ctx)
            tally[step.tally] += 1
        return tally


# --- the three entry points --------------------------------------------------------------


def has_data(services: Services) -> bool:
    """Whether the event log holds anything at all."""
    with services.reads.connection() as conn:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM fullchain_events) AS present").fetchone()
    return bool(row and row["present"])


def load_demo(services: Services, *, seed: int = SEED, now: datetime | None = None) -> str:
    """Load the demo history into an empty log; return a summary. Never loads twice."""
    with services.database.connect(autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (LOAD_LOCK,))
        if has_data(services):
            return "The event log already holds data: demo data not loaded."
        today = now or services.app.clock()
        _enroll_staff(services, today - timedelta(days=400))
        plan = Plan(services.app, today, random.Random(seed), random.Random(seed + 1))
        plan.build()
        tally = plan.issue()
    return _summary(services, plan, tally)


def _display_name(staff_id: str) -> str:
    return " ".join(part.capitalize() for part in staff_id.split("."))


def _enroll_staff(services: Services, when: datetime) -> None:
    """Every demo staff member, with the roles of their job, registered by the admin."""
    app = services.app
    ctx = app.context("admin", occurred_at=when)
    roster: list[tuple[str, str, Role]] = [
        (HQ_KEY_ACCOUNTS, "Headquarters", Role.HQ),
        (DEMO_AUDITOR, "Headquarters", Role.AUDITOR),
    ]
    for branch in BRANCHES.values():
        roster.append((branch.manager, branch.name, Role.BRANCH_MANAGER))
        roster += [(rep, branch.name, Role.FIELD_STAFF) for rep in branch.field_reps]
        roster += [(rep, branch.name, Role.OFFICE_STAFF) for rep in branch.office_reps]
    for staff_id, branch_name, role in roster:
        app.register_staff(ctx, staff_id=staff_id, name=_display_name(staff_id), branch=branch_name)
        app.grant_role(ctx, staff_id, role=role)


def demo_token(services: Services) -> tuple[str, str]:
    """A fresh bearer token for the demo's headquarters member: (display name, token).

    One demo token at a time: the tokens printed by earlier starts are revoked."""
    staff_id, display_name = DEMO_EXPLORER
    app = services.app
    ctx = app.context("admin")
    token = app.enroll(
        ctx, staff_id=staff_id, name=display_name, branch="Headquarters", roles=(Role.HQ,)
    )
    current = app.get_staff(staff_id)
    for token_id in list(current.tokens)[:-1]:
        app.revoke_staff_token(ctx, staff_id, token_id=token_id)
    return display_name, token


def _summary(services: Services, plan: Plan, tally: Counter[str]) -> str:
    kinds: Counter[str] = Counter()
    lifecycles: Counter[str] = Counter()
    key_accounts = 0
    for rel in plan.rels.values():
        relationship = services.app.get_relationship(rel.rid)
        kinds[relationship.kind.value] += 1
        if relationship.is_customer:
            lifecycles[relationship.lifecycle.value] += 1
        key_accounts += relationship.key_account
    with services.reads.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM fullchain_events").fetchone()
    events = int(row["n"]) if row else 0

    def total(prefix: str) -> int:
        return sum(n for name, n in tally.items() if name.startswith(prefix))

    order: Sequence[RelationshipKind] = list(RelationshipKind)
    kind_changes = sum(
        tally[name]
        for name in (
            "qualified",
            "first_business",
            "opportunity:won_first_business",
            "returned_to_prospect",
        )
    )
    return "\n".join(
        (
            f"Demo data loaded: {len(plan.rels)} relationships in {len(BRANCHES)} branches "
            f"({', '.join(sorted({b.region for b in BRANCHES.values()}))}).",
            "  "
            + ", ".join(f"{kinds[k.value]} {k.value}s" for k in order)
            + f"; {key_accounts} key accounts.",
            "  customers: "
            + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(lifecycles.items()))
            + ".",
            f"  {total('contact')} contacts, {total('interaction:')} interactions, "
            f"{total('care:')} customer-care actions, "
            f"{kind_changes} kind changes, "
            f"{tally['dormant'] + tally['reactivated'] + tally['lost'] + tally['won_back']} "
            "lifecycle changes.",
            *_shipment_summary(services, plan),
            *_sales_summary(services, plan),
            f"  {events} events in the log, from {min(s.when for s in plan.steps):%Y-%m-%d} "
            f"to {max(s.when for s in plan.steps):%Y-%m-%d}.",
        )
    )


def _money(amounts: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{currency} {amount:,.2f}" for currency, amount in sorted(amounts.items()))


def _sales_summary(services: Services, plan: Plan) -> list[str]:
    app, now = services.app, services.app.clock()
    offerings = [app.get_offering(oid) for oid in plan.products.values()]
    opportunities = []
    for oid in plan.opportunity_ids:
        try:
            opportunities.append(app.get_opportunity(oid))
        except NotFound:  # it would have been identified after the time of loading
            continue
    outcomes = Counter(o.status for o in opportunities)
    pipeline: defaultdict[str, Decimal] = defaultdict(Decimal)
    for o in opportunities:
        if o.is_open:
            pipeline[o.currency] += o.weighted_value
    cases = []
    for cid in plan.case_ids:
        try:
            cases.append(app.get_service_case(cid))
        except NotFound:
            continue
    statuses = Counter(c.status for c in cases)
    past_due = sum(
        c.status is CaseStatus.OPEN
        and (c.first_response_breached(now) or c.resolution_breached(now))
        for c in cases
    )
    invoiced: defaultdict[str, Decimal] = defaultdict(Decimal)
    for voyage in plan.voyages:
        try:
            shipment = app.get_shipment(voyage.sid)
        except NotFound:
            continue
        for invoice in shipment.invoices:
            invoiced[invoice.currency] += invoice.amount
    return [
        f"  {len(offerings)} service offerings "
        f"({sum(not o.is_active for o in offerings)} retired); {len(opportunities)} "
        f"opportunities: {outcomes[OpportunityStatus.WON]} won, "
        f"{outcomes[OpportunityStatus.LOST]} lost, {outcomes[OpportunityStatus.OPEN]} open "
        f"(weighted pipeline {_money(pipeline)}); {len(PROFILES)} competitor profiles.",
        f"  {len(cases)} service cases: {statuses[CaseStatus.CLOSED]} closed, "
        f"{statuses[CaseStatus.RESOLVED]} resolved, {statuses[CaseStatus.OPEN]} open "
        f"({past_due} past due), {sum(bool(c.reopenings) for c in cases)} reopened; "
        f"invoiced {_money(invoiced)}.",
    ]


def _shipment_summary(services: Services, plan: Plan) -> list[str]:
    statuses: Counter[ShipmentStatus] = Counter()
    evaluated = incidents = claims = 0
    compensated: defaultdict[str, Decimal] = defaultdict(Decimal)
    recovered: defaultdict[str, Decimal] = defaultdict(Decimal)
    for voyage in plan.voyages:
        try:
            shipment = services.app.get_shipment(voyage.sid)
        except NotFound:  # it would have been booked after the time of loading
            continue
        statuses[shipment.status] += 1
        evaluated += shipment.evaluation is not None
        incidents += len(shipment.incidents)
        claims += len(shipment.claims)
        for claim in shipment.claims.values():
            compensated[claim.currency] += claim.compensation_paid or 0
            recovered[claim.currency] += claim.recovery_received or 0

    seed = services.app.get_shipment(SEED_CASE_ID)
    return [
        f"  {statuses.total()} shipments: {statuses[ShipmentStatus.DELIVERED]} delivered "
        f"({evaluated} evaluated), {statuses[ShipmentStatus.IN_TRANSIT]} in transit, "
        f"{statuses[ShipmentStatus.BOOKED]} booked, {statuses[ShipmentStatus.CANCELLED]} "
        f"cancelled; {incidents} incidents, {claims} claims: compensation paid "
        f"{_money(compensated)}, recovered {_money(recovered)}.",
        f"  The seed case, {seed.reference} {seed.origin} → {seed.destination} by air in "
        f"{len(seed.links)} links: GET /v1/shipments/{SEED_CASE_ID}/responsibility",
    ]
