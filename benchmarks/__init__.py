"""symbot's benchmarks. `nox -s bench` (or `python -m benchmarks [name ...]`) runs them.

Every benchmark measures its figure and its baseline in the same run on the same emulator and
prints them side by side with their ratio: these machines are noisy, so only ratios count.
"""
