"""Secrets Manager secrets (collector being written)."""
