"""Config of GPU placement: its sections and the checks on them (components/placement/ builds it)."""
