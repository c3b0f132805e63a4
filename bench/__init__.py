"""Benchmarks for QUALITY.md's performance goals (P1 check-ins, P2 leaderboards, P3 charts).

`python -m bench` runs them and prints one line per figure: the measured value, the reference
measured in the same run, their ratio, the goal and whether it was met. `--quick` is the small
smoke run CI uses. Figures go to stdout; progress and diagnostics to stderr.
"""
