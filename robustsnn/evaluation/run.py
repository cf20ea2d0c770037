"""Running the standard evaluation of one model and writing its card (``robustsnn benchmark``).

Every run is an ordinary campaign cell or transfer run under
``<results>/benchmark/<evaluation>-<dataset>[-wordnet]/``, so an interrupted evaluation
resumes where it stopped (finished runs are kept, unfinished logs extended), and the
surrogates' attacks are shared by every model evaluated on the dataset. The card is
written atomically to ``<results>/benchmark/cards/<evaluation>/`` when every run is done.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import UserError
from .plan import TRANSFER, Target, plan, target_of
from .standard import DEFAULT, get_evaluation


def _probe(target: Target, campaign: Any, step: Any) -> tuple[bool, int | None]:
    """(exposes input gradients, T) of the deployed model: a defense wrapper hides the
    gradient, and T is a spiking network's time steps (None for a TextCNN)."""
    from ..campaign.runner import build_classifier
    from ..classifier import wrapped_with

    classifier = build_classifier(step.cell, campaign, target.checkpoint)
    network = wrapped_with(classifier, "loaded")
    # Both spiking families (the SNN and the spiking transformer) carry their T; TextCNNs have none.
    steps = getattr(network.loaded.model, "time_steps", None) if network is not None else None
    return callable(getattr(classifier, "input_gradient", None)), None if steps is None else int(steps)


def benchmark(model: str, dataset: str, defense: str = "none", checkpoint: str | Path | None = None,
              noise: str | None = None, evaluation: str = DEFAULT, num_examples: int | None = None,
              results: str | Path | None = None, executor: str = "local", workers: int | None = None,
              address: str | None = None, resources: Any = None, checkpoints: Mapping[str, Path] | None = None,
              seed: int = 0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the standard evaluation of ``model`` on ``dataset`` (see :mod:`.standard`) and
    return its model card (also written to ``<results>/benchmark/cards/``).

    ``defense``: a registered defense around the model; ``checkpoint``: another checkpoint
    of the model's kind; ``noise``: a stochastic model's deployed form, ``poisson`` (the
    default: its majority over fresh draws) or ``direct``; ``num_examples``: fewer than
    the evaluation's examples, for a trial (the card is then flagged ``partial`` and never
    ranked); ``executor``/``workers``/``address``: as ``robustsnn campaign``;
    ``checkpoints``: model name -> checkpoint file for the surrogates (tests); ``seed``:
    another training seed (``robustsnn build --seed``): the target and the surrogates are
    that seed's checkpoints, and the card says the seed.
    """
    from ..campaign.runner import LocalExecutor, run_cell
    from ..campaign.transfer import run_transfer
    from ..io_utils import atomic_write_json
    from ..paths import results_dir
    from .card import build_card, card_path

    spec = get_evaluation(evaluation)
    if executor not in ("local", "ray"):
        raise UserError(f"unknown executor '{executor}' (choices: local, ray)")
    target = target_of(model, dataset, defense, noise, checkpoint, seed)
    n = spec.num_examples if num_examples is None else num_examples
    root = Path(results) if results is not None else results_dir()
    draft = plan(spec, target, n, white_box=True, checkpoints=checkpoints)
    white_box, time_steps = _probe(target, draft[-1].campaign, next(s for s in draft if s.on_target))
    steps = draft if white_box else plan(spec, target, n, white_box=False, checkpoints=checkpoints)
    log(f"{spec.name}: {target.label} on {target.dataset}"
        + ("" if not target.seed else f" (training seed {target.seed}: {target.checkpoint})")
        + f", {len(steps)} runs on {n} examples"
        + ("" if white_box else " (no white-box attack: the model exposes no input gradient)"))
    if executor == "ray":
        from ..campaign.ray_executor import RayExecutor

        runner: Any = RayExecutor(address, workers, log=log)
    else:
        if address is not None or workers is not None:
            raise UserError("--address and --workers apply to --executor ray")
        runner = LocalExecutor(resources)
    began = time.perf_counter()
    folder = root / "benchmark"
    try:
        for i, step in enumerate(steps, 1):
            log(f"[{i}/{len(steps)}] {step.kind}: {step.cell.key}")
            if step.kind == TRANSFER:
                run_transfer(step.campaign, step.source, step.cell, folder, checkpoint=step.checkpoint, log=log)
            else:
                run_cell(step.campaign, step.cell, folder, checkpoint=step.checkpoint, log=log, executor=runner)
    finally:
        runner.close()
    card = build_card(spec, target, steps, n, root=root, time_steps=time_steps)
    path = card_path(root, spec, card)
    atomic_write_json(path, card)
    log(f"wrote {path} ({time.perf_counter() - began:.0f} s in this call)")
    return card
