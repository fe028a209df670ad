"""Rules: AWS Config-style rules and conformance packs over recorded configuration items."""
