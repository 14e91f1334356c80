"""Config of model storage: its sections and the checks on them (components/storage/ builds it)."""
