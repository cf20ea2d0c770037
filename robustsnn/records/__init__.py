"""What attack runs leave behind, and the one place that reads and writes it: the
per-example log with its identity line, the metrics computed from it, and finding the
run records under a results folder. Light on purpose (no torch, no TextAttack): every
table, report and resume goes through here.
"""
