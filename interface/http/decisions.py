"""/v1/decisions: views for managers, each filterable by the customer's branch, region and
industry (branch managers see their own branch only).

Figures that depend on the day or the moment of asking are computed when asked; money is
per currency and never converted. See ``projections.value_queries`` for what counts as
business and as a purchase, and how model value is fitted.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.opportunity import Stage
from domain.relationship import Lifecycle
from domain.value import DormancyPolicy, RfmSegment
from interface.http.deps import (
    Allowed,
    NoNul,
    Reads,
    ServicesDep,
    Staff,
    fresh,
    scoped_branch,
)
from interface.http.errors import responses
from interface.http.permissions import OVERSIGHT
from interface.http.reads import Limit
from interface.http.routing import OneTripRoute
from interface.http.shipment_reads import LinkCosts, Rewards
from interface.runtime import Services
from projections.customer_value.queries import ModelSource, ValueModels
from projections.decisions.customers import RankBy, segments, top_customers
from projections.decisions.partners import partner_ranking
from projections.decisions.periods import PeriodKind, value_by_period
from projections.decisions.risk import RiskKind, RiskPolicy, customers_at_risk
from projections.decisions.sales import competitor_records, pipeline
from projections.decisions.scope import DECISION_READ_MODELS, Scope
from projections.decisions.service_levels import service_levels
from projections.freshness import ReadConnection

router = APIRouter(route_class=OneTripRoute, prefix="/v1/decisions", tags=["decisions"])

READ_ERRORS = responses(401, 422, 503)

Money = dict[str, Decimal]


async def scope(
    staff: Staff,
    branch: Annotated[
        str | None, Query(max_length=80, description="The customer's branch"), NoNul
    ] = None,
    region: Annotated[
        str | None, Query(max_length=80, description="The customer's region"), NoNul
    ] = None,
    industry: Annotated[
        str | None, Query(max_length=80, description="The customer's industry"), NoNul
    ] = None,
) -> Scope:
    return Scope(branch=scoped_branch(staff, branch), region=region, industry=industry)


InScope = Annotated[Scope, Depends(scope)]


async def dormancy(
    dormant_after_days: Annotated[
        int, Query(ge=1, le=3650, description="No delivered shipment for this long: dormant")
    ] = 90,
    lost_after_days: Annotated[
        int, Query(ge=2, le=3650, description="No delivered shipment for this long: lost")
    ] = 365,
) -> DormancyPolicy:
    return DormancyPolicy(dormant_after_days, lost_after_days)  # InvalidValue: 422, its field


Dormancy = Annotated[DormancyPolicy, Depends(dormancy)]


# --- response models ---------------------------------------------------------------------


class PipelineRow(BaseModel):
    branch: str
    stage: Stage
    currency: str
    opportunities: int
    expected_value: Decimal
    weighted_value: Decimal = Field(description="Expected value × probability: potential value")


class Pipeline(BaseModel):
    items: list[PipelineRow]


class CompetitorRecord(BaseModel):
    competitor_id: UUID
    name: str | None
    competing: int = Field(description="Open opportunities it competes in")
    won_against: int = Field(description="Won by us while it competed")
    lost_to: int = Field(description="Lost to it: it won the business")
    lost_to_others: int = Field(description="Lost while it competed, but not to it")
    head_to_head_win_rate: Decimal | None = Field(
        description="won_against / (won_against + lost_to), to the hundredth; null if none"
    )


class CompetitorRecords(BaseModel):
    items: list[CompetitorRecord]


class BgNbd(BaseModel):
    r: float
    alpha: float
    a: float
    b: float


class GammaGamma(BaseModel):
    p: float
    q: float
    gamma: float


class CurrencyModelInfo(BaseModel):
    currency: str
    customers: int = Field(description="Customers with a purchase in this currency")
    repeat_customers: int
    purchases_model: ModelSource = Field(description="BG/NBD: fitted, or CDNOW scaled to us")
    bgnbd: BgNbd = Field(description="Per week")
    spend_model: ModelSource
    gamma_gamma: GammaGamma
    converged: bool


class ModelsInfo(BaseModel):
    as_of: date = Field(description="The day the figures are for")
    inputs_position: int = Field(description="Purchase histories up to this log position")
    horizon_weeks: float = Field(description="Model value is the revenue expected in these")
    models: list[CurrencyModelInfo] = Field(description="Currencies without one: too little")

    @classmethod
    def of(cls, m: ValueModels) -> "ModelsInfo":
        return cls(
            as_of=m.as_of,
            inputs_position=m.inputs_position,
            horizon_weeks=m.horizon_weeks,
            models=[
                CurrencyModelInfo(
                    currency=c.currency,
                    customers=c.customers,
                    repeat_customers=c.repeat_customers,
                    purchases_model=c.purchases_source,
                    bgnbd=BgNbd(r=c.bgnbd.r, alpha=c.bgnbd.alpha, a=c.bgnbd.a, b=c.bgnbd.b),
                    spend_model=c.spend_source,
                    gamma_gamma=GammaGamma(
                        p=c.gamma_gamma.p, q=c.gamma_gamma.q, gamma=c.gamma_gamma.gamma
                    ),
                    converged=c.converged,
                )
                for c in m.currencies.values()
            ],
        )


class Rfm(BaseModel):
    recency: int = Field(description="1..5, 5: most recent")
    frequency: int
    monetary: int
    code: str = Field(description='e.g. "545"')
    segment: RfmSegment


class LoyaltyFigures(BaseModel):
    """Over calendar months, from the first with business through this one."""

    first_month: str = Field(description='The first month with business, e.g. "2025-03"')
    tenure: int = Field(description="Months since the first with business, this one included")
    periods_active: int
    share_active: float
    current_streak: int
    longest_streak: int


class CustomerValueEntry(BaseModel):
    customer_id: UUID
    name: str
    branch: str
    region: str
    industry: str
    currency: str
    realised_value: Decimal = Field(description="既成价值: revenue of delivered shipments")
    potential_value: Decimal = Field(description="潜在价值: weighted open pipeline")
    model_value: Decimal | None = Field(description="模型价值: revenue expected in the horizon")
    expected_purchases: float | None = Field(description="Purchase days expected in the horizon")
    probability_alive: float | None
    purchases: int = Field(description="Delivered shipments with revenue in this currency")
    first_purchase: date
    last_purchase: date
    rfm: Rfm
    status: Lifecycle | None = Field(description="active, dormant or lost by days without business")
    last_business: date | None = Field(description="Last delivery, charged or not")
    loyalty: LoyaltyFigures | None


class TopCustomers(BaseModel):
    by: RankBy
    model: ModelsInfo
    currencies: dict[str, list[CustomerValueEntry]] = Field(description="Per currency, best first")


class SegmentRow(BaseModel):
    segment: RfmSegment
    customers: int
    realised_value: Decimal


class Segments(BaseModel):
    as_of: date
    currencies: dict[str, list[SegmentRow]]


class RiskReason(BaseModel):
    kind: RiskKind
    detail: str


class CustomerAtRisk(BaseModel):
    customer_id: UUID
    name: str
    branch: str
    region: str
    industry: str
    lifecycle: Lifecycle = Field(description="As the relationship records it")
    last_business: date | None
    realised_value: Money
    reasons: list[RiskReason]


class CustomersAtRisk(BaseModel):
    as_of: datetime
    dormant_after_days: int
    lost_after_days: int
    window_days: int
    incident_threshold: int
    sla_breach_threshold: int
    items: list[CustomerAtRisk]


class PartnerRank(BaseModel):
    rank: int
    partner_id: UUID
    name: str = Field(description="The partner's name now")
    names: list[str] = Field(
        description="The names the partner went by at the time of its links (as planned or "
        "reassigned) and incidents (as assigned), in the order first used"
    )
    links_run: int = Field(description="Links completed for the customers in scope")
    links_in_progress: int
    links_on_time: int
    on_time_share: float | None
    incidents_attributed: int
    incidents_open: int
    incidents_per_link: float | None
    recovery_outstanding: Money = Field(description="Recovery claimed less received")
    costs: list[LinkCosts] = Field(description="What its links cost us, per currency")
    rewards: list[Rewards] = Field(
        description="Its charge-backs (of the shipments in scope) and bonuses, per currency"
    )


class PartnerRanking(BaseModel):
    items: list[PartnerRank]


class PeriodFigures(BaseModel):
    period: str = Field(description='"2025-03" or "2025-Q1"')
    start: date
    end: date
    complete: bool = Field(description="False for the period still running")
    active_customers: int = Field(description="Customers with a delivered shipment")
    new_customers: int = Field(description="Customers whose first delivered shipment it was")
    previously_active: int = Field(description="Customers active in the period before")
    retained: int = Field(description="Of those, active again in this period")
    retention_rate: float | None = Field(description="retained / previously_active")
    realised_value: Money


class ValueByPeriod(BaseModel):
    period: PeriodKind
    as_of: date
    items: list[PeriodFigures]


class BranchServiceLevel(BaseModel):
    branch: str
    cases: int
    open_cases: int
    first_response_met: int
    first_response_breached: int
    first_response_compliance: float | None = Field(description="met / (met + breached)")
    resolution_met: int
    resolution_breached: int
    resolution_compliance: float | None
    breached_cases: int = Field(description="Cases with either clock breached")
    rated: int
    satisfaction: float | None = Field(description="Mean rating, 1 to 5")


class ServiceLevels(BaseModel):
    as_of: datetime
    since: datetime
    items: list[BranchServiceLevel]


# --- endpoints ---------------------------------------------------------------------------


def _models(s: Services, conn: ReadConnection) -> ValueModels:
    return s.value_models().current(conn)


@router.get(
    "/pipeline",
    summary="Open pipeline by branch and stage",
    response_model=Pipeline,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def pipeline_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))], where: InScope, conn: Reads
) -> Pipeline:
    return Pipeline(items=[PipelineRow.model_validate(r) for r in pipeline(conn, where)])


@router.get(
    "/competitors",
    summary="Win rate against each competitor",
    response_model=CompetitorRecords,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def competitors_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    where: InScope,
    conn: Reads,
    since: Annotated[date | None, Query(description="Opportunities identified since")] = None,
) -> CompetitorRecords:
    rows = competitor_records(conn, where, since=since)
    return CompetitorRecords(items=[CompetitorRecord.model_validate(r) for r in rows])


@router.get(
    "/top-customers",
    summary="Top customers by realised or by model value, per currency",
    description="Each with realised, potential and model value, RFM score and segment, "
    "dormancy and loyalty; and the value models used.",
    response_model=TopCustomers,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def top_customers_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    where: InScope,
    conn: Reads,
    s: ServicesDep,
    policy: Dormancy,
    by: RankBy = RankBy.REALISED,
    limit: Limit = 20,
) -> TopCustomers:
    models = _models(s, conn)
    ranked = top_customers(conn, where, models, by=by, limit=limit, policy=policy)
    return TopCustomers(
        by=by,
        model=ModelsInfo.of(models),
        currencies={
            c: [CustomerValueEntry.model_validate(e) for e in entries]
            for c, entries in ranked.items()
        },
    )


@router.get(
    "/segments",
    summary="Customers per RFM segment, per currency",
    response_model=Segments,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def segments_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    where: InScope,
    conn: Reads,
    s: ServicesDep,
) -> Segments:
    models = _models(s, conn)
    rows = segments(conn, where, models)
    return Segments(
        as_of=models.as_of,
        currencies={c: [SegmentRow.model_validate(r) for r in items] for c, items in rows.items()},
    )


@router.get(
    "/customers-at-risk",
    summary="Customers at risk, and why",
    description="Dormant or lost (no delivered shipment for the given days), repeated "
    "incidents or breached SLAs within the window, an RFM segment of good customers "
    "slipping away (at_risk, cannot_lose), a key account's follow-ups overdue.",
    response_model=CustomersAtRisk,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def at_risk_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    where: InScope,
    conn: Reads,
    s: ServicesDep,
    policy: Dormancy,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 180,
    incident_threshold: Annotated[
        int, Query(ge=1, le=1000, description="Incidents in the window that put it at risk")
    ] = 2,
    sla_breach_threshold: Annotated[
        int, Query(ge=1, le=1000, description="Breached service cases that put it at risk")
    ] = 1,
) -> CustomersAtRisk:
    now = s.app.clock()
    risk = RiskPolicy(policy, window_days, incident_threshold, sla_breach_threshold)
    rows = customers_at_risk(conn, where, _models(s, conn), now=now, policy=risk)
    return CustomersAtRisk(
        as_of=now,
        dormant_after_days=policy.dormant_after_days,
        lost_after_days=policy.lost_after_days,
        window_days=window_days,
        incident_threshold=incident_threshold,
        sla_breach_threshold=sla_breach_threshold,
        items=[CustomerAtRisk.model_validate(r) for r in rows],
    )


@router.get(
    "/partners",
    summary="Partners ranked on the customers' shipments",
    description="Links run, on-time share, incidents attributed and recovery outstanding, "
    "beside the links' costs and the charge-backs and bonuses, as on the partner scorecard, "
    "counted over the shipments of the customers in scope; ranked by on-time share, then "
    "incidents per link run, then links run.",
    response_model=PartnerRanking,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def partners_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))], where: InScope, conn: Reads
) -> PartnerRanking:
    return PartnerRanking(
        items=[PartnerRank.model_validate(r) for r in partner_ranking(conn, where)]
    )


@router.get(
    "/value-by-period",
    summary="Realised value and retention per month or quarter",
    response_model=ValueByPeriod,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def value_by_period_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    where: InScope,
    conn: Reads,
    s: ServicesDep,
    period: PeriodKind = PeriodKind.MONTH,
    periods: Annotated[int, Query(ge=1, le=120, description="How many, through this one")] = 12,
) -> ValueByPeriod:
    as_of = s.app.clock().astimezone(UTC).date()
    rows = value_by_period(conn, where, kind=period, periods=periods, as_of=as_of)
    return ValueByPeriod(
        period=period, as_of=as_of, items=[PeriodFigures.model_validate(r) for r in rows]
    )


@router.get(
    "/service-levels",
    summary="SLA compliance and satisfaction per branch",
    response_model=ServiceLevels,
    responses=READ_ERRORS,
    dependencies=[fresh(*DECISION_READ_MODELS)],
)
def service_levels_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    where: InScope,
    conn: Reads,
    s: ServicesDep,
    days: Annotated[int, Query(ge=1, le=3650, description="Cases opened in the last days")] = 365,
) -> ServiceLevels:
    now = s.app.clock()
    since = now - timedelta(days=days)
    rows = service_levels(conn, where, now=now, since=since)
    return ServiceLevels(
        as_of=now, since=since, items=[BranchServiceLevel.model_validate(r) for r in rows]
    )
