"""What is said in the demo, in Chinese and in English: interactions, customer care, the
reasons for changes of kind and lifecycle, delays, evaluations, opportunities, service cases.
"""

from __future__ import annotations

from typing import NamedTuple

from domain.liability import TransportMode
from domain.opportunity import LossReason
from domain.relationship import CareActionKind, Channel, Direction
from domain.service_case import CaseKind, Priority
from interface.demo.catalogue import AIR, RAIL, ROAD, SEA


class Interaction(NamedTuple):
    """An interaction to log: its channel, direction and summary (with {contact},
    {lane} and {competitor} to fill in)."""

    channel: Channel
    direction: Direction
    text: str
    #: A complaint about a shipment: customer care follows up a few days later.
    incident: bool = False


VISIT, CALL, EMAIL, MEETING = Channel.VISIT, Channel.CALL, Channel.EMAIL, Channel.MEETING
MESSAGE, PORTAL = Channel.MESSAGE, Channel.PORTAL
INBOUND, OUTBOUND = Direction.INBOUND, Direction.OUTBOUND

#: Interactions to choose from, in Chinese (False) and in English (True).
Pools = dict[bool, tuple[Interaction, ...]]

PURSUIT: Pools = {
    False: (
        Interaction(VISIT, OUTBOUND,
                    "上门拜访{contact}，介绍我司的全程负责服务（{lane}）；"
                    "对方目前由其他货代操作，愿意比价。"),
        Interaction(CALL, OUTBOUND,
                    "电话联系{contact}，了解月均出货量和主要目的港，约下周上门拜访。"),
        Interaction(EMAIL, OUTBOUND,
                    "向{contact}发送公司介绍和{lane}的报价方案，含门到门时效和保险条款。"),
        Interaction(MEETING, OUTBOUND,
                    "与{contact}及采购部开会，讨论{lane}的时效要求、付款账期和异常处理流程。"),
        Interaction(EMAIL, INBOUND,
                    "{contact}来邮件询价：{lane}，要求三个工作日内提供门到门报价。"),
        Interaction(MESSAGE, INBOUND, "{contact}微信询问旺季舱位和运价走势。"),
        Interaction(CALL, INBOUND, "{contact}来电了解我司的清关能力和海外代理网络。"),
        Interaction(VISIT, OUTBOUND, "陪同{contact}参观我司仓库和操作中心，演示在途追踪系统。"),
        Interaction(MEETING, OUTBOUND, "向{contact}提交{lane}的试单方案，对方同意先走一票试单。"),
    ),
    True: (
        Interaction(VISIT, OUTBOUND,
                    "Visited {contact} to present our door-to-door service on {lane}; they use "
                    "another forwarder today but are open to a comparison."),
        Interaction(CALL, OUTBOUND,
                    "Called {contact} about monthly volumes and main destinations; visit booked "
                    "for next week."),
        Interaction(EMAIL, OUTBOUND,
                    "Sent {contact} our company profile and a rate proposal for {lane}, with "
                    "transit times and cargo insurance terms."),
        Interaction(MEETING, OUTBOUND,
                    "Meeting with {contact} and purchasing on transit times, payment terms and "
                    "exception handling for {lane}."),
        Interaction(EMAIL, INBOUND,
                    "{contact} asked for a door-to-door quote on {lane} within three working "
                    "days."),
        Interaction(MESSAGE, INBOUND,
                    "{contact} asked about peak-season space and the rate outlook."),
        Interaction(CALL, INBOUND,
                    "{contact} called to ask about our customs clearance and overseas agent "
                    "network."),
        Interaction(VISIT, OUTBOUND,
                    "Showed {contact} round our warehouse and operations centre, with a demo of "
                    "shipment tracking."),
        Interaction(MEETING, OUTBOUND,
                    "Proposed a trial shipment on {lane}; {contact} agreed to book one to test "
                    "us."),
    ),
}  # fmt: skip

