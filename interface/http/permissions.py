"""Who may call which endpoint: the one permission matrix of the product.

``MATRIX`` maps every endpoint (method and path) to the roles allowed to call it; an
endpoint missing from it is refused to everyone (a test checks none is missing).
``docs/permissions.md`` is generated from it (``python -m interface.http.permissions``)
and a test keeps the two equal.

Branch scoping: staff of a branch (field staff, office staff, branch managers) see and
command only the relationships and shipments of their own branch (a shipment belongs to
its customer's branch); hq, auditors and admins see all branches.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from domain.staff import Role

F, O, M, H, A, D = (  # noqa: E741
    Role.FIELD_STAFF,
    Role.OFFICE_STAFF,
    Role.BRANCH_MANAGER,
    Role.HQ,
    Role.AUDITOR,
    Role.ADMIN,
)

READ = frozenset({F, O, M, H, A})
WORK = frozenset({F, O, M, H})
RESPONSIBILITY = frozenset({O, M, H})
CLAIMS = frozenset({O, M, H})
INVOICING = frozenset({O, M, H})
#: Service cases are worked by the office; field staff open them and give first responses.
SERVICE = frozenset({O, M, H})
#: What we sell and whom we compete against: branch managers and headquarters.
PRODUCT = frozenset({M, H})
MONEY = frozenset({M, H})
ARBITRATION = frozenset({H})
OVERSIGHT = frozenset({M, H, A})
AUDIT = frozenset({H, A})
CHECKPOINTS = frozenset({H, A, D})
EVERYONE = frozenset(Role)
STAFF = frozenset({D})

R = "/v1/relationships/{relationship_id}"
S = "/v1/shipments/{shipment_id}"
OF = "/v1/offerings/{offering_id}"
OP = "/v1/opportunities/{opportunity_id}"
C = "/v1/cases/{case_id}"
P = "/v1/competitors/{relationship_id}/profile"

MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/v1/relationships"): READ,
    ("GET", R): READ,
    ("POST", "/v1/relationships"): WORK,
    **{
        ("POST", f"{R}/{command}"): WORK
        for command in (
            "rename",
            "qualify",
            "return-to-prospect",
            "first-business",
            "mark-dormant",
            "reactivate",
            "mark-lost",
            "win-back",
            "change-industry",
            "designate-key-account",
            "withdraw-key-account",
            "move-to-branch",
            "assign-team",
            "contacts",
            "interactions",
            "care-actions",
            "contacts/{contact_id}/change",
            "contacts/{contact_id}/remove",
        )
    },
    ("GET", "/v1/shipments"): READ,
    ("GET", f"{S}/responsibility"): READ,
    ("POST", "/v1/shipments"): WORK,
    **{
        ("POST", f"{S}/{command}"): WORK
        for command in (
            "links/{sequence}/replan",
            "links/{sequence}/reassign",
            "links/{sequence}/start",
            "handovers",
            "links/{sequence}/complete",
            "links/{sequence}/delays",
            "deliver",
            "cancel",
            "evaluate",
            "incidents",
            "incidents/{incident_id}/actions",
            "charges",
        )
    },
    ("POST", f"{S}/invoices"): INVOICING,
    **{
        ("POST", f"{S}/incidents/{{incident_id}}/{command}"): RESPONSIBILITY
        for command in ("responsibility", "accept", "dispute", "resolve")
    },
    ("POST", f"{S}/incidents/{{incident_id}}/arbitrate"): ARBITRATION,
    ("POST", f"{S}/claims"): CLAIMS,
    ("POST", f"{S}/claims/{{claim_id}}/limit"): CLAIMS,
    **{
        ("POST", f"{S}/claims/{{claim_id}}/{command}"): MONEY
        for command in (
            "compensation",
            "recovery-claims",
            "recovery-receipts",
            "waive-recovery",
            "close",
        )
    },
    ("GET", "/v1/offerings"): READ,
    ("GET", OF): READ,
    ("POST", "/v1/offerings"): PRODUCT,
    **{
        ("POST", f"{OF}/{command}"): PRODUCT
        for command in ("revise-terms", "redescribe", "retire", "reinstate")
    },
    ("GET", "/v1/opportunities"): READ,
    ("GET", OP): READ,
    ("POST", "/v1/opportunities"): WORK,
    **{
        ("POST", f"{OP}/{command}"): WORK
        for command in (
            "advance",
            "step-back",
            "revise-value",
            "revise-probability",
            "change-offering",
            "involve-competitor",
            "won",
            "lost",
            "evaluate",
        )
    },
    ("GET", "/v1/cases"): READ,
    ("GET", C): READ,
    ("POST", "/v1/cases"): WORK,
    ("POST", f"{C}/respond"): WORK,
    **{
        ("POST", f"{C}/{command}"): SERVICE
        for command in ("assign", "escalate", "resolve", "reopen", "close", "rate")
    },
    ("GET", P): READ,
    ("POST", P): PRODUCT,
    **{
        ("POST", f"{P}/{command}"): PRODUCT
        for command in (
            "strengths",
            "strengths/withdraw",
            "weaknesses",
            "weaknesses/withdraw",
            "lanes",
            "lanes/drop",
        )
    },
    ("GET", "/v1/audit/findings"): OVERSIGHT,
    ("GET", "/v1/partners/{partner_id}/scorecard"): OVERSIGHT,
    **{
        ("GET", f"/v1/decisions/{view}"): OVERSIGHT
        for view in (
            "pipeline",
            "competitors",
            "top-customers",
            "segments",
            "customers-at-risk",
            "partners",
            "value-by-period",
            "service-levels",
        )
    },
    ("POST", "/v1/audit/verify"): AUDIT,
    ("POST", "/v1/audit/checkpoints"): CHECKPOINTS,
    ("GET", "/v1/audit/public-key"): EVERYONE,
    ("GET", f"{R}/history"): AUDIT,
    ("GET", f"{R}/state"): AUDIT,
    ("GET", f"{R}/diff"): AUDIT,
    ("GET", f"{S}/state"): AUDIT,
    ("GET", f"{S}/diff"): AUDIT,
    ("GET", f"{S}/epcis"): AUDIT,
    ("GET", f"{R}/audit-package"): AUDIT,
    ("GET", "/v1/staff"): STAFF,
    ("GET", "/v1/staff/me"): EVERYONE,
    ("POST", "/v1/staff"): STAFF,
    ("POST", "/v1/staff/{staff_id}/roles"): STAFF,
    ("POST", "/v1/staff/{staff_id}/roles/{role}/revoke"): STAFF,
    ("POST", "/v1/staff/{staff_id}/tokens"): STAFF,
    ("POST", "/v1/staff/{staff_id}/tokens/{token_id}/revoke"): STAFF,
    ("POST", "/v1/staff/{staff_id}/deactivate"): STAFF,
}


def allowed(method: str, path: str) -> frozenset[Role]:
    return MATRIX.get((method.upper(), path), frozenset())


def markdown(endpoints: Iterable[tuple[str, str]] | None = None) -> str:
    """The matrix as a Markdown table, one row per endpoint."""
    roles = list(Role)
    lines = [
        "# Permissions",
        "",
        "Generated from `interface/http/permissions.py` "
        "(`python -m interface.http.permissions > docs/permissions.md`).",
        "Branch staff (field staff, office staff, branch managers) act only within their own "
        "branch; hq, auditors and admins see all branches.",
        "",
        "| endpoint | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for method, path in sorted(endpoints or MATRIX, key=lambda e: (e[1], e[0])):
        cells = ["✔" if r in allowed(method, path) else "" for r in roles]
        lines.append(f"| `{method} {path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
