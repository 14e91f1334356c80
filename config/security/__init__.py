"""Config of security: its sections and the checks on them (components/security/ builds it)."""
