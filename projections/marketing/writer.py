"""The marketing writer: segment and campaign rows as their events say, and each campaign's
reach — contacts and responses per relationship, prospects registered, money spent per
branch ('' for none), and the opportunities opened from it with their status and value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from domain.marketing import Campaign, CampaignState, Segment, SegmentState
from domain.opportunity import Opportunity
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.marketing.migration import MIGRATION

#: Unallocated spend, in ``marketing_spend.branch``.
NO_BRANCH = ""


def _touch(conn: Connection, table: str, key: str, item: ProjectedEvent, sets: str = "",
           params: Sequence[Any] = ()) -> None:  # fmt: skip
    event = item.event
    conn.execute(
        f"UPDATE {table} SET {sets}{', ' if sets else ''}version = %s, position = %s, "
        f"updated_at = %s WHERE {key} = %s",
        (*params, event.originator_version, item.position, item.recorded_at, event.originator_id),
    )


def _segment(conn: Connection, item: ProjectedEvent) -> None:
    e = item.event
    if isinstance(e, Segment.Defined):
        conn.execute(
            "INSERT INTO marketing_segment (segment_id, name, description, rules, owner_branch, "
            "state, defined_by, defined_at, defined_position, version, position, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.originator_id, e.name, e.description, Jsonb(e.rules), e.owner_branch,
                SegmentState.ACTIVE.value, e.actor, e.occurred_at, item.position,
                e.originator_version, item.position, item.recorded_at,
            ),
        )  # fmt: skip
    elif isinstance(e, Segment.Changed):
        _touch(
            conn, "marketing_segment", "segment_id", item,
            "name = %s, description = %s, rules = %s", (e.name, e.description, Jsonb(e.rules)),
        )  # fmt: skip
    elif isinstance(e, Segment.Retired):
        _touch(conn, "marketing_segment", "segment_id", item, "state = %s",
               (SegmentState.RETIRED.value,))  # fmt: skip


def _campaign(conn: Connection, item: ProjectedEvent) -> None:
    e = item.event
    cid = e.originator_id
    if isinstance(e, Campaign.Planned):
        conn.execute(
            "INSERT INTO marketing_campaign (campaign_id, name, segment_id, offering_id, "
            "starts_on, ends_on, budget, currency, spent, state, owner_branch, planned_by, "
            "planned_at, planned_position, version, position, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                cid, e.name, e.segment_id, e.offering_id, e.starts_on, e.ends_on, e.budget,
                e.currency, CampaignState.PLANNED.value, e.owner_branch, e.actor, e.occurred_at,
                item.position, e.originator_version, item.position, item.recorded_at,
            ),
        )  # fmt: skip
        return
    sets: str = ""
    params: tuple[Any, ...] = ()
    if isinstance(e, Campaign.Started):
        sets, params = "state = %s", (CampaignState.RUNNING.value,)
    elif isinstance(e, Campaign.Closed):
        sets, params = "state = %s", (CampaignState.CLOSED.value,)
    elif isinstance(e, Campaign.SpendRecorded):
        sets, params = "spent = spent + %s", (e.amount,)
        conn.execute(
            "INSERT INTO marketing_spend (campaign_id, branch, amount) VALUES (%s, %s, %s) "
            "ON CONFLICT (campaign_id, branch) DO UPDATE "
            "SET amount = marketing_spend.amount + EXCLUDED.amount",
            (cid, e.branch or NO_BRANCH, e.amount),
        )
    elif isinstance(e, Campaign.ContactLogged):
        conn.execute(
            "INSERT INTO marketing_contact (campaign_id, relationship_id, contacts, "
            "first_contacted_at, last_contacted_at) VALUES (%s, %s, 1, %s, %s) "
            "ON CONFLICT (campaign_id, relationship_id) DO UPDATE "
            "SET contacts = marketing_contact.contacts + 1, "
            "first_contacted_at = least(marketing_contact.first_contacted_at, "
            "EXCLUDED.first_contacted_at), "
            "last_contacted_at = greatest(marketing_contact.last_contacted_at, "
            "EXCLUDED.last_contacted_at)",
            (cid, e.relationship_id, e.occurred_at, e.occurred_at),
        )
    elif isinstance(e, Campaign.ResponseRecorded):
        conn.execute(
            "UPDATE marketing_contact SET response = %s, responded_at = %s "
            "WHERE campaign_id = %s AND relationship_id = %s",
            (e.response, e.occurred_at, cid, e.relationship_id),
        )
    elif isinstance(e, Campaign.ProspectRegistered):
        conn.execute(
            "INSERT INTO marketing_prospect (campaign_id, relationship_id, registered_at) "
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (cid, e.relationship_id, e.occurred_at),
        )
    _touch(conn, "marketing_campaign", "campaign_id", item, sets, params)


def _opportunity(conn: Connection, item: ProjectedEvent) -> None:
    e = item.event
    oid = e.originator_id
    if isinstance(e, Opportunity.Identified):
        if e.source_campaign_id is not None:
            conn.execute(
                "INSERT INTO marketing_opportunity (opportunity_id, campaign_id, "
                "relationship_id, expected_value, currency, status) "
                "VALUES (%s, %s, %s, %s, %s, 'open')",
                (oid, e.source_campaign_id, e.relationship_id, e.expected_value, e.currency),
            )
    elif isinstance(e, Opportunity.ExpectedValueRevised):
        conn.execute(
            "UPDATE marketing_opportunity SET expected_value = %s, currency = %s "
            "WHERE opportunity_id = %s",
            (e.amount, e.currency, oid),
        )
    elif isinstance(e, Opportunity.Won):
        conn.execute(
            "UPDATE marketing_opportunity SET status = 'won', won_at = %s "
            "WHERE opportunity_id = %s",
            (e.occurred_at, oid),
        )
    elif isinstance(e, Opportunity.Lost):
        conn.execute(
            "UPDATE marketing_opportunity SET status = 'lost' WHERE opportunity_id = %s", (oid,)
        )


class MarketingProjection(BatchProjection):
    name = "marketing"
    migration = MIGRATION
    tables = (
        "marketing_segment",
        "marketing_campaign",
        "marketing_contact",
        "marketing_prospect",
        "marketing_spend",
        "marketing_opportunity",
    )

    def handles(self, topic: str) -> bool:
        return topic.startswith(("Segment.", "Campaign.", "Opportunity."))

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        for item in events:
            event = item.event
            if isinstance(event, Segment.Event):
                _segment(conn, item)
            elif isinstance(event, Campaign.Event):
                _campaign(conn, item)
            elif isinstance(event, Opportunity.Event):
                _opportunity(conn, item)
