"""Benchmarks run apart from the test suite (`make bench`); see bench/README.md."""

from bench.directory_search import main

main()
