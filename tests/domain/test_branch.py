"""Branches as records: what a branch is, and what changing or closing it may do."""

from __future__ import annotations

import pytest

from domain.base import CommandRefused, InvalidValue
from domain.branch import Branch
from tests.domain.test_relationship import ctx


def suzhou() -> Branch:
    return Branch.register(
        ctx("admin"),
        code="Suzhou",
        name_zh="苏州分公司",
        name_en="Suzhou Branch",
        region="East China",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )


def test_a_branch_is_known_by_its_code_for_good() -> None:
    branch = suzhou()
    assert branch.id == Branch.id_for("Suzhou") != Branch.id_for("suzhou")
    assert branch.as_dict() == {
        "code": "Suzhou",
        "name_zh": "苏州分公司",
        "name_en": "Suzhou Branch",
        "region": "East China",
        "time_zone": "Asia/Shanghai",
        "currency": "CNY",
        "open": True,
    }


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("code", "Suzhou 苏州分公司", "code.format"),
        ("code", "9lives", "code.format"),
        ("code", "", "code.format"),
        ("time_zone", "Asia/Nowhere", "time_zone.unknown"),
        ("time_zone", "../etc/passwd", "time_zone.unknown"),
        ("currency", "yuan", "currency.format"),
        ("name_zh", "  ", "name_zh.required"),
        ("name_en", "x" * 81, "name_en.required"),
    ],
)
def test_a_branch_that_cannot_be_right_is_refused(field: str, value: str, rule: str) -> None:
    fields = {
        "code": "Suzhou",
        "name_zh": "苏州分公司",
        "name_en": "Suzhou Branch",
        "region": "East China",
        "time_zone": "Asia/Shanghai",
        "currency": "CNY",
    }
    with pytest.raises(InvalidValue) as refused:
        Branch.register(ctx("admin"), **(fields | {field: value}))
    assert (refused.value.rule, refused.value.field) == (rule, field)


def test_changes_keep_the_code_and_say_what_changed() -> None:
    branch = suzhou()
    branch.change(ctx("admin"), name_en="Suzhou Office", region=None, time_zone="Asia/Shanghai")
    (changed,) = [e for e in branch.collect_events() if isinstance(e, Branch.Changed)]
    assert changed.changes == {"name_en": "Suzhou Office"}
    assert (branch.code, branch.name_en) == ("Suzhou", "Suzhou Office")
    with pytest.raises(CommandRefused) as same:
        branch.change(ctx("admin"), name_en="Suzhou Office")
    assert same.value.rule == "branch.unchanged"
    with pytest.raises(InvalidValue):
        branch.change(ctx("admin"), time_zone="Mars/Olympus")


def test_a_closed_branch_takes_no_new_references_until_reopened() -> None:
    branch = suzhou()
    branch.require_open()
    branch.close(ctx("admin"), reason="merged into Shanghai")
    with pytest.raises(CommandRefused) as closed:
        branch.require_open()
    assert closed.value.rule == "branch.closed"
    with pytest.raises(CommandRefused):
        branch.close(ctx("admin"), reason="again")
    branch.reopen(ctx("admin"))
    branch.require_open()
