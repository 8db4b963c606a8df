"""The three-way comparison's pieces: one client per process (client_*.py), the protocol they
share with the harness (protocol.py, standard library only: the BDK's virtualenv imports it),
and the harness that plays the pod (harness.py). benchmarks/compare.py puts them together.
"""
