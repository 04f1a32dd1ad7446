"""Customer value: every shipment's charges and the revenue of the delivered ones, per
customer and currency (``writer``); realised, potential and model value, RFM, computed when
asked, with the value models fitted over every customer's purchases (``queries``). Tables:
``migration``."""
