"""modelport benchmarks: gateway overhead and engine throughput vs LiteLLM and nginx (see README.md)."""
