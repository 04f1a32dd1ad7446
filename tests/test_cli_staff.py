"""Operators manage staff from the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from uuid import uuid4

from application.store.database import DATABASE_URL_VARIABLE
from application.tokens import identify
from domain.personal import ERASED, contact_subject
from domain.relationship import Relationship, RelationshipKind
from domain.staff import Role
from interface.runtime import Services
from tests.staffing import enroll


def fullchain(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}
    return subprocess.run(
        [sys.executable, "-m", "interface.cli", *args],
        env=env,
        capture_output=True,
        text=True,
    )


def test_add_grant_token_and_revoke(services: Services) -> None:
    added = fullchain(
        services,
        "staff",
        "add",
        "li.wei",
        "Li Wei 李伟",
        "--branch",
        "Suzhou",
        "--role",
        "field_staff",
    )
    assert added.returncode == 0, added.stderr
    assert fullchain(services, "staff", "grant", "li.wei", "office_staff").returncode == 0
    issued = fullchain(services, "staff", "token", "li.wei")
    assert issued.returncode == 0, issued.stderr
    token_id = re.search(r"token (\S+) for li.wei", issued.stdout)
    token = issued.stdout.strip().splitlines()[-1]
    assert token_id is not None
    with services.reads.connection() as conn:
        staff = identify(conn, token)
    assert staff is not None
    assert staff.roles == {Role.FIELD_STAFF, Role.OFFICE_STAFF}
    assert staff.branch == "Suzhou"
    again = fullchain(services, "staff", "grant", "li.wei", "office_staff")
    assert again.returncode == 1
    assert "already has" in again.stderr
    revoked = fullchain(services, "staff", "revoke-token", "li.wei", token_id.group(1))
    assert revoked.returncode == 0, revoked.stderr
    with services.reads.connection() as conn:
        assert identify(conn, token) is None
    # Every change is in the log, with the operator as the actor.
    history = services.app.staff.get_staff("li.wei")
    assert history.version == 5


def test_settings_that_cannot_be_right_stop_the_start(services: Services) -> None:
    env = {
        **os.environ,
        DATABASE_URL_VARIABLE: services.database.conninfo,
        "FULLCHAIN_SLA_POLICY": "urgent=8/1",
        "FULLCHAIN_SIGNING_KEY": "not a key",
    }
    started = subprocess.run(
        [sys.executable, "-m", "interface.cli", "project"], env=env, capture_output=True, text=True
    )
    assert started.returncode == 2
    assert "FULLCHAIN_SLA_POLICY" in started.stderr
    assert "FULLCHAIN_SIGNING_KEY" in started.stderr


def test_add_a_partner_user_for_a_partner(services: Services) -> None:
    app = services.app

    def register(name: str, kind: RelationshipKind) -> str:
        return str(
            app.relationships.register_relationship(
                app.context("admin"),
                name=name,
                kind=kind,
                industry="logistics",
                region="North America",
                branch="Chicago",
            ).aggregate_id
        )

    trucker = register("Lakeshore Trucking", RelationshipKind.PARTNER)
    customer = register("Lakeshore Retail", RelationshipKind.CUSTOMER)
    added = fullchain(
        services, "staff", "add", "dispatch@lakeshore", "Dispatch", "--partner", trucker
    )
    assert added.returncode == 0, added.stderr
    assert f"for partner {trucker}: partner" in added.stdout
    issued = fullchain(services, "staff", "token", "dispatch@lakeshore")
    assert issued.returncode == 0, issued.stderr
    with services.reads.connection() as conn:
        user = identify(conn, issued.stdout.strip().splitlines()[-1])
    assert user is not None
    assert (user.roles, user.branch, str(user.partner_id)) == ({Role.PARTNER}, "", trucker)

    not_partner = fullchain(services, "staff", "add", "x@retail", "X", "--partner", customer)
    assert not_partner.returncode == 1
    assert "partner users work for a partner" in not_partner.stderr
    staff_role = fullchain(
        services, "staff", "add", "y@lakeshore", "Y", "--partner", trucker, "--role", "hq"
    )
    assert staff_role.returncode == 1
    assert "partner role" in staff_role.stderr
    both = fullchain(
        services, "staff", "add", "z", "Z", "--partner", trucker, "--branch", "Chicago"
    )
    assert both.returncode == 2
    garbled = fullchain(services, "staff", "add", "z", "Z", "--partner", "lakeshore")
    assert garbled.returncode == 2
    assert "not a relationship id" in garbled.stderr


def test_add_a_customer_user_for_a_customer(services: Services) -> None:
    def register(name: str, kind: RelationshipKind) -> str:
        return str(
            services.app.relationships.register_relationship(
                services.app.context("admin"),
                name=name,
                kind=kind,
                industry="retail",
                region="North America",
                branch="Chicago",
            ).aggregate_id
        )

    customer = register("Lakeshore Retail", RelationshipKind.CUSTOMER)
    prospect = register("Prairie Outfitters", RelationshipKind.PROSPECT)
    added = fullchain(services, "staff", "add", "buyer@retail", "Buyer", "--customer", customer)
    assert added.returncode == 0, added.stderr
    assert f"for customer {customer}: customer" in added.stdout
    issued = fullchain(services, "staff", "token", "buyer@retail")
    assert issued.returncode == 0, issued.stderr
    with services.reads.connection() as conn:
        user = identify(conn, issued.stdout.strip().splitlines()[-1])
    assert user is not None
    assert (user.roles, user.branch, str(user.customer_id)) == ({Role.CUSTOMER}, "", customer)
    not_customer = fullchain(services, "staff", "add", "x@prairie", "X", "--customer", prospect)
    assert not_customer.returncode == 1
    assert "customer users act for a customer" in not_customer.stderr
    both = fullchain(
        services, "staff", "add", "z", "Z", "--customer", customer, "--partner", customer
    )
    assert both.returncode == 2


def test_an_operator_shows_and_erases_a_data_subject_as_a_staff_member(
    services: Services,
) -> None:
    app = services.app
    rid = app.relationships.register_relationship(
        app.context("li.wei"),
        name="Suzhou Precision Parts Co.",
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    app.relationships.add_contact(
        app.context("li.wei"), rid, contact_id="c-1", name="王秀英", phone="+86 139 1234 5678"
    )
    person = str(contact_subject(rid, "c-1").subject_id)
    enroll(services, "hq.chen", "Chen Hui", roles=(Role.HQ,))
    enroll(services, "li.wei", "Li Wei", roles=(Role.FIELD_STAFF,), branch="Suzhou")

    shown = fullchain(services, "people", "show", person)
    assert shown.returncode == 0, shown.stderr
    subject = json.loads(shown.stdout)
    assert (subject["kind"], subject["ref"], subject["aggregate_id"]) == (
        "contact",
        "c-1",
        str(rid),
    )
    assert subject["held"] == ["contact_details", "identity"]

    erase = ("people", "erase", person, "--reason", "The contact asked for it")
    refused = fullchain(services, *erase, "--actor", "li.wei")
    assert refused.returncode == 1
    assert "may not erase" in refused.stderr
    unknown_actor = fullchain(services, *erase, "--actor", "nobody")
    assert unknown_actor.returncode == 1
    assert app.privacy.subject(contact_subject(rid, "c-1").subject_id).erased == ()

    erased = fullchain(
        services, *erase, "--request", "DSR-9", "--kind", "contact_details", "--actor", "hq.chen"
    )
    assert erased.returncode == 0, erased.stderr
    assert "held now: identity" in erased.stdout
    contact = app.relationships.get_relationship(rid).contacts["c-1"]
    assert (contact.name, contact.phone) == ("王秀英", ERASED)
    [erasure] = [e for e in app.events.get(rid) if isinstance(e, Relationship.PersonalDataErased)]
    assert (erasure.actor, erasure.request_ref, erasure.kinds) == (
        "hq.chen",
        "DSR-9",
        ["contact_details"],
    )

    again = fullchain(services, *erase, "--kind", "contact_details", "--actor", "hq.chen")
    assert again.returncode == 1
    assert "holds none of that data" in again.stderr
    nobody = fullchain(services, "people", "show", str(uuid4()))
    assert nobody.returncode == 1
    assert "no data subject" in nobody.stderr
    garbled = fullchain(services, "people", "show", "wang")
    assert garbled.returncode == 2
