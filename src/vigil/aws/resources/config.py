"""the AWS Config configuration recorder (collector being written)."""
