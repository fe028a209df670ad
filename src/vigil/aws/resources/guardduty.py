"""GuardDuty detectors (collector being written)."""
