"""Config of monitoring: its sections and the checks on them (components/monitoring/ builds it)."""
