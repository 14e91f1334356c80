"""Config of Helm add-ons: its sections and the checks on them (components/addons/ builds it)."""
