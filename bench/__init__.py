"""Benchmarks: measured side by side with peers, reported as numbers and ratios, never asserted in tests."""
