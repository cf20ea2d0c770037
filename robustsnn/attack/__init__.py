"""Adversarial attacks on the text classifiers (TextAttack at the boundary).

Nothing is imported here: TextAttack downloads data and rewrites environment
variables when it is imported, so it is only ever imported through
:func:`robustsnn.resources.offline.import_textattack`, inside the functions that
need it. Offline resources (NLTK data, counter-fitted vectors, sentence encoder,
masked LM, homoglyph table) come from :mod:`robustsnn.resources.offline`.
"""
