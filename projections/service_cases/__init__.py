"""Service cases (客户服务与支持): one row per case — its kind, priority, owner, status and
SLA clocks (``writer``, from the ``ServiceCase`` aggregate itself), read one at a time or
filtered, with whether each clock is breached at the time of asking (``queries``). Table:
``migration``."""
