"""The performance tables: the facts measured per staff member, what the writer keeps to
measure them (staff and their branches, branches' time zones, follow-ups' assignees and due
times, cases' owners and first-response due times, shipments' bookers, the incentive rules
in force), the months per staff member, and the managers' decisions."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0036_performance",
    "performance read model: staff's measured facts, proposed and decided incentives",
    [
        """
        CREATE TABLE performance_staff (
            staff_id text PRIMARY KEY,
            name text NOT NULL,
            branch text NOT NULL
        )
        """,
        """
        CREATE TABLE performance_branch (
            code text PRIMARY KEY,
            time_zone text NOT NULL
        )
        """,
        """
        CREATE TABLE performance_follow_up (
            follow_up_id uuid PRIMARY KEY,
            assignee text NOT NULL,
            due_at timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE performance_case (
            case_id uuid PRIMARY KEY,
            owner text,
            responder text,
            first_response_due timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE performance_shipment (
            shipment_id uuid PRIMARY KEY,
            reference text NOT NULL,
            booked_by text NOT NULL
        )
        """,
        """
        CREATE TABLE performance_rules (
            rules_id uuid PRIMARY KEY,
            points jsonb NOT NULL,
            position bigint NOT NULL
        )
        """,
        """
        CREATE TABLE performance_fact (
            position bigint PRIMARY KEY,
            staff_id text NOT NULL,
            branch text NOT NULL,
            measure text NOT NULL,
            occurred_at timestamptz NOT NULL,
            month text NOT NULL,
            week text NOT NULL,
            subject_id uuid NOT NULL,
            source text NOT NULL,
            rating integer,
            points integer,
            proposal_id uuid UNIQUE
        )
        """,
        "CREATE INDEX performance_fact_month_idx ON performance_fact (month, branch, staff_id)",
        "CREATE INDEX performance_fact_week_idx ON performance_fact (week, branch, staff_id)",
        "CREATE INDEX performance_fact_staff_idx ON performance_fact (staff_id, month)",
        """
        CREATE TABLE performance_month (
            proposal_id uuid PRIMARY KEY,
            staff_id text NOT NULL,
            month text NOT NULL,
            branch text NOT NULL,
            facts integer NOT NULL,
            breaches integer NOT NULL,
            incidents integer NOT NULL,
            UNIQUE (staff_id, month)
        )
        """,
        "CREATE INDEX performance_month_month_idx ON performance_month (month, branch)",
        """
        CREATE TABLE performance_incentive (
            proposal_id uuid PRIMARY KEY,
            decision text NOT NULL,
            staff_id text NOT NULL,
            branch text NOT NULL,
            measure text NOT NULL,
            points integer NOT NULL,
            period text NOT NULL,
            source text NOT NULL,
            reason text NOT NULL,
            decided_by text NOT NULL,
            decided_at timestamptz NOT NULL,
            position bigint NOT NULL UNIQUE
        )
        """,
        "CREATE INDEX performance_incentive_period_idx "
        "ON performance_incentive (period, decision, branch)",
        "CREATE INDEX performance_incentive_staff_idx "
        "ON performance_incentive (staff_id, position DESC)",
    ],
)
