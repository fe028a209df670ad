"""Security services: GuardDuty, Secrets Manager, ECR, account-level security settings (seeders being written)."""
