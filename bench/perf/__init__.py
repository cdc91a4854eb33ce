"""Performance benchmarks: rates, latencies and sizes of the running app and its pipelines."""
