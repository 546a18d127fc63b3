"""Benchmarks run apart from the test suite (`make bench`); see bench/README.md. Each runs with its defaults;
run one as `python -m bench.<name> --help` to change them."""

import sys

from bench import directory_search, import_persons
from bench.hot_paths import __main__ as hot_paths

failed = []
for benchmark in (directory_search, import_persons, hot_paths):
    sys.argv = [benchmark.__name__]
    try:
        benchmark.main()
    except SystemExit as finished:
        if finished.code:
            failed.append(benchmark.__name__)
    print()
if failed:
    print(f"targets missed: {', '.join(failed)}")
raise SystemExit(1 if failed else 0)
