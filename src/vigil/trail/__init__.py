"""CloudTrail: where records come from, which a trail keeps, and whether log files are intact.

``sources`` reads records (files, stdin, S3, SQS, LookupEvents) in checkpointed batches;
``selectors`` decides which records a trail's event selectors let through (aws-semantics.md §6.4);
``pipeline`` routes records to log groups and metric filters; ``integrity`` validates digest files.
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
from vigil.trail.sources import Batch, Quarantined, Source, SourceUnavailable, open_source

__all__ = [
    "AdvancedSelector",
    "BasicSelector",
    "Batch",
    "DataResource",
    "FieldSelector",
    "Quarantined",
    "SelectorError",
    "Source",
    "SourceUnavailable",
    "open_source",
    "parse_advanced_event_selectors",
    "parse_event_selectors",
    "parse_trail_selectors",
    "record_category",
    "selects",
]
