"""Reading performance back: each staff member's figures for an ISO week or a calendar
month (each fact counted in the week and month of its staff member's branch's time zone),
a month's proposed awards and penalties, one proposal, a staff member's decided
incentives, and the ranking of a month's confirmed points. Plain SQL over the read model.

A clean month is proposed once it has ended, in its branch's time zone, at the time of
asking, with the points the rules in force at that time give (a month ends without an
event); every other proposal carries the points of the rules in force at its fact."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.base import InvalidValue
from domain.incentive import RULES_ID, Measure, proposed_points
from projections.freshness import ReadConnection
from projections.performance.writer import COMPANY_TIME_ZONE, FACT_MEASURES

PERFORMANCE = "performance"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A calendar month (``2026-11``) or an ISO week (``2026-W45``)."""

    text: str
    is_month: bool

    @property
    def column(self) -> str:
        return "month" if self.is_month else "week"


def parse_period(text: str, field: str = "period") -> Period:
    """The period ``text`` names, or invalid input (422) naming ``field``."""
    month = _MONTH.match(text)
    if month and 1 <= int(month[2]) <= 12 and int(month[1]) >= 1:
        return Period(text, True)
    week = _WEEK.match(text)
    if week and int(week[1]) >= 1:
        try:
            date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError:
            raise InvalidValue(
                f"{field}.week", f"{text} is no ISO week of {week[1]}", field=field
            ) from None
        return Period(text, False)
    raise InvalidValue(
        f"{field}.format",
        "a period is a month (YYYY-MM, e.g. 2026-11) or an ISO week (YYYY-Www, e.g. 2026-W45)",
        field=field,
    )


def parse_month(text: str, field: str = "period") -> Period:
    period = parse_period(text, field)
    if not period.is_month:
        raise InvalidValue(f"{field}.month", "a month (YYYY-MM) is wanted here", field=field)
    return period


