"""Multi-objective search (installed as `hwnas.search`).

Planned: pymoo problems over a space's integer encoding, algorithms (NSGA-II by default),
the on-disk evaluation archive keyed by canonical architecture, and Pareto utilities.
"""
