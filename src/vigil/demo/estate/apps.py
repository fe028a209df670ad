"""Applications and data: RDS, Lambda, load balancers, EFS (seeders being written)."""