def month_end(month: str, zone_name: str) -> datetime:
    """The moment ``month`` (YYYY-MM) ends in the time zone ``zone_name``."""
    year, number = int(month[:4]), int(month[5:])
    first = date(year + number // 12, number % 12 + 1, 1)
    return datetime.combine(first, time(0), ZoneInfo(zone_name))


# --- figures ---------------------------------------------------------------------------------

_COUNTS = ", ".join(f"count(*) FILTER (WHERE f.measure = '{m}') AS {m}" for m in FACT_MEASURES)


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    rated = int(row["satisfaction_rated"])
    return {
        "visits": int(row["visit"]),
        "calls": int(row["call"]),
        "follow_ups_on_time": int(row["follow_up_on_time"]),
        "follow_ups_late": int(row["follow_up_late"]),
        "opportunities_advanced": int(row["opportunity_advanced"]),
        "opportunities_won": int(row["opportunity_won"]),
        "cases_within_sla": int(row["sla_kept"]),
        "cases_breached": int(row["sla_breached"]),
        "ratings": rated,
        "satisfaction": round(int(row["rating_sum"]) / rated, 2) if rated else None,
        "shipment_incidents": int(row["shipment_incident"]),
    }


_ZERO = _figures({m: 0 for m in FACT_MEASURES} | {"rating_sum": 0})


@dataclass(frozen=True)
class Team:
    """Whose figures a reader sees: staff of ``branch`` (None: every branch), ``staff``
    only (None: anyone)."""

    branch: str | None = None
    staff: frozenset[str] | None = None
    staff_id: str | None = None


def _team_clauses(team: Team, params: dict[str, Any], alias: str) -> list[str]:
    clauses: list[str] = []
    if team.branch is not None:
        clauses.append(f"{alias}.branch = %(branch)s")
        params["branch"] = team.branch
    if team.staff is not None:
        clauses.append(f"{alias}.staff_id = ANY(%(team)s)")
        params["team"] = sorted(team.staff)
    if team.staff_id is not None:
        clauses.append(f"{alias}.staff_id = %(staff_id)s")
        params["staff_id"] = team.staff_id
    return clauses


def staff_figures(conn: ReadConnection, period: Period, team: Team) -> list[dict[str, Any]]:
    """Per staff member and branch: the period's figures, and for a month the points of
    the month's confirmed incentives; in the order of branch and staff id."""
    params: dict[str, Any] = {"period": period.text}
    clauses = [f"f.{period.column} = %(period)s", *_team_clauses(team, params, "f")]
    rows = conn.execute(  # type: ignore[call-overload]
        f"SELECT f.staff_id, f.branch, {_COUNTS}, "
        "COALESCE(sum(f.rating), 0) AS rating_sum FROM performance_fact f "
        f"WHERE {' AND '.join(clauses)} GROUP BY f.staff_id, f.branch",
        params,
    ).fetchall()
    found: dict[tuple[str, str], dict[str, Any]] = {
        (r["staff_id"], r["branch"]): _figures(r) | {"points": None} for r in rows
    }
    if period.is_month:
        for key in found:
            found[key]["points"] = 0
        pclauses = [
            "i.period = %(period)s",
            "i.decision = 'confirmed'",
            *_team_clauses(team, params, "i"),
        ]
        for r in conn.execute(  # type: ignore[call-overload]
            "SELECT i.staff_id, i.branch, sum(i.points) AS points FROM performance_incentive i "
            f"WHERE {' AND '.join(pclauses)} GROUP BY i.staff_id, i.branch",
            params,
        ).fetchall():
            key = (r["staff_id"], r["branch"])
            found.setdefault(key, dict(_ZERO))["points"] = int(r["points"])
    names = _names(conn, {staff_id for staff_id, _ in found})
    return [
        {"staff_id": staff_id, "staff_name": names.get(staff_id), "branch": branch, **found[key]}
        for key in sorted(found, key=lambda k: (k[1], k[0]))
        for staff_id, branch in [key]
    ]


def branch_totals(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The team (branch) figures: the sums of its staff members' (satisfaction: the mean of
    all their ratings)."""
    teams: dict[str, dict[str, Any]] = {}
    for item in items:
        team = teams.setdefault(
            item["branch"],
            {"branch": item["branch"], "staff": 0, "rating_sum": 0.0, **dict(_ZERO)}
            | {"points": None if item["points"] is None else 0},
        )
        team["staff"] += 1
        for key, value in item.items():
            if key in _ZERO and key != "satisfaction":
                team[key] += value
        if item["satisfaction"] is not None:
            team["rating_sum"] += item["satisfaction"] * item["ratings"]
        if item["points"] is not None:
            team["points"] = (team["points"] or 0) + item["points"]
    for team in teams.values():
        rating_sum = team.pop("rating_sum")
        team["satisfaction"] = round(rating_sum / team["ratings"], 2) if team["ratings"] else None
    return [teams[b] for b in sorted(teams)]


def weeks_of_month(conn: ReadConnection, staff_id: str, month: str) -> list[dict[str, Any]]:
    """The staff member's figures per ISO week, for the facts of ``month``."""
    rows = conn.execute(
        f"SELECT f.week, {_COUNTS}, COALESCE(sum(f.rating), 0) AS rating_sum "
        "FROM performance_fact f WHERE f.staff_id = %(staff)s AND f.month = %(month)s "
        "GROUP BY f.week ORDER BY f.week",
        {"staff": staff_id, "month": month},
    ).fetchall()
    return [{"week": r["week"], **_figures(r)} for r in rows]


def _names(conn: ReadConnection, staff_ids: set[str]) -> dict[str, str]:
    if not staff_ids:
        return {}
    return {
        r["staff_id"]: r["name"]
        for r in conn.execute(
            "SELECT staff_id, name FROM performance_staff WHERE staff_id = ANY(%s)",
            (sorted(staff_ids),),
        ).fetchall()
    }


def staff_member(conn: ReadConnection, staff_id: str) -> dict[str, Any] | None:
    """A registered staff member as the read model knows them: name and branch."""
    return conn.execute(
        "SELECT staff_id, name, branch FROM performance_staff WHERE staff_id = %s", (staff_id,)
    ).fetchone()


# --- rules, proposals, decisions ---------------------------------------------------------------


def current_rules(conn: ReadConnection) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT points, position FROM performance_rules WHERE rules_id = %s", (RULES_ID,)
    ).fetchone()


_FACT_PROPOSAL = (
    "SELECT f.proposal_id, f.staff_id, s.name AS staff_name, f.branch, f.measure, f.points, "
    "f.month AS period, f.occurred_at, f.source, f.position, i.decision "
    "FROM performance_fact f JOIN performance_staff s USING (staff_id) "
    "LEFT JOIN performance_incentive i USING (proposal_id) "
)
_MONTH_PROPOSAL = (
    "SELECT m.proposal_id, m.staff_id, s.name AS staff_name, m.branch, m.month AS period, "
    "m.facts, m.breaches, m.incidents, COALESCE(b.time_zone, %(company)s) AS time_zone, "
    "i.decision FROM performance_month m JOIN performance_staff s USING (staff_id) "
    "LEFT JOIN performance_branch b ON b.code = m.branch "
    "LEFT JOIN performance_incentive i USING (proposal_id) "
)


