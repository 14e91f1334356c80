"""Config of the edge (ingress, inference gateway):
its sections and the checks on them (components/edge/ builds it)."""
