"""Config of serving (pools, prefill/decode stacks, vLLM and router arguments):
its sections and the checks on them (components/serving/ builds it)."""
