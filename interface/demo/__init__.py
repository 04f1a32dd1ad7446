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
headquarters. Special cargo (货物特殊性/储存条件) on chains with the seed's other functions
of logistics — loading/unloading 装卸, handling 搬运, logistics information 物流信息 —: the
pharmaceuticals kept at 2–8 °C, lithium batteries as dangerous goods (UN 3481, class 9),
fragile medical devices of high value under seal, each handover observing them kept; and
one deliberately broken story, a cold chain breached in the air and never reported, which
the audit finds against the airline. Nothing of a shipment is loaded that would lie after
the time of loading.

And what we sell, and how we serve: the catalogue of service offerings (sixteen lanes, terms
revised, the dangerous-goods lane suspended for the winter and resumed); the year's
opportunities with customers, prospects and targets, taken stage by stage against the
competitors — won (a prospect's or target's first win makes it a customer), lost on price or
to no decision, or still open at every stage —; what we know of each competitor; service
cases of every kind and priority, answered and resolved mostly in time, some late, some
escalated or reopened, most rated, this week's still open and some already past due (so is
the complaint about the disputed temperature excursion, which awaits headquarters); and
each shipment's charges, quoted with the booking (air freight at 4–8 a kilogram, sea and rail
by the container) and invoiced. Some customers take up a second lane during the year: what
opportunity mining tries to foresee.

Everything is loaded through the application service, one command at a time, exactly as
staff would issue it: each command carries the staff member who issued it and the business
time it happened (weekday office hours in the branch's time zone; portal bookings and
messages also at weekends and in the evening), and the commands are applied in the order
of those times, so the log reads like the year it records. Commands that belong together
(a registration and its set-up, a complaint and its follow-up, a customer's notice and the
loss it leads to, everything that happens to one shipment) share a correlation id.

The same seed and the same time of loading give the same history: every id, time and text
comes from seeded random generators — one for the relationships and shipments, one for sales,
service and charges — and times count back from the time of loading, ``now``, which the caller
passes (the command line passes the present; tests pin it). What the stories promise holds
whatever ``now`` is: any weekday, any time of day, across month and year ends.

The package: the data — ``catalogue`` (branches and their staff, the organisations we deal
with, what we sell, the competitors), ``routes`` (the goods and the chain of links each
customer ships on), ``incidents`` (the incidents told in full), ``wording`` (what is said,
in Chinese and English) —; the scheduler, ``plan``; the ``stories``, one module per kind;
and the ``summary`` printed after loading.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from application import console_sessions
from domain.staff import Role
from interface.demo.catalogue import BRANCHES, DEMO_EXPLORER, staff_roster
from interface.demo.incidents import SEED_CASE_ID
from interface.demo.plan import Plan
from interface.demo.stories import tell_the_year
from interface.demo.summary import summary
from interface.runtime import Services

__all__ = [
    "DEMO_EXPLORER",
    "DEMO_PASSWORD",
    "SEED",
    "SEED_CASE_ID",
    "demo_sign_in",
    "demo_token",
    "has_data",
    "load_demo",
]

#: The seed of the demo history.
SEED = 20_240_517

#: Advisory lock held while loading, so two processes never load the demo at once.
LOAD_LOCK = 7_303_000_001


def has_data(services: Services) -> bool:
    """Whether the event log holds anything at all."""
    with services.primary.connection() as conn:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM fullchain_events) AS present").fetchone()
    return bool(row and row["present"])


def load_demo(services: Services, *, now: datetime, seed: int = SEED) -> str:
    """Load the demo history, a year up to ``now``, into an empty log; return a summary.
    Never loads twice."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    with services.database.connect(autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (LOAD_LOCK,))
        if has_data(services):
            return "The event log already holds data: demo data not loaded."
        _enroll_staff(services, now - timedelta(days=400))
        plan = Plan(services.app, now, random.Random(seed), random.Random(seed + 1))
        tell_the_year(plan)
        tally = plan.issue()
    return summary(services, plan, tally)


def _display_name(staff_id: str) -> str:
    return " ".join(part.capitalize() for part in staff_id.split("."))


def _enroll_staff(services: Services, when: datetime) -> None:
    """The branches, and every demo staff member with the roles of their job, registered by
    the admin."""
    app = services.app
    ctx = app.context("admin", occurred_at=when)
    for branch in BRANCHES.values():
        app.branches.register_branch(
            ctx.then(f"branch {branch.name}"),
            code=branch.name,
            name_zh=branch.name_zh,
            name_en=branch.name_en,
            region=branch.region,
            time_zone=branch.zone_name,
            currency=branch.currency,
        )
    app.branches.register_branch(
        ctx.then("branch Headquarters"),
        code="Headquarters",
        name_zh="总部",
        name_en="Headquarters",
        region="East China",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    for staff_id, branch_name, role in staff_roster():
        app.staff.register_staff(
            ctx.then(staff_id),
            staff_id=staff_id,
            name=_display_name(staff_id),
            branch=branch_name,
            roles=(role,),
        )


def demo_token(services: Services) -> tuple[str, str]:
    """A fresh bearer token for the demo's headquarters member: (display name, token).

    One demo token at a time: the tokens printed by earlier starts are revoked."""
    staff_id, display_name = DEMO_EXPLORER
    app = services.app
    ctx = app.context("admin")
    token = app.staff.enroll(
        ctx, staff_id=staff_id, name=display_name, branch="Headquarters", roles=(Role.HQ,)
    )
    current = app.staff.get_staff(staff_id)
    for token_id in list(current.tokens)[:-1]:
        app.staff.revoke_staff_token(ctx.then(f"revoke {token_id}"), staff_id, token_id=token_id)
    return display_name, token


#: The demo's headquarters member signs in to the console with this password: a demo's, known
#: to everyone who reads this, never a real one.
DEMO_PASSWORD = "fullchain-demo"


def demo_sign_in(services: Services) -> tuple[str, str, str]:
    """How to sign in to the console as the demo's headquarters member: (staff id, password,
    the secret of a one-time sign-in link good for 15 minutes). The password is set, as a
    ``Staff.PasswordSet`` event like any other, the first time only."""
    staff_id, _ = DEMO_EXPLORER
    app = services.app
    if app.staff.get_staff(staff_id).password_hash is None:
        app.staff.set_password(app.context("admin"), staff_id, password=DEMO_PASSWORD)
    with services.reads.connection() as conn:
        secret, _ = console_sessions.issue_link(conn, staff_id, app.clock(), issued_by="demo")
    return staff_id, DEMO_PASSWORD, secret
