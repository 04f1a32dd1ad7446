"""Every party of the responsibility audit is named as of the event that named it, over
HTTP on real PostgreSQL.

Suzhou's shipment to Chicago (``tests/test_chain_collaboration.py``): the airline hands
the cartons over damaged, responsibility for the crushed cartons is assigned to it, then the
airline is renamed, then responsibility for a second incident is assigned to it. The view,
the findings, the scorecard and the ranking name the airline by its old name for the first
incident (and its link, planned before the rename) and by its new one for the second,
with its name now beside; the read model rebuilds to the same rows.
"""

from __future__ import annotations

from typing import Any

from interface.runtime import Services
from projections.engine import ProjectionWorker, rebuild
from projections.responsibility_audit.writer import ResponsibilityProjection
from tests.staffing import enroll
from tests.test_chain_collaboration import (
    AIR_CARRIAGE,
    IMPORT_CUSTOMS,
    WAREHOUSING,
    Chain,
    airline_answers,
    at,
    chain,
    run_link,
)

__all__ = ["chain"]  # the fixture

OLD, NEW = "申航国际货运航空有限公司", "China Cargo Express"


def catch_up(services: Services) -> None:
    for projection in services.projections:
        services.worker(projection).catch_up()


def audit_rows(services: Services) -> list[tuple[Any, ...]]:
    with services.reads.connection() as conn:
        return [
            tuple(r.values())
            for table, key in (
                ("shipment_audit", "shipment_id"),
                ("audit_link", "shipment_id, sequence"),
                ("audit_incident", "incident_id"),
                ("audit_handover_exception", "shipment_id, link_sequence"),
                ("audit_party_ref", "shipment_id, ref"),
                ("audit_party_name", "party, position"),
            )
            for r in conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
        ]


def renamed_between_two_incidents(
    chain: Chain,
) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """The first incident assigned to the airline under its old name, the second under its
    new one; headquarters' authorisation and the airline user's."""
    airline, first = airline_answers(chain)  # assigned at hour 75
    hq = {"Authorization": "Bearer " + enroll(chain.services, "hq.zhang", "Zhang Min")}
    response = chain.client.post(
        f"/v1/relationships/{chain.airline}/rename",
        json={"name": NEW, "occurred_at": at(76)},
        headers=hq,
    )
    assert response.status_code == 200, response.text
    second = chain.post(
        chain.chicago,
        "/incidents",
        {
            "link_sequence": IMPORT_CUSTOMS,
            "kind": "shortage",
            "description": "2 cartons missing against the air waybill",
            "packages_affected": 2,
            "occurred_at": at(77),
        },
    )["incident_id"]
    chain.post(
        chain.suzhou,
        f"/incidents/{second}/responsibility",
        {
            "link_sequence": AIR_CARRIAGE,
            "basis": "investigation",
            "explanation": "the airline's manifest lists 120 cartons, 118 arrived",
            "occurred_at": at(78),
        },
    )
    return first, str(second), hq, airline


