"""Customer self-service (自我服务): 苏州华芯电子's logistics buyer, a customer user its
branch manager registered, rates a delivered shipment, opens a complaint about it and
requests a quote; and a prospect the company has never dealt with asks for a quote through
the public form, which registers it with the opportunity.

Ids and times are drawn from a generator of this story's own: the other stories draw
exactly what they drew before."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from application.commands import CommandResult
from application.self_service import QUOTE_FORM_CONTACT, company_key, prospect_id_for
from domain.base import CommandContext
from domain.relationship import Channel, Direction
from domain.service_case import CaseKind
from domain.staff import Role
from interface.demo.plan import Plan

#: The seed of this story's own generator.
SEED = "self-service"

#: The customer user of the demo (``fullchain staff token buyer.huaxin``).
CUSTOMER_USER = "buyer.huaxin"
CUSTOMER_KEY = "huaxin"
#: The company that asks for a quote through the public form.
PROSPECT = "昆山精锐模具有限公司"


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _public_quote_request(plan: Plan, ctx: CommandContext, **request: Any) -> CommandResult:
    """The public form's request, answered with the opportunity it opened."""
    return plan.app.self_service.public_quote_request(ctx, **request)[0]


def tell_all(plan: Plan) -> None:
    rng = random.Random(SEED)
    app = plan.app
    rel = plan.rels.get(CUSTOMER_KEY)
    if rel is None:
        return
    zone, manager = rel.branch.zone, rel.branch.manager
    registered = plan.at(zone, 30, rng.randint(9 * 60, 11 * 60))
    plan.add(
        registered,
        manager,
        partial(
            app.staff.register_staff,
            staff_id=CUSTOMER_USER,
            name="王芳 (苏州华芯电子 物流采购)",
            branch="",
            roles=(Role.CUSTOMER,),
            customer_id=rel.rid,
        ),
        "self_service:customer_user",
    )
    delivered = [
        v
        for v in plan.voyages
        if v.rel is rel and v.delivered_at is not None and v.delivered_at < plan.now - timedelta(3)
    ]
    if delivered:
        voyage = max(delivered, key=lambda v: v.delivered_at or plan.now)
        assert voyage.delivered_at is not None
        rated = max(voyage.delivered_at, registered) + timedelta(hours=rng.randint(20, 30))
        plan.add(
            rated,
            CUSTOMER_USER,
            partial(
                app.self_service.rate_shipment,
                customer_id=rel.rid,
                sid=voyage.sid,
                rating=4,
                comment="准时送达，签收单上传及时；外箱有两处轻微压痕。",
            ),
            "self_service:rated",
        )
        plan.add(
            rated + timedelta(minutes=rng.randint(5, 40)),
            CUSTOMER_USER,
            partial(
                app.self_service.open_case,
                customer_id=rel.rid,
                kind=CaseKind.COMPLAINT,
                subject=f"{voyage.reference} 外箱压痕",
                description="两箱外箱有压痕，请确认芝加哥仓库的装卸情况，并说明后续的包装建议。",
                shipment_id=voyage.sid,
                case_id=_uuid(rng),
            ),
            "self_service:case",
        )
    plan.add(
        plan.at(zone, 5, rng.randint(9 * 60, 17 * 60)),
        CUSTOMER_USER,
        partial(
            app.self_service.request_quote,
            customer_id=rel.rid,
            offering_id=plan.products["szv_ord"],
            subject="下季度每月 2 吨芯片模组 苏州→芝加哥 空运",
            indicative_value=Decimal("180000"),
            currency="USD",
            opportunity_id=_uuid(rng),
        ),
        "self_service:quote_request",
    )
    asked = plan.at(zone, 3, rng.randint(9 * 60, 12 * 60))
    plan.add(
        asked,
        "public:quote-form",
        partial(
            _public_quote_request,
            plan,
            matched=None,
            company=PROSPECT,
            industry="precision moulds",
            region="East China",
            branch=rel.branch.name,
            contact_name="陈立新",
            email="chen.lixin@jingrui-mould.example",
            phone="+86 512 5766 0000",
            offering_id=plan.products["szv_ord"],
            subject="模具样件 每月 300 公斤 苏州→芝加哥 空运报价",
            indicative_value=Decimal("36000"),
            currency="USD",
            opportunity_id=_uuid(rng),
        ),
        "self_service:public_quote_request",
    )
    # The branch takes the new prospect on: an account team, and the field rep's call back.
    prospect = prospect_id_for(company_key(PROSPECT))
    field_rep = (rel.branch.field_reps or (manager,))[0]
    office_rep = (rel.branch.office_reps or (manager,))[0]
    plan.add(
        asked + timedelta(hours=2),
        manager,
        partial(
            app.relationships.assign_account_team,
            rid=prospect,
            field_rep=field_rep,
            office_rep=office_rep,
        ),
        "self_service:account_team",
    )
    plan.add(
        asked + timedelta(hours=3, minutes=rng.randint(0, 50)),
        field_rep,
        partial(
            app.relationships.log_interaction,
            rid=prospect,
            interaction_id=_uuid(rng),
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            summary="回电陈先生：确认样件尺寸与月度票数，约下周到昆山拜访。",
            staff=field_rep,
            contact_id=QUOTE_FORM_CONTACT,
        ),
        "self_service:call_back",
    )
