"""The demo's world: our branches and their staff, the organisations we deal with (customers,
prospects, targets, partners and competitors, with their names in Chinese or English), the
people who work there, what we sell, and what we know of the competitors.

Only data: the stories (``interface.demo.stories``) tell what happens to it in the year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone, tzinfo
from enum import Enum
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.liability import TransportMode
from domain.offering import ServiceLevel
from domain.relationship import RelationshipKind
from domain.staff import Role

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


#: Headquarters operations (总部运营部), who arbitrates disputed responsibility (总部仲裁).
HQ_OPERATIONS = "song.jian"

# --- branches and staff ------------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    #: The demo's short key of the branch (shipment and invoice references start with it).
    code: str
    #: The branch's code in the registry: what staff, relationships and links carry.
    name: str
    name_zh: str
    name_en: str
    region: str
    zone: tzinfo
    manager: str
    field_reps: tuple[str, ...]
    office_reps: tuple[str, ...]
    #: Country and area code of the branch's landlines.
    phone_prefix: str
    currency: str = "CNY"
    english: bool = False

    @property
    def zone_name(self) -> str:
        return str(getattr(self.zone, "key", "Asia/Shanghai" if self.zone is CHINA else "UTC"))


BRANCHES: dict[str, Branch] = {
    b.code: b
    for b in (
        Branch(
            "SZV", "Suzhou", "苏州分公司", "Suzhou Branch", "East China", CHINA,
            manager="zhou.hui", field_reps=("li.wei", "wu.gang"), office_reps=("zhang.min",),
            phone_prefix="+86 512",
        ),
        Branch(
            "SHA", "Shanghai", "上海分公司", "Shanghai Branch", "East China", CHINA,
            manager="xu.jun", field_reps=("chen.jing", "liu.yang"), office_reps=("wang.fang",),
            phone_prefix="+86 21",
        ),
        Branch(
            "SZX", "Shenzhen", "深圳分公司", "Shenzhen Branch", "South China", CHINA,
            manager="huang.lei", field_reps=("lin.tao",), office_reps=("he.xiaoli",),
            phone_prefix="+86 755",
        ),
        Branch(
            "BJS", "Beijing", "北京分公司", "Beijing Branch", "North China", CHINA,
            manager="zhao.qiang", field_reps=("sun.peng",), office_reps=("ma.li",),
            phone_prefix="+86 10",
        ),
        Branch(
            "CHI", "Chicago", "芝加哥办事处", "Chicago Office", "North America", CHICAGO,
            manager="david.chen", field_reps=("sarah.miller",), office_reps=("emily.johnson",),
            phone_prefix="+1 312", currency="USD", english=True,
        ),
    )
}  # fmt: skip


def staff_roster() -> list[tuple[str, str, Role]]:
    """Every staff member who works in the demo, by branch, with the role of their job."""
    roster: list[tuple[str, str, Role]] = [
        (HQ_KEY_ACCOUNTS, "Headquarters", Role.HQ),
        (DEMO_AUDITOR, "Headquarters", Role.AUDITOR),
    ]
    for branch in BRANCHES.values():
        roster.append((branch.manager, branch.name, Role.BRANCH_MANAGER))
        roster += [(rep, branch.name, Role.FIELD_STAFF) for rep in branch.field_reps]
        roster += [(rep, branch.name, Role.OFFICE_STAFF) for rep in branch.office_reps]
    return roster


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


ORGS: tuple[Org, ...] = (
    # Suzhou 苏州分公司 — electronics and precision manufacturing around the industrial park
    Org("huaxin", "苏州华芯电子有限公司", Story.CUSTOMER, "electronics", "SZV",
        "huaxin-elec.com.cn", "苏州→芝加哥 空运门到门", key_account=KeyAccount.FROM_START,
        contacts=3),
    Org("kessler", "Kessler Automotive Components (Taicang) Co., Ltd.", Story.CUSTOMER,
        "automotive", "SZV", "kessler-automotive.com", "Taicang → Hamburg sea freight, FCL",
        english=True, key_account=KeyAccount.DESIGNATED, contacts=3),
    Org("kunshan_mould", "昆山精密模具厂", Story.CUSTOMER, "machinery", "SZV", "ks-mould.cn",
        "昆山→胡志明市 海运整柜", rename_to="昆山精密模具有限公司"),
    Org("borui", "苏州博睿医疗器械有限公司", Story.TARGET_TO_CUSTOMER, "medical devices", "SZV",
        "borui-med.com", "苏州→法兰克福 温控空运"),
    Org("wujiang_silk", "吴江丝绸服饰有限公司", Story.DORMANT, "apparel", "SZV", "wjsilk.com",
        "上海→洛杉矶 海运拼箱"),
    Org("ruida", "苏州瑞达新材料科技有限公司", Story.QUALIFIED, "chemicals", "SZV",
        "ruida-material.cn", "上海→釜山 危险品海运", handover=True),
    Org("hongyuan_chem", "张家港宏远化工有限公司", Story.LOST_WON_BACK, "chemicals", "SZV",
        "hongyuan-chem.com", "张家港→鹿特丹 化工品海运", lost_to="jieyun"),
    Org("yunfan", "常熟云帆户外用品有限公司", Story.PROSPECT, "apparel", "SZV", "yunfan-outdoor.cn",
        "上海→西雅图 海运整柜", contacts=1),
    Org("xinrui", "苏州新锐光电有限公司", Story.WALK_IN, "electronics", "SZV", "xinrui-opto.com",
        "苏州→首尔 空运"),
    Org("sip_bonded", "苏州园区综保物流仓储有限公司", Story.PARTNER, "warehousing", "SZV",
        "sip-bonded.com.cn", "综保区保税仓储及分拨"),
    Org("tongguanbao", "苏州通关宝报关有限公司", Story.PARTNER, "customs brokerage", "SZV",
        "tongguanbao.cn", "苏州出口报关", contacts=1),
    Org("shunda", "江苏顺达公路运输有限公司", Story.PARTNER, "road haulage", "SZV",
        "shunda-trans.cn", "苏州→浦东机场 陆运"),
    # Shanghai 上海分公司 — pharma, automotive, e-commerce; the airlines and ocean lines
    Org("antai", "上海安泰生物制药有限公司", Story.CUSTOMER, "pharmaceuticals", "SHA",
        "antai-bio.com", "浦东→芝加哥 温控空运（2–8℃）", key_account=KeyAccount.FROM_START,
        contacts=3),
    Org("jincheng", "上海锦程汽车零部件有限公司", Story.CUSTOMER, "automotive", "SHA",
        "jincheng-auto.com", "太仓→底特律 海铁联运", move_to="SZV"),
    Org("lumina", "Lumina Home Goods (Shanghai) Trading Co., Ltd.", Story.TARGET_TO_CUSTOMER,
        "e-commerce", "SHA", "luminahome.com", "Shanghai → Los Angeles sea, Amazon FBA delivery",
        english=True),
    Org("youpin", "上海优品跨境电商有限公司", Story.LOST, "e-commerce", "SHA", "youpin-global.com",
        "上海→伦敦 跨境电商空运专线", lost_to="globelink"),
    Org("huadong_chem", "上海华东化学品进出口有限公司", Story.TARGET, "chemicals", "SHA",
        "hdchem.com.cn", "上海→新加坡 危险品海运"),
    Org("orient_fashion", "Orient Fashion Sourcing Ltd.", Story.PROSPECT_TO_CUSTOMER, "apparel",
        "SHA", "orientfashion.com", "Shanghai → Rotterdam sea, buyer's consolidation",
        english=True, handover=True),
    Org("xunchi", "上海迅驰电子商务有限公司", Story.PROSPECT, "e-commerce", "SHA", "xunchi.com",
        "上海→东京 跨境小包", contacts=1),
    Org("baina", "上海百纳机械设备有限公司", Story.TARGET_COLD, "machinery", "SHA",
        "baina-machinery.com", "上海→迪拜 海运大件"),
    Org("shenhang", "申航国际货运航空有限公司", Story.PARTNER, "air cargo", "SHA",
        "shenhang-cargo.com", "浦东→芝加哥 全货机", contacts=3),
    Org("meridian", "Meridian Ocean Line", Story.PARTNER, "ocean shipping", "SHA",
        "meridianline.com", "Shanghai → Long Beach weekly service", english=True),
    Org("gangcheng", "上海港城保税仓储有限公司", Story.PARTNER, "warehousing", "SHA",
        "gangcheng-bonded.cn", "外高桥保税仓储"),
    Org("hutong", "上海沪通报关有限公司", Story.PARTNER, "customs brokerage", "SHA",
        "hutong-customs.cn", "上海进出口报关"),
    Org("jieyun", "上海捷运国际货运代理有限公司", Story.COMPETITOR, "freight forwarding", "SHA",
        "jieyun-logistics.com", "上海→欧洲 海运", contacts=1),
    Org("globelink", "GlobeLink Forwarding (Shanghai) Ltd.", Story.COMPETITOR, "freight forwarding",
        "SHA", "globelink-fwd.com", "Shanghai → London e-commerce air", english=True,
        contacts=1),
    # Shenzhen 深圳分公司 — electronics, apparel and cross-border e-commerce
    Org("hongxun", "深圳宏讯通信设备有限公司", Story.CUSTOMER, "electronics", "SZX",
        "hongxun-tel.com", "深圳→芝加哥 空运", key_account=KeyAccount.DESIGNATED, contacts=3),
    Org("meijia", "东莞美嘉服装有限公司", Story.DORMANT_REACTIVATED, "apparel", "SZX",
        "meijia-garment.com", "盐田→洛杉矶 海运整柜"),
    Org("jiguang", "深圳极光智能科技有限公司", Story.PROSPECT_TO_CUSTOMER, "electronics", "SZX",
        "jiguang-tech.com", "深圳→阿姆斯特丹 空运（含锂电池）"),
    Org("nanyue", "广州南粤化工有限公司", Story.TARGET, "chemicals", "SZX", "nanyue-chem.com",
        "南沙→曼谷 危险品海运"),
    Org("sugou", "深圳速购跨境电商有限公司", Story.LOST, "e-commerce", "SZX", "sugou.com",
        "深圳→洛杉矶 电商空派", lost_to="pengcheng"),
    Org("shunde", "佛山顺德家电制造有限公司", Story.PROSPECT, "household appliances", "SZX",
        "shunde-appliance.com", "蛇口→悉尼 海运整柜"),
    Org("bairui", "惠州比瑞电池科技有限公司", Story.QUALIFIED, "electronics", "SZX",
        "bairui-battery.com", "深圳→法兰克福 危险品空运"),
    Org("kangda", "深圳康达医药有限公司", Story.PROSPECT, "pharmaceuticals", "SZX",
        "kangda-pharma.com", "深圳→香港 冷链陆运", contacts=1),
    Org("qianhai", "深圳前海联运报关有限公司", Story.PARTNER, "customs brokerage", "SZX",
        "qianhai-customs.cn", "深圳进出口报关"),
    Org("south_sea", "South Sea Container Lines", Story.PARTNER, "ocean shipping", "SZX",
        "southsealines.com", "Yantian → Long Beach", english=True),
    Org("victoria", "Victoria Harbour Air Cargo Ltd.", Story.PARTNER, "air cargo", "SZX",
        "vharbourcargo.com.hk", "Hong Kong → Chicago freighter", english=True),
    Org("pengcheng", "深圳鹏程国际物流有限公司", Story.COMPETITOR, "freight forwarding", "SZX",
        "pengcheng-log.com", "深圳→美西 电商空派", contacts=1),
    # Beijing 北京分公司 — pharma, heavy machinery, rail to Europe
    Org("kangning", "北京康宁生物医药股份有限公司", Story.CUSTOMER, "pharmaceuticals", "BJS",
        "kangning-bio.com", "首都机场→波士顿 温控空运", key_account=KeyAccount.FROM_START,
        contacts=3),
    Org("binhai", "天津滨海重工机械有限公司", Story.CUSTOMER, "machinery", "BJS",
        "binhai-heavy.com", "天津→汉堡 大件海运"),
    Org("zhixing", "北京智行汽车科技有限公司", Story.TARGET_TO_CUSTOMER, "automotive", "BJS",
        "zhixing-auto.com", "天津→慕尼黑 中欧班列", key_account=KeyAccount.DESIGNATED),
    Org("jinghua", "北京京华时装有限公司", Story.LOST_WON_BACK, "apparel", "BJS",
        "jinghua-fashion.com", "北京→米兰 空运", lost_to="huayun"),
    Org("cangzhou", "河北沧州化工有限公司", Story.PROSPECT, "chemicals", "BJS", "czchem.com.cn",
        "天津→鹿特丹 化工品海运", contacts=1),
    Org("yunduan", "北京中关村云端科技有限公司", Story.PROSPECT, "electronics", "BJS",
        "yunduan-tech.com", "北京→新加坡 服务器空运"),
    Org("nordic", "Nordic Machinery (Beijing) Co., Ltd.", Story.TARGET, "machinery", "BJS",
        "nordic-machinery.com", "Tianjin → Gothenburg sea, breakbulk", english=True),
    Org("beifang_rail", "北方铁路联运有限公司", Story.PARTNER, "rail freight", "BJS",
        "beifang-rail.com", "天津→杜伊斯堡 中欧班列"),
    Org("dongjiang", "天津东疆保税仓储有限公司", Story.PARTNER, "warehousing", "BJS",
        "dongjiang-bonded.cn", "东疆保税港区仓储"),
    Org("huayun", "北京华运通国际货运代理有限公司", Story.COMPETITOR, "freight forwarding", "BJS",
        "huayuntong.com", "北京→欧洲 空运", contacts=1),
    Org("huaxia", "华夏环球物流集团有限公司", Story.COMPETITOR, "freight forwarding", "BJS",
        "huaxia-global.com", "全国 海运及空运", contacts=1),
    # Chicago Office 芝加哥办事处 — our agent and brokers at destination, US importers
    Org("great_lakes", "Great Lakes Freight Services, Inc.", Story.PARTNER, "freight forwarding",
        "CHI", "greatlakesfreight.com", "O'Hare import handling and Midwest delivery",
        english=True, contacts=3),
    Org("midwest_customs", "Midwest Customs Brokerage LLC", Story.PARTNER, "customs brokerage",
        "CHI", "midwestcustoms.com", "US import entries at Chicago", english=True),
    Org("ohare_handling", "O'Hare Cargo Handling Services", Story.PARTNER, "warehousing", "CHI",
        "ohcargo.com", "ORD airport cargo handling", english=True, contacts=1),
    Org("prairie", "Prairie Electronics Distribution, Inc.", Story.CUSTOMER, "electronics", "CHI",
        "prairie-electronics.com", "Suzhou → Chicago air, door to door", english=True),
    Org("heartland", "Heartland Auto Parts Corp.", Story.DORMANT, "automotive", "CHI",
        "heartlandautoparts.com", "Ningbo → Chicago, sea and rail", english=True),
    Org("lakeshore", "Lakeshore Medical Supply Co.", Story.TARGET, "pharmaceuticals", "CHI",
        "lakeshoremedical.com", "Shanghai → Chicago air, 2–8 °C", english=True),
    Org("windy_city", "Windy City Outdoor Gear LLC", Story.PROSPECT, "apparel", "CHI",
        "windycitygear.com", "Yantian → Chicago, sea via Los Angeles", english=True,
        contacts=1),
    Org("summit", "Summit Retail Brands, Inc.", Story.TARGET_COLD, "e-commerce", "CHI",
        "summitretail.com", "Shenzhen → Chicago e-commerce air", english=True),
    Org("transpacific", "TransPacific Logistics Group", Story.COMPETITOR, "freight forwarding",
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


# --- what we sell and whom we meet in tenders ----------------------------------------------

AIR, SEA, ROAD, RAIL = TransportMode.AIR, TransportMode.SEA, TransportMode.ROAD, TransportMode.RAIL


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
