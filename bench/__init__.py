"""Benchmarks of Fullchain CRM, run on demand with ``python -m bench``.

Every figure is a ratio of two measurements taken side by side in the same run, against
the same database, in interleaved rounds; medians over the rounds absorb the noise of a
shared machine. Nothing here asserts on timings: the goals are printed next to the
measured ratios for a reader to judge.
"""
