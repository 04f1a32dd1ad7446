"""A customer's history across aggregates: an index of every event of a relationship and of
everything that belongs to it, in log order (``writer``), read a page at a time with each
event's payload (``queries``). Tables: ``migration``."""
