"""The full-chain responsibility audit: per shipment, who held the goods and answered for
each link, what went wrong where, who compensated whom (``writer``, from the ``Shipment``
aggregate itself); the shipments, their responsibility views, the auditors' findings and
the partners' scorecards (``queries``). Tables: ``migration``."""
