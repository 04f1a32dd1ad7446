"""Opportunities: the sales pipeline, one row per opportunity — its stage, status, expected
and weighted value, the competitors involved and who won (``writer``, from the
``Opportunity`` aggregate itself); read one at a time, filtered, or counted into our record
against a competitor (``queries``). Table: ``migration``."""
