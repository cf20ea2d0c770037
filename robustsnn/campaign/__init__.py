"""Running attacks: campaigns (which recipes against which models), one cell at a time,
serially or on Ray actors, with transfer runs and the R-draw verdict.

Nothing is imported here, so ``import robustsnn`` stays cheap; the modules import
TextAttack and torch only inside the functions that need them.
"""