ACCOUNT: Pools = {
    False: (
        Interaction(PORTAL, INBOUND, "客户通过门户下单：{lane}，已上传商业发票和装箱单。"),
        Interaction(PORTAL, INBOUND, "客户在门户查询在途货物状态并下载签收单。"),
        Interaction(CALL, OUTBOUND, "与{contact}电话确认下月出货计划，预计比本月增加约两成。"),
        Interaction(EMAIL, OUTBOUND, "向{contact}发送上月发运报表和准时率统计。"),
        Interaction(VISIT, OUTBOUND, "上门拜访{contact}，讨论仓储加配送一体化方案和旺季备舱。"),
        Interaction(MEETING, OUTBOUND,
                    "季度业务回顾：{lane}的准时率和异常件处理，{contact}对清关时效表示满意。"),
        Interaction(CALL, INBOUND,
                    "{contact}来电反馈一票货物晚到一天，"
                    "已说明原因（中转衔接延误）和补救措施。", incident=True),
        Interaction(EMAIL, INBOUND,
                    "{contact}来邮件投诉到货外箱破损，已登记并转客服跟进理赔。", incident=True),
        Interaction(MESSAGE, INBOUND, "{contact}微信询问节前最后一班截关时间。"),
        Interaction(EMAIL, OUTBOUND,
                    "向{contact}发送新年度{lane}的运价协议草案，请对方法务审阅。"),
        Interaction(CALL, OUTBOUND, "提醒{contact}下周起燃油附加费调整，并说明计算方式。"),
        Interaction(VISIT, OUTBOUND,
                    "与{contact}现场查看新产线的包装方式，建议改用托盘加缠绕膜以减少破损。"),
    ),
    True: (
        Interaction(PORTAL, INBOUND,
                    "Booking received through the portal for {lane}; commercial invoice and "
                    "packing list uploaded."),
        Interaction(PORTAL, INBOUND,
                    "Customer checked shipment status in the portal and downloaded the proof of "
                    "delivery."),
        Interaction(CALL, OUTBOUND,
                    "Confirmed next month's shipping plan with {contact}: volume up about 20%."),
        Interaction(EMAIL, OUTBOUND,
                    "Sent {contact} last month's shipment report and on-time statistics."),
        Interaction(VISIT, OUTBOUND,
                    "Visited {contact} to discuss combined warehousing and distribution and "
                    "peak-season space."),
        Interaction(MEETING, OUTBOUND,
                    "Quarterly business review of {lane}: on-time rate and exceptions; {contact} "
                    "is satisfied with clearance times."),
        Interaction(CALL, INBOUND,
                    "{contact} reported a shipment arriving one day late; explained the missed "
                    "connection and what we do about it.", incident=True),
        Interaction(EMAIL, INBOUND,
                    "{contact} complained about damaged outer cartons on arrival; logged and "
                    "passed to customer service for the claim.", incident=True),
        Interaction(MESSAGE, INBOUND, "{contact} asked for the last cut-off before the holidays."),
        Interaction(EMAIL, OUTBOUND,
                    "Sent {contact} next year's draft rate agreement for {lane}, for their legal "
                    "review."),
        Interaction(CALL, OUTBOUND,
                    "Told {contact} about next week's fuel surcharge change and how it is "
                    "calculated."),
        Interaction(VISIT, OUTBOUND,
                    "Reviewed the packaging of the new production line with {contact}; "
                    "recommended pallets and stretch wrap to cut damage."),
    ),
}  # fmt: skip

PARTNER: Pools = {
    False: (
        Interaction(EMAIL, OUTBOUND, "与{contact}核对本月{lane}的业务量和协议价格。"),
        Interaction(CALL, INBOUND, "{contact}通知下周作业安排调整，已同步操作和客服团队。"),
        Interaction(MEETING, OUTBOUND,
                    "与{contact}召开半年度合作评估会：时效达成率、差错率和理赔追偿进度。"),
        Interaction(CALL, OUTBOUND,
                    "就一票破损货物的责任认定与{contact}沟通，对方同意按合同限额赔付。"),
        Interaction(EMAIL, INBOUND, "{contact}发来旺季附加费通知和新的截单时间。"),
        Interaction(VISIT, OUTBOUND, "拜访{contact}，现场查看作业场地、温控和安保条件。"),
        Interaction(MESSAGE, OUTBOUND, "请{contact}协调一票急件优先处理。"),
        Interaction(EMAIL, INBOUND, "{contact}来邮件确认上月对账单，两票差异已核销。"),
    ),
    True: (
        Interaction(EMAIL, OUTBOUND,
                    "Reconciled this month's volumes and contract rates on {lane} with "
                    "{contact}."),
        Interaction(CALL, INBOUND,
                    "{contact} advised a schedule change next week; operations and customer "
                    "service informed."),
        Interaction(MEETING, OUTBOUND,
                    "Half-year partner review with {contact}: on-time performance, error rate "
                    "and claim recoveries."),
        Interaction(CALL, OUTBOUND,
                    "Discussed liability for a damaged shipment with {contact}; they accept "
                    "payment up to the contract limit."),
        Interaction(EMAIL, INBOUND,
                    "{contact} sent the peak-season surcharge notice and new cut-off times."),
        Interaction(VISIT, OUTBOUND,
                    "Visited {contact} to inspect the facility, temperature control and "
                    "security."),
        Interaction(MESSAGE, OUTBOUND, "Asked {contact} to give an urgent shipment priority."),
        Interaction(EMAIL, INBOUND,
                    "{contact} confirmed last month's statement; two differences cleared."),
    ),
}  # fmt: skip

