"""Account status: one row per relationship, as API clients and staff see it — its kind,
lifecycle, branch, team, contacts and last interaction (``writer``), with what the other
read models know of it joined when read: shipments in flight, open incidents and claims,
compensation paid, realised and potential value, open opportunities and cases, SLA
breaches (``queries``). Tables: ``migration``."""
