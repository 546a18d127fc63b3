"""Benchmarks run apart from the test suite; see bench/README.md (the performance issue fills this in)."""

print("no benchmarks yet: the performance issue adds them")
