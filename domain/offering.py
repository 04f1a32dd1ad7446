"""Service offering (product management): what we sell — "Suzhou → Chicago, air, door to
door, 5 days".

An offering is launched on a lane (origin, destination and mode of transport) with a
service level and a transit time in days. Its lane is what it is: a different lane is a
different offering, so a lane is never changed — launch the new offering and retire the
old one. Its terms (service level and transit time) are revised while it is active, and so
are its name and description.

Retired offerings are not changed and not offered: an opportunity may name only an active
offering, and is won only while its offering is still active. A retired offering may be
reinstated, with a reason — lanes are seasonal, and a suspended lane resumes under the
same product rather than as a look-alike with a new id that splits its history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.base import AttributedEvent, CommandContext, refuse_unless, require
from domain.liability import TransportMode
from domain.values import optional_text, required_text

#: The longest transit time an offering may promise: a slow sea lane is some 60 days.
MAX_TRANSIT_DAYS = 120


class ServiceLevel(StrEnum):
    """How far our service reaches at each end of the lane, or how the goods travel."""

    DOOR_TO_DOOR = "door_to_door"  # pickup at the shipper, delivery to the consignee
    DOOR_TO_PORT = "door_to_port"  # pickup at the shipper, to the destination (air)port
    PORT_TO_DOOR = "port_to_door"  # from the origin (air)port, delivery to the consignee
    PORT_TO_PORT = "port_to_port"  # (air)port to (air)port: main carriage only
    EXPRESS = "express"  # time-definite door to door, priority handling
    CONSOLIDATED = "consolidated"  # groupage with other shippers' goods (LCL, consol air)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class OfferingStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True)
class Lane:
    """Where the goods go and how: origin, destination and mode of transport."""

    origin: str
    destination: str
    mode: TransportMode

    @classmethod
    def of(cls, origin: str, destination: str, mode: TransportMode) -> Lane:
        """A lane from raw input, validated: two named, different ends and a mode."""
        start = required_text(origin, "origin")
        end = required_text(destination, "destination")
        require(
            start.casefold() != end.casefold(),
            "lane.same_ends",
            "a lane's origin and destination differ",
            field="destination",
        )
        return cls(start, end, TransportMode(mode))

    def same_as(self, other: Lane) -> bool:
        """The same lane, whatever the capitalisation of its ends."""
        return (self.origin.casefold(), self.destination.casefold(), self.mode) == (
            other.origin.casefold(),
            other.destination.casefold(),
            other.mode,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "destination": self.destination, "mode": self.mode.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lane:
        return cls(data["origin"], data["destination"], TransportMode(data["mode"]))

    def __str__(self) -> str:
        return f"{self.origin} → {self.destination}, {self.mode.value}"


def _transit_days(days: int) -> int:
    require(
        isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_TRANSIT_DAYS,
        "transit_days.range",
        f"transit time is from 1 to {MAX_TRANSIT_DAYS} days",
        field="transit_days",
    )
    return days


class ServiceOffering(Aggregate, created_event_name="Launched"):
    TOPIC = "ServiceOffering"

    class Event(AttributedEvent):
        pass

    class Launched(Event, Aggregate.Created):
        TOPIC = "ServiceOffering.Launched"
        name: str
        description: str | None
        origin: str
        destination: str
        mode: str
        service_level: str
        transit_days: int

    # The library gives every aggregate a "Created" event; ours is "Launched".
    Created = Launched

    class TermsRevised(Event):
        TOPIC = "ServiceOffering.TermsRevised"
        service_level: str
        transit_days: int
        reason: str

        def apply(self, aggregate: ServiceOffering) -> None:
            aggregate.service_level = ServiceLevel(self.service_level)
            aggregate.transit_days = self.transit_days

    class Redescribed(Event):
        TOPIC = "ServiceOffering.Redescribed"
        name: str
        description: str | None

        def apply(self, aggregate: ServiceOffering) -> None:
            aggregate.name = self.name
            aggregate.description = self.description

    class Retired(Event):
        TOPIC = "ServiceOffering.Retired"
        reason: str

        def apply(self, aggregate: ServiceOffering) -> None:
            aggregate.status = OfferingStatus.RETIRED

    class Reinstated(Event):
        TOPIC = "ServiceOffering.Reinstated"
        reason: str

        def apply(self, aggregate: ServiceOffering) -> None:
            aggregate.status = OfferingStatus.ACTIVE

    # --- state -------------------------------------------------------------------------

    def __init__(
        self,
        name: str,
        description: str | None,
        origin: str,
        destination: str,
        mode: str,
        service_level: str,
        transit_days: int,
    ) -> None:
        self.name = name
        self.description = description
        self.lane = Lane(origin, destination, TransportMode(mode))
        self.service_level = ServiceLevel(service_level)
        self.transit_days = transit_days
        self.status = OfferingStatus.ACTIVE

    @property
    def is_active(self) -> bool:
        """Whether it may be offered (named by an opportunity, won)."""
        return self.status is OfferingStatus.ACTIVE

    @property
    def label(self) -> str:
        """As sales would say it: "Suzhou → Chicago, air, door to door, 5 days"."""
        days = "1 day" if self.transit_days == 1 else f"{self.transit_days} days"
        return f"{self.lane}, {self.service_level.label}, {days}"

    # --- commands ----------------------------------------------------------------------

    @classmethod
    def launch(
        cls,
        ctx: CommandContext,
        *,
        name: str,
        lane: Lane,
        service_level: ServiceLevel,
        transit_days: int,
        description: str | None = None,
        offering_id: UUID | None = None,
    ) -> ServiceOffering:
        lane = Lane.of(lane.origin, lane.destination, lane.mode)
        return cls._create(
            cls.Launched,
            id=offering_id or cls.create_id(),
            name=required_text(name, "name"),
            description=optional_text(description, "description", max_length=2000),
            origin=lane.origin,
            destination=lane.destination,
            mode=lane.mode.value,
            service_level=ServiceLevel(service_level).value,
            transit_days=_transit_days(transit_days),
            **ctx.event_fields(),
        )

    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    def revise_terms(
        self,
        ctx: CommandContext,
        *,
        service_level: ServiceLevel,
        transit_days: int,
        reason: str,
    ) -> None:
        self._require_active("revise its terms")
        level = ServiceLevel(service_level)
        days = _transit_days(transit_days)
        refuse_unless(
            (level, days) != (self.service_level, self.transit_days),
            "offering.terms_unchanged",
            f"the terms are already {level.label}, {days} days",
        )
        self.trigger_event(
            self.TermsRevised,
            service_level=level.value,
            transit_days=days,
            reason=required_text(reason, "reason"),
            **ctx.event_fields(),
        )

    def redescribe(self, ctx: CommandContext, *, name: str, description: str | None) -> None:
        self._require_active("rename or redescribe it")
        name = required_text(name, "name")
        text = optional_text(description, "description", max_length=2000)
        refuse_unless(
            (name, text) != (self.name, self.description),
            "offering.description_unchanged",
            "the name and description are already these",
        )
        self.trigger_event(self.Redescribed, name=name, description=text, **ctx.event_fields())

    def retire(self, ctx: CommandContext, *, reason: str) -> None:
        refuse_unless(self.is_active, "offering.retired", "the offering is already retired")
        self.trigger_event(
            self.Retired, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    def reinstate(self, ctx: CommandContext, *, reason: str) -> None:
        refuse_unless(
            not self.is_active,
            "offering.already_active",
            "the offering is active; only a retired offering is reinstated",
        )
        self.trigger_event(
            self.Reinstated, reason=required_text(reason, "reason"), **ctx.event_fields()
        )

    # --- helpers -----------------------------------------------------------------------

    def _require_active(self, action: str) -> None:
        refuse_unless(
            self.is_active,
            "offering.retired",
            f"the offering is retired; reinstate it to {action}",
        )