def test_the_responsibility_view_names_each_party_as_of_its_event(chain: Chain) -> None:
    first, second, hq, airline = renamed_between_two_incidents(chain)
    catch_up(chain.services)
    response = chain.client.get(f"{chain.base}/responsibility", headers=chain.suzhou)
    assert response.status_code == 200, response.text
    view = response.json()
    incidents = {i["incident_id"]: i for i in view["incidents"]}
    old_party = incidents[first]["responsible"]["party"]
    new_party = incidents[second]["responsible"]["party"]
    assert (old_party["key"], old_party["name"], old_party["current_name"]) == (
        f"partner:{chain.airline}",
        OLD,
        NEW,
    )
    assert (new_party["name"], new_party["current_name"]) == (NEW, NEW)
    # The airline's link was planned before the rename; branches are named by their name.
    chain_parties = [
        (link["party"]["name"], link["party"].get("current_name")) for link in view["chain"]
    ]
    assert chain_parties == [
        ("Suzhou", None),
        ("Suzhou", None),
        (OLD, NEW),
        ("Chicago", None),
        ("Chicago", None),
        ("Lakeshore Trucking", "Lakeshore Trucking"),
    ]
    # Staff by name: who reported, assigned; the signer where it is a staff id.
    assert incidents[first]["reported_by_name"] == "Emily Johnson"
    assert incidents[first]["assigned_by"] == {"staff_id": "li.wei", "name": "Li Wei"}
    assert incidents[first]["answered_by"] is None
    import_link = view["chain"][IMPORT_CUSTOMS - 1]
    assert import_link["handover_in"]["signed_by"] == "PVG cargo desk"
    assert import_link["handover_in"]["signed_by_name"] is None
    # A dispute is answered by the airline's user, named so; headquarters arbitrates.
    chain.post(
        airline,
        f"/incidents/{second}/dispute",
        {"reason": "the ULD was sealed", "occurred_at": at(79)},
    )
    chain.post(
        hq,
        f"/incidents/{second}/arbitrate",
        {"link_sequence": AIR_CARRIAGE, "decision": "the seal log", "occurred_at": at(80)},
    )
    catch_up(chain.services)
    view = chain.client.get(f"{chain.base}/responsibility", headers=chain.suzhou).json()
    settled = {i["incident_id"]: i for i in view["incidents"]}[second]
    assert settled["answered_by"] == {"staff_id": "cargo.desk@sh-air", "name": "PVG cargo desk"}
    assert settled["arbitrated_by"] == {"staff_id": "hq.zhang", "name": "Zhang Min"}
    assert settled["responsible"]["party"]["name"] == NEW


def test_findings_scorecard_and_ranking_name_the_partner_as_of_each_event(
    chain: Chain,
) -> None:
    first, second, hq, _ = renamed_between_two_incidents(chain)
    catch_up(chain.services)
    # Neither was answered within the 7 days: both count as accepted.
    found = chain.client.get(
        "/v1/audit/findings", params={"kind": "responsibility_deemed_accepted"}, headers=hq
    )
    assert found.status_code == 200, found.text
    named = {
        f["incident_id"]: (f["partner_id"], f["party_name"], f["party_current_name"])
        for f in found.json()["items"]
    }
    assert named == {
        first: (str(chain.airline), OLD, NEW),
        second: (str(chain.airline), NEW, NEW),
    }
    details = {f["incident_id"]: f["detail"] for f in found.json()["items"]}
    assert details[first].startswith(f"responsibility proposed to {OLD} (partner:{chain.airline})")

    card = chain.client.get(f"/v1/partners/{chain.airline}/scorecard", headers=hq)
    assert card.status_code == 200, card.text
    assert card.json()["name"] == NEW
    assert card.json()["names"] == [
        {"name": OLD, "links": 1, "incidents_attributed": 1},
        {"name": NEW, "links": 0, "incidents_attributed": 1},
    ]
    ranking = chain.client.get("/v1/decisions/partners", headers=hq)
    assert ranking.status_code == 200, ranking.text
    airline = next(r for r in ranking.json()["items"] if r["partner_id"] == str(chain.airline))
    assert (airline["name"], airline["names"]) == (NEW, [OLD, NEW])


def test_the_names_rebuild_to_the_same_rows_whatever_the_batches(chain: Chain) -> None:
    renamed_between_two_incidents(chain)
    run_link(chain, chain.chicago, WAREHOUSING, 96)
    services = chain.services
    catch_up(services)
    incremental = audit_rows(services)
    assert incremental
    for batch_size in (1, 4, 1000):
        rebuild(
            ProjectionWorker(
                services.database,
                ResponsibilityProjection(services.app.mapper),
                services.app.mapper,
                batch_size=batch_size,
            )
        )
        assert audit_rows(services) == incremental
