"""Tamper evidence on real PostgreSQL: the chain, verification, checkpoints, append-only."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from application.store.database import Database
from application.store.integrity import (
    GENESIS,
    Checkpoint,
    Verification,
    check_checkpoint,
    last_verified,
    record_verified,
    sign_head,
    signing_key,
    verify,
    verify_extending,
)
from domain.relationship import RelationshipKind
from interface.runtime import Services
from tests.branches import BRANCH_EVENTS as B


def write_history(services: Services, relationships: int = 4) -> int:
    app = services.app
    last = 0
    for i in range(relationships):
        rid = app.relationships.register_relationship(
            app.context("li.wei"),
            name=f"客户 {i}",
            kind=RelationshipKind.PROSPECT,
            industry="electronics",
            region="East China",
            branch="Suzhou",
        ).aggregate_id
        app.relationships.qualify_as_target(app.context("li.wei"), rid, reason="volume")
        last = app.relationships.rename_relationship(
            app.context("li.wei"), rid, name=f"Customer {i}"
        ).position
    return last


@pytest.fixture
def superuser(
    services: Services, superuser_database: Database
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Someone with the database's keys, outside the service, disabling its triggers."""
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        yield conn


def test_an_untouched_log_is_intact(services: Services) -> None:
    last = write_history(services)
    result = verify(services.database)
    assert result.intact
    assert result.intact_up_to == last
    assert result.entries == B + 12
    assert result.summary() == f"intact up to position {last} ({B + 12} entries)"


def test_neither_the_service_nor_the_schema_owner_can_update_delete_or_truncate_the_log(
    services: Services, owner_database: Database
) -> None:
    write_history(services, 1)
    # The service's role has no such privilege; the schema owner has, and the triggers
    # refuse it.
    for database, refusal in (
        (services.database, "permission denied"),
        (owner_database, "append-only"),
    ):
        with database.connect(autocommit=True) as conn:
            for statement in (
                "UPDATE fullchain_events SET topic = 'x'",
                "DELETE FROM fullchain_events",
                "TRUNCATE fullchain_events",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refusal):
                    conn.execute(statement)
    assert verify(services.database).entries == B + 3


def test_a_changed_row_is_found_at_its_position(
    services: Services, superuser: psycopg.Connection[tuple[object, ...]]
) -> None:
    write_history(services)
    superuser.execute(
        "UPDATE fullchain_events SET state = "
        "convert_to(replace(convert_from(state, 'UTF8'), 'volume', 'nothing'), 'UTF8') "
        "WHERE notification_id = %s",
        (B + 5,),
    )
    result = verify(services.database)
    assert not result.intact
    assert (result.broken_at, result.reason, result.intact_up_to) == (B + 5, "changed", B + 4)


def test_a_deleted_row_is_found_after_the_gap(
    services: Services, superuser: psycopg.Connection[tuple[object, ...]]
) -> None:
    write_history(services)
    superuser.execute("DELETE FROM fullchain_events WHERE notification_id = 7")
    result = verify(services.database)
    assert (result.broken_at, result.reason) == (8, "missing")


def test_reordered_rows_are_found(
    services: Services, superuser: psycopg.Connection[tuple[object, ...]]
) -> None:
    write_history(services)
    # Swap the log positions of entries 3 and 4 (every column moves with its entry).
    superuser.execute("UPDATE fullchain_events SET notification_id = -3 WHERE notification_id = 3")
    superuser.execute("UPDATE fullchain_events SET notification_id = 3 WHERE notification_id = 4")
    superuser.execute("UPDATE fullchain_events SET notification_id = 4 WHERE notification_id = -3")
    result = verify(services.database)
    assert not result.intact
    assert result.broken_at == 3
    assert result.reason in ("changed", "reordered")


def test_a_checkpoint_is_accepted_after_appends_and_rejected_after_a_rewrite(
    services: Services, superuser: psycopg.Connection[tuple[object, ...]]
) -> None:
    write_history(services, 2)
    key = signing_key(services.database)
    checkpoint = sign_head(services.database, key)
    assert checkpoint.position == B + 6
    write_history(services, 2)  # the log grows
    check = check_checkpoint(services.database, checkpoint, key.public_key())
    assert (check.signature_valid, check.extends) == (True, True)

    forged = Checkpoint(**{**checkpoint.as_dict(), "chain_hash": "00" * 32})
    assert not check_checkpoint(services.database, forged, key.public_key()).signature_valid

    # A thorough forger rewrites entry 2 and recomputes the whole chain after it: verify
    # alone sees an intact log, the earlier checkpoint does not.
    superuser.execute(
        "UPDATE fullchain_events SET state = "
        "convert_to(replace(convert_from(state, 'UTF8'), 'volume', 'rumour'), 'UTF8') "
        "WHERE notification_id = %s",
        (B + 2,),
    )
    superuser.execute(
        f"""
        DO $$
        DECLARE r fullchain_events; prev bytea;
        BEGIN
            FOR r IN SELECT * FROM fullchain_events WHERE notification_id >= 2 + {B}
                     ORDER BY notification_id LOOP
                SELECT chain_hash INTO prev FROM fullchain_events
                WHERE notification_id < r.notification_id
                ORDER BY notification_id DESC LIMIT 1;
                UPDATE fullchain_events SET prev_hash = prev,
                    chain_hash = fullchain_chain_hash(prev, r)
                WHERE notification_id = r.notification_id;
            END LOOP;
        END $$
        """
    )
    assert verify(services.database).intact
    check = check_checkpoint(services.database, checkpoint, key.public_key())
    assert check.signature_valid
    assert not check.extends
    assert "rewritten" in check.detail


