"""SNS topics (collector being written)."""
