"""Follow-ups (跟进): one row per follow-up — its subject, kind, assignee, due time and
state (``writer``, from the ``FollowUp`` aggregate itself) —, read as a staff member's day
(due today, overdue, upcoming, in the company's time zone) and as lists filtered by state,
assignee, relationship and branch, overdue as at the time of asking (``queries``). Table:
``migration``."""
