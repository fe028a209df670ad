"""Lambda functions (collector being written)."""
