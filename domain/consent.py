"""Consent (同意) of a customer's contact, per purpose of processing: given and withdrawn,
each time with when, how (the channel and a reference to the evidence) and who recorded it.

A contact's data is processed to serve the customer without consent (the contract); the
purposes here are those that need the person's own consent (PIPL Art. 13–14, GDPR Art. 6(1)(a)
and 7), which is withdrawn as easily as it was given (PIPL Art. 15, GDPR Art. 7(3)).

Pure: the values only; the events and the state are the relationship's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ConsentPurpose(StrEnum):
    MARKETING = "marketing"  # campaigns and offers (一对一营销)
    SERVICE_UPDATES = "service_updates"  # news of services and lanes beyond the contract's
    ANALYTICS = "analytics"  # the person's data in analyses beyond serving the customer


class ConsentChannel(StrEnum):
    """How the consent was given or withdrawn."""

    WEB_FORM = "web_form"
    EMAIL = "email"
    PAPER = "paper"  # a signed form
    CALL = "call"
    VISIT = "visit"
    PORTAL = "portal"


@dataclass(frozen=True)
class Consent:
    """A contact's consent to one purpose as it stands: given or withdrawn, and the last
    change of it."""

    purpose: ConsentPurpose
    given: bool
    changed_at: datetime
    changed_by: str
    channel: ConsentChannel
    evidence_ref: str | None
