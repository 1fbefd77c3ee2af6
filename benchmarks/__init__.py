"""Benchmarks: each row measured side by side with its floor or the old way, in one run.

``python -m benchmarks`` (or ``make bench``) generates its own data in a temporary
folder, runs every row and writes ``BENCHMARKS.md``. These are reports, not tests:
nothing here asserts; a missed target is printed as MISS with the numbers.
"""
