"""Contacts change over the year, so that a relationship's contacts read back with their
history: a buyer promoted (a new title), a number changed, a mailbox moved, and a project
contact added for a tender and removed when it ended. Told after the other stories, at
fixed times of day and with no draw of the shared generators: what they draw stays the
same."""

from __future__ import annotations

from interface.demo.plan import Contact, Plan, PlannedRelationship

#: Whose contacts change: the relationship, the new title of its first contact, the
#: project contact (id, name, title) added for a while.
CHANGES = (
    ("huaxin", ("采购总监", "供应链总监"), ("xu.tender", "徐招标", "招标项目经理")),
    (
        "kessler",
        ("Head of Supply Chain", "Director, Global Logistics"),
        ("tender.desk", "Tender Desk", "Logistics Tender Coordinator"),
    ),
    ("kunshan_mould", ("总经理助理", "运营总监"), ("qian.project", "钱项目", "新厂搬迁项目联络人")),
)


def tell_all(plan: Plan) -> None:
    for key, titles, project in CHANGES:
        rel = plan.rels.get(key)
        if rel is None or len(rel.contacts) < 2:
            continue
        registered = rel.registered_days_ago
        first, second = rel.contacts[0], rel.contacts[1]
        title = titles[0] if first.title != titles[0] else titles[1]
        change(plan, rel, registered * 2 // 3, 10 * 60 + 5, first, title=title)
        change(plan, rel, registered // 3, 14 * 60 + 20, first, phone=new_phone(rel, 1))
        change(plan, rel, registered // 4, 11 * 60 + 40, second, email=new_email(rel, second))
        add_for_a_while(plan, rel, registered // 2, registered // 5, project)


def new_phone(rel: PlannedRelationship, n: int) -> str:
    if rel.branch.english:
        return f"+1 312 555 02{n:02d}"
    return (
        f"+86 139 1234 56{n:02d}"
        if not rel.english
        else f"{rel.branch.phone_prefix} 6100 20{n:02d}"
    )


def new_email(rel: PlannedRelationship, contact: Contact) -> str:
    return f"{contact.contact_id.replace('.', '_')}@{rel.org.domain}"


def change(
    plan: Plan,
    rel: PlannedRelationship,
    days_ago: int,
    minute: int,
    contact: Contact,
    *,
    title: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> None:
    app, rid = plan.app, rel.rid
    days_ago = max(days_ago, 2)
    plan.add(
        plan.at(rel.branch.zone, days_ago, minute),
        rel.office_rep(days_ago),
        lambda ctx: app.relationships.change_contact(
            ctx, rid, contact_id=contact.contact_id, title=title, phone=phone, email=email
        ),
        "changed contact",
        f"{rel.org.key}:contacts",
    )


def add_for_a_while(
    plan: Plan,
    rel: PlannedRelationship,
    added: int,
    removed: int,
    project: tuple[str, str, str],
) -> None:
    """A contact that is not among those the stories talk to, added and later removed."""
    app, rid = plan.app, rel.rid
    contact_id, name, title = project
    added, removed = max(added, 3), max(removed, 2)
    plan.add(
        plan.at(rel.branch.zone, added, 9 * 60 + 50),
        rel.office_rep(added),
        lambda ctx: app.relationships.add_contact(
            ctx, rid, contact_id=contact_id, name=name, title=title
        ),
        "contact",
        f"{rel.org.key}:contacts",
    )
    plan.add(
        plan.at(rel.branch.zone, removed, 16 * 60 + 30),
        rel.office_rep(removed),
        lambda ctx: app.relationships.remove_contact(ctx, rid, contact_id=contact_id),
        "removed contact",
        f"{rel.org.key}:contacts",
    )
