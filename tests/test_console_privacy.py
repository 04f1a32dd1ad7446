"""A contact's personal data erased from the console, in a real browser against the service
on a real PostgreSQL with live workers: headquarters erase a contact on the contact's
request, after confirming it cannot be undone; the page shows the contact as erased, in
English and in Chinese; field staff are offered no erasure."""

from __future__ import annotations

from uuid import UUID

from playwright.sync_api import Page, expect

from domain.personal import ERASED, contact_subject
from tests.test_console import (
    Office,
    browser,
    in_browser,
    office,
    open_huaxin,
    page,
    sign_in,
)

__all__ = ["browser", "office", "page"]  # fixtures of tests.test_console, used here


@in_browser
def test_headquarters_erase_a_contact_from_the_customer_page(page: Page, office: Office) -> None:
    person = contact_subject(UUID(office.huaxin), "wang").subject_id
    sign_in(page, office, "hq")
    open_huaxin(page, office)
    contact = page.locator("#contacts li[data-contact='wang']")
    expect(contact.locator("[data-contact-name]")).to_have_text("Wang Fang 王芳")
    action = contact.locator("details[data-erase]")
    action.locator("summary").click()
    expect(action).to_contain_text("Erase personal data")
    action.get_by_label("Reason").fill("The contact asked for it in writing")
    action.get_by_label("Request reference").fill("DSR-2026-0042")

    # Not without the confirmation that it cannot be undone.
    action.get_by_role("button", name="Erase for good").click()
    expect(action.locator("[role=status]")).to_have_text(
        "Confirm that the erasure cannot be undone."
    )
    assert office.services.app.privacy.subject(person).erased == ()

    action.get_by_label("I understand this cannot be undone").check()
    action.get_by_role("button", name="Erase for good").click()
    expect(page.locator("#customer-notice")).to_have_text("Personal data erased.")
    expect(contact.locator("[data-contact-name]")).to_have_text("erased")
    expect(contact.locator("[data-erased='phone']")).to_have_text("erased")
    expect(contact.locator("[data-erased-person]")).to_have_text("Personal data erased")
    expect(contact.locator("details[data-erase]")).to_have_count(0)
    expect(page.locator("#contacts")).not_to_contain_text("Wang Fang")

    subject = office.services.app.privacy.subject(person)
    assert (subject.held, subject.erased) == ((), ("contact_details", "identity"))
    kept = office.services.app.relationships.get_relationship(UUID(office.huaxin))
    assert (kept.contacts["wang"].name, kept.contacts["wang"].phone) == (ERASED, ERASED)

    # In Chinese too.
    page.get_by_role("button", name="中文").click()
    expect(contact.locator("[data-contact-name]")).to_have_text("已删除")
    expect(contact.locator("[data-erased-person]")).to_have_text("个人信息已删除")


@in_browser
def test_field_staff_are_offered_no_erasure(page: Page, office: Office) -> None:
    sign_in(page, office)
    open_huaxin(page, office)
    expect(page.locator("#contacts li[data-contact='wang']")).to_contain_text("Wang Fang 王芳")
    expect(page.locator("#contacts details[data-erase]")).to_have_count(0)
