"""EFS file systems (collector being written)."""
