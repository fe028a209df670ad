"""Vigil: self-hosted security auditing and notification for AWS.

The curated public API: the records, the settings, the store and the recorder's entry points.
"""

from __future__ import annotations

__version__ = "0.1.0"

from vigil.errors import CollectionError, ConfigError, UsageError, VigilError
from vigil.model import ConfigurationItem, Relationship, ResourceKey

__all__ = [
    "CollectionError",
    "ConfigError",
    "ConfigurationItem",
    "Relationship",
    "ResourceKey",
    "UsageError",
    "VigilError",
    "__version__",
]