COMPETITOR: Pools = {
    False: (
        Interaction(MEETING, INBOUND,
                    "行业展会上与对方{contact}交流，对方正在以低价争夺我们的电子类客户。"),
        Interaction(MESSAGE, INBOUND, "获悉对方新开包机线路（{lane}），报价比我司低约8%。"),
        Interaction(CALL, OUTBOUND, "与对方{contact}电话沟通旺季拼舱合作的可能性，对方暂无意向。"),
    ),
    True: (
        Interaction(MEETING, INBOUND,
                    "Met {contact} at a trade fair; they are pricing aggressively for our "
                    "electronics shippers."),
        Interaction(MESSAGE, INBOUND,
                    "Heard that they opened a charter service on {lane}, priced about 8% below "
                    "ours."),
        Interaction(CALL, OUTBOUND,
                    "Called {contact} about co-loading in peak season; no interest for now."),
    ),
}  # fmt: skip

DORMANT_CHECK = {
    False: Interaction(CALL, OUTBOUND,
                       "电话了解{contact}近三个月无出货的原因：海外订单下滑，预计下半年恢复。"),
    True: Interaction(CALL, OUTBOUND,
                      "Called {contact} about three months without shipments: overseas orders "
                      "are down, recovery expected later in the year."),
}  # fmt: skip
REACTIVATION = {
    False: Interaction(EMAIL, INBOUND,
                       "{contact}来邮件：新订单落地，恢复{lane}的出货，请求更新报价。"),
    True: Interaction(EMAIL, INBOUND,
                      "{contact} wrote that new orders have landed: shipments on {lane} resume; "
                      "asked for updated rates."),
}  # fmt: skip
LOSS_NOTICE = {
    False: Interaction(EMAIL, INBOUND,
                       "{contact}通知自下月起{lane}业务转由{competitor}操作，"
                       "主要原因是对方价格低约一成。"),
    True: Interaction(EMAIL, INBOUND,
                      "{contact} told us that {competitor} takes over {lane} from next month, "
                      "mainly on price (about 10% lower)."),
}  # fmt: skip
AFTER_LOSS = {
    False: Interaction(CALL, OUTBOUND, "回访{contact}，对方表示暂不考虑更换服务商，保持联系。"),
    True: Interaction(CALL, OUTBOUND,
                      "Called {contact}: no plan to change provider for now; we keep in touch."),
}  # fmt: skip
WIN_BACK_TRIAL = {
    False: Interaction(VISIT, OUTBOUND,
                       "拜访{contact}，了解其对现服务商的不满（延误频繁、异常响应慢），"
                       "提出试单方案。"),
    True: Interaction(VISIT, OUTBOUND,
                      "Visited {contact}: unhappy with their current provider (frequent delays, "
                      "slow exception handling); proposed a trial shipment."),
}  # fmt: skip
WIN_BACK_REVIEW = {
    False: Interaction(MEETING, OUTBOUND,
                       "与{contact}开会确认试单结果：时效和破损率均优于现服务商，讨论恢复合作。"),
    True: Interaction(MEETING, OUTBOUND,
                      "Reviewed the trial with {contact}: faster and less damage than their "
                      "current provider; discussed resuming business."),
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


#: The win's note and the evaluation's remarks, in Chinese and English.
WIN_NOTE = ("合同已签，首票下周出运。", "Contract signed; first shipment next week.")
EVALUATION_NOTES = {
    5: ("首季度准时率100%，客户增加了货量。", "100% on time in the first quarter; volumes up."),
    4: ("整体顺利，个别单证延误。", "Smooth overall; a few documents late."),
    3: ("时效达标，但费用对账反复。", "On time, but invoices had to be reissued twice."),
}  # fmt: skip


class CaseTemplate(NamedTuple):
    """A service case: kind, priority, subject, description and resolution (Chinese, English)."""

    kind: CaseKind
    priority: Priority
    subject: tuple[str, str]
    description: tuple[str, str]
    resolution: tuple[str, str]
    #: It concerns one of the customer's shipments: the latest under way.
    about_shipment: bool = False


CASES: tuple[CaseTemplate, ...] = (
    CaseTemplate(CaseKind.INQUIRY, Priority.LOW, ("索取空运提单副本", "Copy of the air waybill"),
            ("财务对账需要上月三票货的提单副本。",
             "Accounts need copies of last month's three AWBs."),
            ("已从系统导出并邮件发送。", "Exported from the system and e-mailed.")),
    CaseTemplate(CaseKind.INQUIRY, Priority.NORMAL, ("旺季运价咨询", "Peak-season rates"),
            ("询问十月至十二月的运价和舱位保障。", "Asked for October–December rates and space."),
            ("已提供旺季报价和锁舱方案。", "Sent peak-season rates and a space guarantee offer.")),
    CaseTemplate(CaseKind.INQUIRY, Priority.NORMAL, ("清关资料要求", "Customs documents needed"),
            ("询问新品出口需要哪些认证和资料。", "Asked which certificates a new product needs."),
            ("已发送资料清单和样例。", "Sent the document checklist and samples.")),
    CaseTemplate(CaseKind.REQUEST, Priority.NORMAL, ("更改送货地址", "Change of delivery address"),
            ("收货人要求改送新仓库。", "The consignee wants delivery to its new warehouse."),
            ("已通知目的港代理改派。", "Destination agent rerouted the delivery."), True),
    CaseTemplate(CaseKind.REQUEST, Priority.HIGH, ("加急清关", "Expedite customs clearance"),
            ("产线待料，请求优先清关。", "Production line waiting; asked for priority clearance."),
            ("已安排预申报，当天放行。", "Pre-lodged the entry; released the same day."), True),
    CaseTemplate(CaseKind.REQUEST, Priority.LOW, ("追加货物保险", "Add cargo insurance"),
            ("要求为后续货物投保一切险。", "Asked for all-risks cover on coming shipments."),
            ("已出具预约保单。", "Open cover issued.")),
    CaseTemplate(CaseKind.REQUEST, Priority.URGENT, ("货物被海关扣留", "Goods held by customs"),
            ("目的港海关查验扣货，客户急需放行。", "Customs at destination holds the goods for "
             "inspection; the customer needs them urgently."),
            ("补交原产地证后放行。", "Released after the certificate of origin was filed."), True),
    CaseTemplate(CaseKind.COMPLAINT, Priority.NORMAL, ("账单金额有误", "Invoice amount wrong"),
            ("燃油附加费计算与协议不符。", "The fuel surcharge does not match the agreement."),
            ("已开具红字发票并重开。", "Credit note issued and invoice reissued.")),
    CaseTemplate(CaseKind.COMPLAINT, Priority.HIGH, ("货物晚到", "Shipment arrived late"),
            ("货物晚到一天，影响客户排产。", "A day late; the customer's production plan slipped."),
            ("说明延误原因，承诺下票优先配舱。", "Explained the delay; priority space promised "
             "for the next shipment."), True),
    CaseTemplate(CaseKind.COMPLAINT, Priority.LOW, ("轨迹更新不及时", "Tracking not updated"),
            ("门户中轨迹两天未更新。", "Tracking in the portal did not move for two days."),
            ("已修复接口并补录节点。", "Interface fixed and the milestones backfilled.")),
)  # fmt: skip

#: Reopening a resolution that did not hold, in Chinese and English.
REOPEN_REASONS = ("客户反馈问题仍未解决。", "The customer reports the problem is not solved.")

#: The first response to the customer, in Chinese and English.
FIRST_RESPONSES = (
    ("已受理，专人跟进，今日内回复处理方案。",
     "Received; your case owner replies with a plan today."),
    ("已联系相关方核实，稍后告知进展。",
     "We are checking with the parties involved; an update follows."),
)  # fmt: skip
