"""The responsibility-audit tables: one row (and the whole view as JSON) per shipment, one
per link, incident and claim."""

from __future__ import annotations

from application.store.schema import TRACKING_TABLE, Migration

MIGRATION = Migration(
    "0004_responsibility_audit",
    "full-chain responsibility audit read model",
    [
        """
        CREATE TABLE shipment_audit (
            shipment_id uuid PRIMARY KEY,
            customer_id uuid NOT NULL,
            reference text NOT NULL,
            origin text NOT NULL,
            destination text NOT NULL,
            status text NOT NULL,
            modes text[] NOT NULL,
            parties text[] NOT NULL,
            current_holder text,
            booked_at timestamptz NOT NULL,
            delivered_at timestamptz,
            open_incidents integer NOT NULL,
            open_claims integer NOT NULL,
            compensation_paid jsonb NOT NULL,
            view jsonb NOT NULL,
            booked_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX shipment_audit_customer_idx ON shipment_audit (customer_id)",
        "CREATE INDEX shipment_audit_status_idx ON shipment_audit (status, booked_position)",
        "CREATE INDEX shipment_audit_parties_idx ON shipment_audit USING gin (parties)",
        """
        CREATE TABLE audit_link (
            shipment_id uuid NOT NULL,
            sequence integer NOT NULL,
            function text NOT NULL,
            mode text,
            party text NOT NULL,
            partner_id uuid,
            regime text NOT NULL,
            status text NOT NULL,
            planned_end timestamptz NOT NULL,
            estimated_end timestamptz,
            completed_at timestamptz,
            custody_from timestamptz,
            custody_until timestamptz,
            received_condition text,
            released_condition text,
            PRIMARY KEY (shipment_id, sequence)
        )
        """,
        "CREATE INDEX audit_link_partner_idx ON audit_link (partner_id)",
        """
        CREATE TABLE audit_incident (
            shipment_id uuid NOT NULL,
            incident_id uuid NOT NULL,
            link_sequence integer NOT NULL,
            kind text NOT NULL,
            discovered_at timestamptz NOT NULL,
            responsibility_status text NOT NULL,
            responsible_party text,
            responsible_partner_id uuid,
            resolved_at timestamptz,
            PRIMARY KEY (shipment_id, incident_id)
        )
        """,
        "CREATE INDEX audit_incident_partner_idx ON audit_incident (responsible_partner_id)",
        """
        CREATE TABLE audit_claim (
            shipment_id uuid NOT NULL,
            claim_id uuid NOT NULL,
            incident_id uuid NOT NULL,
            currency text NOT NULL,
            amount numeric NOT NULL,
            notified_at timestamptz NOT NULL,
            responsible_party text,
            responsible_partner_id uuid,
            limit_amount numeric,
            notice_deadline timestamptz,
            time_bar timestamptz,
            compensation_paid numeric,
            compensated_at timestamptz,
            recovery_from uuid,
            recovery_claimed numeric,
            recovery_received numeric,
            recovery_waived boolean NOT NULL,
            closed_at timestamptz,
            PRIMARY KEY (shipment_id, claim_id)
        )
        """,
        "CREATE INDEX audit_claim_recovery_idx ON audit_claim (recovery_from)",
    ],
)

#: A claim's two sets of deadlines: the customer's against us and those of our recovery
#: from the responsible link's party, with when that party had notice. The columns of the
#: one pair the claim had are the recovery's (they served it). The read model is emptied and
#: its position forgotten, so the worker rebuilds it from the log with the new views.
DEADLINES_MIGRATION = Migration(
    "0018_claim_deadlines",
    "responsibility audit: customer and recovery deadlines of a claim; rebuilt from the log",
    [
        "ALTER TABLE audit_claim RENAME COLUMN notice_deadline TO recovery_notice_deadline",
        "ALTER TABLE audit_claim RENAME COLUMN time_bar TO recovery_time_bar",
        """
        ALTER TABLE audit_claim
            ADD COLUMN recovery_noticed_at timestamptz,
            ADD COLUMN customer_regime text,
            ADD COLUMN customer_notice_deadline timestamptz,
            ADD COLUMN customer_time_bar timestamptz
        """,
        "TRUNCATE shipment_audit, audit_link, audit_incident, audit_claim",
        f"DELETE FROM {TRACKING_TABLE} WHERE application_name = 'responsibility_audit'",
    ],
)

#: Every handover that noted the goods damaged or short, as the ``Shipment`` says it
#: (``Shipment.handover_exceptions``): the incident that covers it, if any, and the party
#: the responsibility rules propose for it; ``link_sequence`` is the link that received the
#: goods, or the last link for the delivery to the consignee. Each incident gets the party
#: the rules propose for it (``Shipment.propose_responsibility``). The read model is emptied
#: and its position forgotten, so the worker rebuilds it from the log with the new table.
EXCEPTIONS_MIGRATION = Migration(
    "0019_handover_exceptions",
    "responsibility audit: handover exceptions with their covering incident and the party "
    "proposed; rebuilt from the log",
    [
        """
        CREATE TABLE audit_handover_exception (
            shipment_id uuid NOT NULL,
            link_sequence integer NOT NULL,
            to_consignee boolean NOT NULL,
            handed_over_at timestamptz NOT NULL,
            condition text NOT NULL,
            covered_by uuid,
            responsible_link_sequence integer NOT NULL,
            responsible_party text NOT NULL,
            responsible_partner_id uuid,
            PRIMARY KEY (shipment_id, link_sequence, to_consignee)
        )
        """,
        """
        ALTER TABLE audit_incident
            ADD COLUMN proposed_party text,
            ADD COLUMN proposed_partner_id uuid
        """,
        "TRUNCATE shipment_audit, audit_link, audit_incident, audit_claim",
        f"DELETE FROM {TRACKING_TABLE} WHERE application_name = 'responsibility_audit'",
    ],
)

#: When responsibility was proposed to an incident's party, for the deadline of its answer
#: (``responsibility_deemed_accepted``); rebuilt from the log, as 0018.
ANSWER_MIGRATION = Migration(
    "0021_responsibility_answer",
    "responsibility audit: when responsibility was assigned; rebuilt from the log",
    [
        "ALTER TABLE audit_incident ADD COLUMN assigned_at timestamptz",
        "TRUNCATE shipment_audit, audit_link, audit_incident, audit_claim, "
        "audit_handover_exception",
        f"DELETE FROM {TRACKING_TABLE} WHERE application_name = 'responsibility_audit'",
    ],
)

#: Every party named as it was named at the time of the event: ``audit_party_name`` is the
#: directory of names (a relationship's from its registration and renames, a staff
#: member's from their registration), one row per name with the log position from which
#: it held; ``audit_party_ref`` keeps, per shipment, the position of the event that named
#: each party reference (a link's party, an incident's responsible party and who assigned,
#: answered or arbitrated it, a claim's assessed party and recovery partner), so the name
#: as of that event is the directory's latest before it whenever the rows are written.
#: The audit rows carry the names beside the ids. Rebuilt from the log, as 0018.
PARTY_NAMES_MIGRATION = Migration(
    "0022_party_names",
    "responsibility audit: parties named as of the event; rebuilt from the log",
    [
        """
        CREATE TABLE audit_party_name (
            party text NOT NULL,
            position bigint NOT NULL,
            name text NOT NULL,
            PRIMARY KEY (party, position)
        )
        """,
        """
        CREATE TABLE audit_party_ref (
            shipment_id uuid NOT NULL,
            ref text NOT NULL,
            party text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (shipment_id, ref)
        )
        """,
        "ALTER TABLE audit_link ADD COLUMN party_name text",
        """
        ALTER TABLE audit_incident
            ADD COLUMN responsible_party_name text,
            ADD COLUMN proposed_party_name text
        """,
        "ALTER TABLE audit_handover_exception ADD COLUMN responsible_party_name text",
        """
        ALTER TABLE audit_claim
            ADD COLUMN responsible_party_name text,
            ADD COLUMN recovery_from_name text
        """,
        "TRUNCATE shipment_audit, audit_link, audit_incident, audit_claim, "
        "audit_handover_exception",
        f"DELETE FROM {TRACKING_TABLE} WHERE application_name = 'responsibility_audit'",
    ],
)

#: Links that never hold the goods (logistics information), which custody passes over, and
#: every handover that breached the cargo's conditions, as the ``Shipment`` says it
#: (``Shipment.condition_breaches``): what was breached and seen, the incident that covers
#: it, if any, and the link that held the goods when it happened; ``link_sequence`` as in
#: ``audit_handover_exception``. Rebuilt from the log, as 0018.
CONDITIONS_MIGRATION = Migration(
    "0023_cargo_conditions",
    "responsibility audit: links that hold no goods, handovers that breached the cargo's "
    "conditions; rebuilt from the log",
    [
        "ALTER TABLE audit_link ADD COLUMN takes_custody boolean NOT NULL DEFAULT true",
        """
        CREATE TABLE audit_condition_breach (
            shipment_id uuid NOT NULL,
            link_sequence integer NOT NULL,
            to_consignee boolean NOT NULL,
            kind text NOT NULL,
            handed_over_at timestamptz NOT NULL,
            detail text NOT NULL,
            covered_by uuid,
            responsible_link_sequence integer NOT NULL,
            responsible_party text NOT NULL,
            responsible_partner_id uuid,
            responsible_party_name text,
            PRIMARY KEY (shipment_id, link_sequence, to_consignee, kind)
        )
        """,
        "TRUNCATE shipment_audit, audit_link, audit_incident, audit_claim, "
        "audit_handover_exception, audit_party_name, audit_party_ref",
        f"DELETE FROM {TRACKING_TABLE} WHERE application_name = 'responsibility_audit'",
    ],
)

#: What each link costs us (``domain/costs.py``): planned with its party, then invoiced by
#: it; and the partners' rewards and penalties (奖惩) that headquarters decides, one row
#: per charge-back or bonus (``kind``), from the partner's own history. No event of
#: either existed before, so the read model keeps its rows and its position.
LINK_COSTS_MIGRATION = Migration(
    "0024_link_costs",
    "responsibility audit: planned and invoiced cost per link; partners' charge-backs and bonuses",
    [
        """
        ALTER TABLE audit_link
            ADD COLUMN planned_cost numeric,
            ADD COLUMN planned_currency text,
            ADD COLUMN actual_cost numeric,
            ADD COLUMN actual_currency text,
            ADD COLUMN invoice_reference text
        """,
        """
        CREATE TABLE audit_partner_reward (
            partner_id uuid NOT NULL,
            reward_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('charge_back', 'bonus')),
            amount numeric NOT NULL,
            currency text NOT NULL,
            reason text NOT NULL,
            shipment_id uuid,
            incident_id uuid,
            claim_id uuid,
            period_start timestamptz,
            period_end timestamptz,
            decided_at timestamptz NOT NULL,
            decided_by text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (partner_id, reward_id)
        )
        """,
        "CREATE INDEX audit_partner_reward_shipment_idx ON audit_partner_reward (shipment_id)",
    ],
)


#: The evidence attached to shipments' incidents, claims and handovers and to
#: relationships' interactions (``domain/evidence.py``), one row per file and record it is
#: attached to (the first attachment; attaching it again adds no row). No such event
#: existed before, so the read model keeps its rows and its position.
ATTACHMENTS_MIGRATION = Migration(
    "0031_attachments",
    "responsibility audit: evidence attached to incidents, claims, handovers, interactions",
    [
        """
        CREATE TABLE audit_evidence (
            aggregate_id uuid NOT NULL,
            target text NOT NULL
                CHECK (target IN ('incident', 'claim', 'handover', 'interaction')),
            target_id text NOT NULL,
            sha256 text NOT NULL,
            size bigint NOT NULL,
            media_type text NOT NULL,
            file_name text NOT NULL,
            attached_by text NOT NULL,
            attached_at timestamptz NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (aggregate_id, target, target_id, sha256)
        )
        """,
        "CREATE INDEX audit_evidence_file_idx ON audit_evidence (aggregate_id, sha256)",
    ],
)
