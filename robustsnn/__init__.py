"""robustsnn: adversarial robustness of spiking text classifiers, measured honestly.

Importing this package is cheap and has no side effects: torch, textattack and
friends are imported inside the functions that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