def _clean_month(
    row: dict[str, Any], rules: dict[str, Any] | None, now: datetime
) -> tuple[dict[str, Any], str | None]:
    """The clean-month proposal of a month row, and why it is not (yet) one, or None."""
    end = month_end(row["period"], row["time_zone"])
    points = proposed_points(rules["points"] if rules else None, Measure.CLEAN_MONTH)
    proposal = {
        "proposal_id": row["proposal_id"],
        "staff_id": row["staff_id"],
        "staff_name": row["staff_name"],
        "branch": row["branch"],
        "measure": Measure.CLEAN_MONTH.value,
        "points": points,
        "period": row["period"],
        "occurred_at": end,
        "source": f"clean month {row['period']}",
        "decision": row["decision"],
    }
    why = None
    if row["breaches"] or row["incidents"] or not row["facts"]:
        why = "the month had a breached first response or an incident"
    elif end > now:
        why = f"the month ends at {end.isoformat()}"
    elif points is None:
        why = "the incentive rules give no points for a clean month"
    return proposal, why


def proposed(
    conn: ReadConnection, month: str, *, branch: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The month's awards and penalties not decided yet: each fact the rules gave points
    for, and each clean month that has ended by ``now``; in the order of their facts."""
    params: dict[str, Any] = {"month": month, "company": COMPANY_TIME_ZONE}
    extra = ""
    if branch is not None:
        params["branch"] = branch
        extra = " AND {a}.branch = %(branch)s"
    facts = conn.execute(  # type: ignore[call-overload]
        _FACT_PROPOSAL + "WHERE f.month = %(month)s AND f.proposal_id IS NOT NULL "
        "AND i.proposal_id IS NULL" + extra.format(a="f") + " ORDER BY f.position",
        params,
    ).fetchall()
    months = conn.execute(  # type: ignore[call-overload]
        _MONTH_PROPOSAL + "WHERE m.month = %(month)s AND i.proposal_id IS NULL "
        "AND m.facts > 0 AND m.breaches = 0 AND m.incidents = 0"
        + extra.format(a="m")
        + " ORDER BY m.branch, m.staff_id",
        params,
    ).fetchall()
    rules = current_rules(conn)
    cleans = [p for p, why in (_clean_month(r, rules, now) for r in months) if why is None]
    return [*(dict(f) for f in facts), *cleans]


def proposal(
    conn: ReadConnection, proposal_id: UUID, *, now: datetime
) -> tuple[dict[str, Any], str | None] | None:
    """One proposal, decided or not, and why it cannot be decided yet (None if it can);
    None if there is no such proposal."""
    params = {"id": proposal_id, "company": COMPANY_TIME_ZONE}
    fact = conn.execute(_FACT_PROPOSAL + "WHERE f.proposal_id = %(id)s", params).fetchone()
    if fact is not None:
        return dict(fact), None
    month = conn.execute(_MONTH_PROPOSAL + "WHERE m.proposal_id = %(id)s", params).fetchone()
    if month is None:
        return None
    return _clean_month(month, current_rules(conn), now)


def history(conn: ReadConnection, staff_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """The staff member's decided incentives, newest first."""
    return conn.execute(
        "SELECT * FROM performance_incentive WHERE staff_id = %s ORDER BY position DESC LIMIT %s",
        (staff_id, limit),
    ).fetchall()


def ranking(
    conn: ReadConnection, month: str, *, branch: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The month's confirmed points per staff member (of ``branch``, or company-wide) and
    per branch (company-wide), most first (ties by staff id or branch code), each with its
    rank (equal points, equal rank)."""
    params: dict[str, Any] = {"month": month, "branch": branch}
    staff = conn.execute(
        "SELECT i.staff_id, s.name AS staff_name, i.branch, sum(i.points) AS points, "
        "count(*) AS incentives FROM performance_incentive i "
        "LEFT JOIN performance_staff s USING (staff_id) "
        "WHERE i.period = %(month)s AND i.decision = 'confirmed' "
        "AND (%(branch)s::text IS NULL OR i.branch = %(branch)s::text) "
        "GROUP BY i.staff_id, s.name, i.branch ORDER BY points DESC, i.staff_id, i.branch",
        params,
    ).fetchall()
    branches = conn.execute(
        "SELECT i.branch, sum(i.points) AS points, count(DISTINCT i.staff_id) AS staff, "
        "count(*) AS incentives FROM performance_incentive i "
        "WHERE i.period = %(month)s AND i.decision = 'confirmed' "
        "GROUP BY i.branch ORDER BY points DESC, i.branch",
        params,
    ).fetchall()
    return _ranked(staff), _ranked(branches)


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ranked: list[dict[str, Any]] = []
    for n, row in enumerate(rows, start=1):
        same = ranked and ranked[-1]["points"] == int(row["points"])
        rank = ranked[-1]["rank"] if same else n
        ranked.append({**row, "points": int(row["points"]), "rank": rank})
    return ranked
