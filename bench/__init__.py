"""Benchmarks and load tests (not run by the test suite); `make bench` runs bench/storefront.py."""