def test_the_signing_key_is_generated_once_and_kept(services: Services) -> None:
    first = signing_key(services.database)
    again = signing_key(Database(services.database.conninfo, embedded=False))
    assert first.public_key() == again.public_key()


# --- a verification carried forward --------------------------------------------------------


def test_a_walk_continues_the_last_one_and_checks_only_what_came_after(
    services: Services, superuser: psycopg.Connection[tuple[object, ...]]
) -> None:
    first = write_history(services, 2)
    whole = verify(services.database)
    record_verified(services.database, whole)
    recorded = last_verified(services.database)
    assert recorded is not None
    assert (recorded.up_to, recorded.entries) == (first, whole.entries)
    last = write_history(services, 2)

    continued = verify_extending(services.database)
    assert continued.intact
    assert (continued.intact_up_to, continued.entries) == (last, B + 12)
    assert continued.continued_from == first
    assert continued.whole_verified_at == recorded.whole_at.isoformat()
    assert f"checked from position {first + 1}" in continued.summary()
    after = last_verified(services.database)
    assert after is not None
    assert (after.up_to, after.whole_at) == (last, recorded.whole_at)

    # An entry changed after the recorded end is found by the next continued walk, which
    # then records nothing.
    superuser.execute(
        "UPDATE fullchain_events SET state = "
        "convert_to(replace(convert_from(state, 'UTF8'), 'volume', 'nothing'), 'UTF8') "
        "WHERE notification_id = %s",
        (last - 1,),
    )
    # (the recorded end itself is untouched, so the walk continues from it: put the record
    # back to before the change)
    superuser.execute(
        "UPDATE fullchain_chain_verified SET up_to = %s, chain_hash = "
        "(SELECT chain_hash FROM fullchain_events WHERE notification_id = %s), "
        "entries = %s",
        (first, first, whole.entries),
    )
    broken = verify_extending(services.database)
    assert not broken.intact
    assert (broken.broken_at, broken.reason) == (last - 1, "changed")
    kept = last_verified(services.database)
    assert kept is not None
    assert kept.up_to == first


def test_a_recorded_end_that_no_longer_holds_its_hash_means_a_whole_walk(
    services: Services, superuser: psycopg.Connection[tuple[object, ...]]
) -> None:
    write_history(services, 2)
    record_verified(services.database, verify(services.database))
    # An entry before the recorded end rewritten, the chain recomputed from there on: the
    # recorded end's hash is gone, so the continued walk starts again from the first entry
    # and finds the rewrite, where it is.
    superuser.execute(
        "UPDATE fullchain_events SET state = "
        "convert_to(replace(convert_from(state, 'UTF8'), 'volume', 'nothing'), 'UTF8') "
        "WHERE notification_id = %s",
        (B + 5,),
    )
    superuser.execute(
        "UPDATE fullchain_events SET chain_hash = sha256(chain_hash) "
        "WHERE notification_id = (SELECT max(notification_id) FROM fullchain_events)"
    )
    assert last_verified(services.database) is None
    walked = verify_extending(services.database)
    assert walked.continued_from is None
    assert not walked.intact
    assert walked.broken_at == B + 5


def test_a_broken_or_older_walk_is_not_recorded(services: Services) -> None:
    first = write_history(services, 1)
    early = verify(services.database)
    last = write_history(services, 1)
    record_verified(services.database, verify(services.database))
    record_verified(services.database, early)  # behind the one recorded: kept as it was
    recorded = last_verified(services.database)
    assert recorded is not None
    assert recorded.up_to == last > first
    record_verified(
        services.database,
        Verification(False, 0, 0, GENESIS.hex(), broken_at=1, reason="changed", detail="x"),
    )
    again = last_verified(services.database)
    assert again is not None
    assert again.up_to == last
