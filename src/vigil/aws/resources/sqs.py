"""SQS queues (collector being written)."""
