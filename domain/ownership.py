"""Which customer relationship each aggregate belongs to, told by the aggregate's first
event: a relationship belongs to itself, a shipment to its customer, an opportunity and a
service case to their relationship, a competitor's profile to the competitor, a
follow-up and a care plan to their relationship. An aggregate
of a type without an owner (a service offering, a staff member) belongs to no customer.

A customer's history, its audit package and its completeness proof all follow this map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

#: The relationship an aggregate belongs to, from the aggregate's first event.
Owner = Callable[[Any], UUID]

OWNERS: Mapping[str, Owner] = {
    "Relationship": lambda registered: registered.originator_id,
    "Shipment": lambda booked: booked.customer_id,
    "Opportunity": lambda identified: identified.relationship_id,
    "ServiceCase": lambda opened: opened.relationship_id,
    "CompetitorProfile": lambda started: started.relationship_id,
    "FollowUp": lambda scheduled: scheduled.relationship_id,
    "CarePlan": lambda started: started.relationship_id,
}


def aggregate_type_of(topic: str) -> str:
    """``Shipment.CustodyHandedOver`` -> ``Shipment`` (a stored topic's aggregate type)."""
    return topic.partition(".")[0]
