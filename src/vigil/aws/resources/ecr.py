"""ECR repositories (collector being written)."""
