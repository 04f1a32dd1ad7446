"""Service offerings: the product catalogue as sales reads it, one row per offering with its
lane, terms, status and label (``writer``, from the ``ServiceOffering`` aggregate itself),
read one at a time or filtered (``queries``). Tables: ``migration``."""
