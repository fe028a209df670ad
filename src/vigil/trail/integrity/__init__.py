"""CloudTrail log-file integrity validation (``vigil trail validate``; aws-semantics.md §6.5).

``digest`` parses digest files, builds the string CloudTrail signs and judges digests, their chain
and the log files they name (pure); ``keys`` reads public keys and verifies signatures with the
``cryptography`` library; ``reader`` lists and reads the bucket and asks CloudTrail's ListPublicKeys.
The names below are the package's interface; ``CannotStart`` and ``UsageError`` are the errors it raises.
"""

from vigil.errors import CannotStart, UsageError
from vigil.trail.integrity.digest import (
    HASH_ALGORITHM,
    SIGNATURE_ALGORITHM,
    STATUSES,
    VALID,
    Digest,
    Fetch,
    FileResult,
    FormatError,
    Location,
    LogEntry,
    Report,
    StoredObject,
    gunzip_exact,
    log_file_hash,
    parse_digest,
    signing_string,
    validate,
)
from vigil.trail.integrity.keys import (
    KeyFormatError,
    KeyRing,
    PublicKey,
    fingerprint,
    key_from_der,
    load_key_file,
)
from vigil.trail.integrity.reader import BucketReader, Listing, cloudtrail_keys, list_window, validate_bucket

__all__ = [
    "HASH_ALGORITHM",
    "SIGNATURE_ALGORITHM",
    "STATUSES",
    "VALID",
    "BucketReader",
    "CannotStart",
    "Digest",
    "Fetch",
    "FileResult",
    "FormatError",
    "KeyFormatError",
    "KeyRing",
    "Listing",
    "Location",
    "LogEntry",
    "PublicKey",
    "Report",
    "StoredObject",
    "UsageError",
    "cloudtrail_keys",
    "fingerprint",
    "gunzip_exact",
    "key_from_der",
    "list_window",
    "load_key_file",
    "log_file_hash",
    "parse_digest",
    "signing_string",
    "validate",
    "validate_bucket",
]
