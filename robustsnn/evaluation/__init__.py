"""The standard adaptive evaluation (``robustsnn benchmark``): one fixed, versioned attack
ensemble for any registered model or defense, its worst case with an interval, flags for
the symptoms of a weak evaluation, and a model card.

* :mod:`.standard` - the evaluation's definition (``standard-v1``), shipped with the package.
* :mod:`.plan` - which attack and transfer runs it makes for one model, by what the model is.
* :mod:`.card` - the model card and its flags, computed from the runs' records and logs.
* :mod:`.run` - running the plan (resumable, serial or on Ray) and writing the card.

Nothing heavy is imported here; the public verb is :func:`robustsnn.api.benchmark`.
"""
