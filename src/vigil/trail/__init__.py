"""CloudTrail semantics re-implemented as pure functions (aws-semantics.md §6).

``selectors`` decides which records a trail's event selectors let through, so checks can say
what a trail does and does not log without asking AWS.
"""

from vigil.trail.selectors import (
    AdvancedSelector,
    BasicSelector,
    DataResource,
    FieldSelector,
    SelectorError,
    parse_advanced_event_selectors,
    parse_event_selectors,
    parse_trail_selectors,
    record_category,
    selects,
)

__all__ = [
    "AdvancedSelector",
    "BasicSelector",
    "DataResource",
    "FieldSelector",
    "SelectorError",
    "parse_advanced_event_selectors",
    "parse_event_selectors",
    "parse_trail_selectors",
    "record_category",
    "selects",
]
