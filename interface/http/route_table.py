"""The service's endpoints and the roles each declares, collected from the routes
themselves, and ``docs/permissions.md`` generated from them::

    python -m interface.http.route_table > docs/permissions.md
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from application.masking import RULE as PERSONAL_DATA_RULE
from application.visibility import RULE
from domain.staff import Role
from interface.http.app import ROUTERS
from interface.http.deps import declared_roles, is_public

Endpoint = tuple[str, str]


def table(routes: Iterable[BaseRoute]) -> dict[Endpoint, frozenset[Role]]:
    """Every endpoint (method and path) of the API document that declares the roles it
    allows, with them. (The console's own routes, ``/console/session``, are outside the
    document: public, they identify their caller themselves.)"""
    endpoints: dict[Endpoint, frozenset[Role]] = {}
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        roles = frozenset(Role) if is_public(route) else declared_roles(route)
        if roles is not None:
            endpoints.update({(method, route.path): roles for method in route.methods or ()})
    return endpoints


def markdown(endpoints: dict[Endpoint, frozenset[Role]]) -> str:
    """The table as Markdown, one row per endpoint."""
    roles = [role for role in Role if not role.is_grant]
    lines = [
        "# Permissions",
        "",
        "Generated from the roles each endpoint declares "
        "(`python -m interface.http.route_table > docs/permissions.md`).",
        "",
        "## Branches",
        "",
        "From `application/visibility.py`:",
        "",
        RULE,
        "",
        "## Roles",
        "",
        "A role's staff may call the endpoints it is ticked for; anyone else is refused (403).",
        "Endpoints under `/v1/public/` take no token: anyone may call them, within a rate",
        "limit per client address (429 with Retry-After).",
        "",
        "| endpoint | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for method, path in sorted(endpoints, key=lambda e: (e[1], e[0])):
        cells = ["✔" if r in endpoints[(method, path)] else "" for r in roles]
        lines.append(f"| `{method} {path}` | " + " | ".join(cells) + " |")
    lines += ["", "## Personal data", "", "From `application/masking.py`:", "", PERSONAL_DATA_RULE]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown(table(route for router in ROUTERS for route in router.routes)))
