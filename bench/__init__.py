"""Benchmarks: `make bench` runs bench/run.py (targets B1-B9 at 100,000 tickets); eval_offline.py rates
the offline model."""
