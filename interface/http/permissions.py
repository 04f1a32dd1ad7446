"""Who may call which endpoint: the role sets of the product.

Each endpoint declares the roles that may call it where it is declared, on its staff
parameter, with one of the sets named here::

    staff: Annotated[StaffMember, Depends(Allowed(WORK))]

``current_staff`` (``interface.http.deps``) refuses anyone else (403). An endpoint that
declares none is refused to everyone (a test checks none is missing). ``docs/permissions.md``
is generated from the declarations (``interface.http.route_table``) and a test keeps the
two equal.

Branch scoping: what staff of a branch may see of another branch's records is the one rule
of ``application.visibility`` (``RULE``, shown in the document too).
"""

from __future__ import annotations

from domain.staff import Role

F, O, M, H, A, D, P, C = (  # noqa: E741
    Role.FIELD_STAFF,
    Role.OFFICE_STAFF,
    Role.BRANCH_MANAGER,
    Role.HQ,
    Role.AUDITOR,
    Role.ADMIN,
    Role.PARTNER,
    Role.CUSTOMER,
)

READ = frozenset({F, O, M, H, A})
WORK = frozenset({F, O, M, H})
RESPONSIBILITY = frozenset({O, M, H})
#: The chain's links, read by partner users too (only the links their partner runs), and
#: the list of shipments (a partner user's: those of its partner's links).
LINKS = READ | {P}
#: Handovers are signed by the parties of the links, partners' users among them.
HANDOVERS = WORK | {P}
#: The responsible party answers the responsibility assigned to it: partners' users too.
ANSWER = RESPONSIBILITY | {P}
CLAIMS = frozenset({O, M, H})
INVOICING = frozenset({O, M, H})
#: What a link costs us (planned, then invoiced by its party): the office, managers, HQ.
LINK_COSTS = frozenset({O, M, H})
#: Service cases are worked by the office; field staff open them and give first responses.
SERVICE = frozenset({O, M, H})
#: What we sell and whom we compete against: branch managers and headquarters.
PRODUCT = frozenset({M, H})
#: Market management: segments and campaigns are defined by branch managers and HQ.
MARKETING = frozenset({M, H})
MONEY = frozenset({M, H})
ARBITRATION = frozenset({H})
#: Rewards and penalties (奖惩) of partners: charge-backs and bonuses, decided by HQ.
REWARDS = frozenset({H})
OVERSIGHT = frozenset({M, H, A})
AUDIT = frozenset({H, A})
CHECKPOINTS = frozenset({H, A, D})
#: Who read which customer's history, state, packages and exports: auditors and admins.
ACCESS_LOG = frozenset({H, A, D})
#: Customer self-service (自我服务): a customer user's own customer, and no one else's.
SELF_SERVICE = frozenset({C})
#: Who registers a customer's users: its branch's manager, headquarters, administrators.
CUSTOMER_USERS = frozenset({M, H, D})
#: The global event feed: branch managers (their branch's entries), HQ, auditors, admins.
EVENT_FEED = frozenset({M, H, A, D})
#: Webhook subscriptions, their deliveries and dead letters: administrators and HQ.
WEBHOOKS = frozenset({D, H})
#: Legal holds on a customer's personal data: placed by HQ, auditors and administrators,
#: who also read them and what the retention of personal data would erase.
LEGAL_HOLDS = frozenset({H, A, D})
#: Released by HQ and administrators only.
LEGAL_HOLD_RELEASE = frozenset({H, D})
#: Data subjects' requests to access and take their data (PIPL Art. 45, GDPR Art. 15/20):
#: answered by headquarters and administrators.
DATA_REQUESTS = frozenset({H, D})
#: Data subjects (the people whose personal data the log holds): who sees the kinds of
#: their data held and erased — headquarters, auditors, administrators.
PEOPLE = frozenset({H, A, D})
#: Who erases a data subject's personal data (PIPL Art. 47, GDPR Art. 17): HQ and admins.
ERASURE = frozenset({H, D})
EVERYONE = frozenset(Role)
STAFF = frozenset({D})
#: The branch registry: kept by administrators and headquarters, read by all our staff.
BRANCHES = frozenset({D, H})
BRANCH_REGISTRY = READ | {D}
