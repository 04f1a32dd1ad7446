"""Search: relationships, their contacts and shipments found by name, pinyin, contact,
phone, email, shipment reference and transport document (AWB, B/L) in one index
(``writer``), ranked, paged and branch-scoped (``queries``); how text is folded and indexed:
``text``. Tables: ``migration``."""
