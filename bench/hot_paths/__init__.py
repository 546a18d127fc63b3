"""The hot paths of issue 9 under load, beside their baselines (see bench/hot_paths/README.md).

.venv/bin/python -m bench.hot_paths                          # 1,000,000 persons, 10 s per path
.venv/bin/python -m bench.hot_paths --persons 20000 --duration 3
"""
