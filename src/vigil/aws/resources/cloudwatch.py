"""CloudWatch metric alarms (collector being written)."""
