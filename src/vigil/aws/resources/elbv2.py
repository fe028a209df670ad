"""Elastic Load Balancing v2 load balancers (collector being written)."""
