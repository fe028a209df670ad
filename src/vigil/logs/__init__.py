"""CloudWatch Logs behaviour re-implemented as pure functions (no store, no AWS).

``vigil.logs.pattern`` is the filter-pattern language shared by metric filters, subscription
filters and ``FilterLogEvents`` (spec aws-semantics.md §1).
"""
