"""Reading attack results: Table 2 and its comparisons, the worst case over an attack
ensemble, the adaptive-evaluation report, and recounting legacy logs. Reads records
and logs (:mod:`robustsnn.records`); never runs an attack.
"""
