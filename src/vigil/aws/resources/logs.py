"""CloudWatch Logs log groups (collector being written)."""
