"""Decision views for managers: pipeline, competitors, customers by value and at risk,
partners, value and retention per period, service levels.

Every view is filtered by the *customer's* branch, region and industry (``scope.Scope``;
for partners: the customers whose shipments the partner carried). Figures that depend on
the day or the moment of asking are computed when asked, from the revenue of
``projections.customer_value``, the opportunities of ``projections.opportunities``, the
service cases of ``projections.service_cases`` and the responsibility audit, with the value
models of ``projections.customer_value.queries``. One module per view or family of views.
"""
