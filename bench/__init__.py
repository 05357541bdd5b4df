"""Ticketstream benchmarks (``make bench``): machine-readable results beside raw baselines."""
