"""RDS DB instances and snapshots (collector being written)."""
