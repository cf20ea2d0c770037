"""robustsnn from Python: the verbs that the ``robustsnn`` command is a thin shell over.

::

    import robustsnn

    classifier = robustsnn.load_classifier("sst2", "snn", noise="frozen")
    classifier.predict_proba(["a gripping , funny film ."])    # [[p_neg, p_pos]]
    wrapper = robustsnn.textattack_wrapper(classifier)          # for any TextAttack recipe
    record = robustsnn.run_attack("snn", "pwws", dataset="sst2", noise="mean-20", num_examples=10)
    records = robustsnn.sweep_attack("snn", "pwws", "threat.max_modification_rate", [0.05, 0.1, 0.2])
    records = robustsnn.run_campaign("demo")                    # robustsnn campaign demo
    rows = robustsnn.table()                                    # robustsnn table

``robustsnn.run_attack`` is :func:`attack` of this module: the package cannot export it
as ``robustsnn.attack``, which is the name of the ``robustsnn.attack`` subpackage
(importing any of its modules would put the module back under that name).

**Noise** - the SNN's spike encoding - is ``"fresh"``, ``"frozen"``, ``"mean-<k>"`` (the
output rates of k fresh draws averaged, e.g. ``"mean-20"``), ``"direct"`` (no sampling) or a
:class:`~robustsnn.models.encoding.Encoding`. A string is parsed once, on the way in,
by :meth:`Encoding.parse <robustsnn.models.encoding.Encoding.parse>` (the parser the
CLI's ``--noise`` and a campaign's ``noise`` key go through too); every later stage gets
the parsed value. A bare ``"mean-k"`` is refused: the number of draws is part of the mode.

**Deterministic models** (``textcnn``, ``tailored``): :func:`load_classifier` accepts
``noise="frozen"`` (its default), ``"none"`` or ``None`` and draws nothing - such a model
already is a fixed function of the text, which is what frozen means - and refuses
``"fresh"`` and ``"mean-<k>"``, which ask for noise the model does not have. :func:`attack`
is as strict as ``robustsnn attack``: a deterministic model takes no noise mode at all
(it runs as noise ``none``, the name in its result files), unless its ``defense`` is
randomized (SAFER): the mode then governs the defense's draws (``fresh``, ``frozen`` or
``mean-<k>``; see :mod:`robustsnn.defenses`) and ``none`` is refused.

Importing this module is cheap: torch and TextAttack are imported by the verbs that
need them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from .errors import UserError

if TYPE_CHECKING:
    from .records.record import RunRecord

__all__ = ["load_classifier", "textattack_wrapper", "nltk_offline", "attack", "run_attack",
           "sweep_attack", "run_campaign", "table", "benchmark"]

from .noise import NONE as NOISE_NONE
from .noise import is_none as _is_none


def load_classifier(dataset: str, model: str, checkpoint: str | Path | None = None,
                    noise: Any = "frozen") -> Any:
    """The registered ``model`` built for ``dataset`` as a
    :class:`~robustsnn.classifier.TextClassifier` (texts in, probability rows out).

    ``checkpoint``: another checkpoint file of that model's kind (default: the one under
    ``$ROBUSTSNN_RUNS/<dataset>/``; a missing one is an error naming the commands that
    build it). ``noise``: see the module docstring; the frozen encoding's seed is 0
    unless an ``Encoding("frozen", seed=...)`` is given.
    """
    from .campaign.spec import parse_noise
    from .data.registry import get_dataset_spec
    from .zoo import MODELS

    entry = MODELS.get(model)
    dataset = get_dataset_spec(dataset).name
    if entry.stochastic:
        if _is_none(noise):
            raise UserError(f"model '{model}' is stochastic; give noise='fresh', 'frozen' or "
                            "'mean-<k>' (k draws averaged, e.g. 'mean-20')")
        encoding = parse_noise(noise)
    else:
        if not _is_none(noise) and parse_noise(noise).mode != "frozen":
            raise UserError(f"model '{model}' is deterministic; it has no noise to draw "
                            f"(noise='{noise}'): leave noise at 'frozen' or give None")
        encoding = None
    return entry.load(dataset, Path(checkpoint) if checkpoint else None, encoding)


def textattack_wrapper(classifier: Any) -> Any:
    """``classifier`` as a ``textattack.models.wrappers.ModelWrapper`` (probability rows,
    checked; see :mod:`robustsnn.attack.wrappers`). Imports TextAttack offline first
    (NLTK data from ``$ROBUSTSNN_RESOURCES``, no import-time downloads), so a plain
    ``import textattack`` after this call finds it already imported."""
    from .attack.wrappers import TextClassifierWrapper

    return TextClassifierWrapper(classifier)


@contextlib.contextmanager
def nltk_offline() -> Iterator[None]:
    """Inside the block ``nltk.download`` answers from the local NLTK data and never
    reaches the network. TextAttack's stock recipes call it when they are built
    (``PWWSRen2019.build`` asks for ``omw-1.4``, which English WordNet does not need);
    build them inside this block. Imports TextAttack offline on entry."""
    from .resources.textattack_import import import_textattack, nltk_downloads_offline

    import_textattack()  # prepares the NLTK data the attacks read
    with nltk_downloads_offline():
        yield


def _campaign(campaign: Any, overrides: Sequence[str], num_examples: int | None) -> Any:
    """A validated Campaign from a shipped name or a file, a Campaign, or None (the paper's
    settings, 'adhoc')."""
    from .campaign.spec import Campaign, campaign_from_dict, load_campaign, with_examples
    from .checks import is_int

    if num_examples is not None and (not is_int(num_examples) or num_examples < 1):
        raise UserError(f"num_examples must be a positive integer, got {num_examples!r}")
    overrides = list(overrides)
    if campaign is None:
        c = campaign_from_dict({"campaign": {"name": "adhoc"}}, overrides, source="(defaults)")
    elif isinstance(campaign, Campaign):
        c = campaign_from_dict(campaign.to_dict(), overrides, source=campaign.source) if overrides else campaign
    else:
        c = load_campaign(campaign, overrides)
    return with_examples(c, num_examples)


def _results(results: str | Path | None) -> Path:
    from .paths import results_dir

    return Path(results) if results else results_dir() / "attacks"


def _cell_noise(model: str, stochastic: bool, noise: Any, campaign: Any, defense: str = "none") -> Any:
    """The noise of an ``attack`` cell: an Encoding for a stochastic model or a randomized
    defense (default: the campaign's first mode that applies), ``"none"`` otherwise."""
    from dataclasses import replace

    from .campaign.spec import cell_modes, noise_encodings, parse_noise
    from .defenses import is_randomized

    randomized = is_randomized(defense)
    if not stochastic and not randomized:
        if not _is_none(noise):
            raise UserError(f"model '{model}' is deterministic; a noise mode (--noise) applies to "
                            "stochastic models and randomized defenses only")
        return NOISE_NONE
    if noise is None:
        modes = cell_modes(model, defense, noise_encodings(campaign))
        if not modes:
            raise UserError(f"randomized defense '{defense}' draws fresh, frozen or mean-<k>, and the campaign "
                            "lists none of them; give --noise")
        return modes[0]
    if _is_none(noise):
        what = f"model '{model}' is stochastic" if stochastic else f"defense '{defense}' is randomized"
        raise UserError(f"{what}; give a noise mode: fresh, frozen, mean-<k> "
                        "(k draws averaged, e.g. mean-20)" + (" or direct" if stochastic else ""))
    encoding = parse_noise(noise)
    if encoding.seed == campaign.campaign.seed:  # the campaign seeds it anyway
        encoding = replace(encoding, seed=0)
    return encoding


def attack(model: str, recipe: str, dataset: str | None = None, noise: Any = None,
           num_examples: int | None = None, campaign: Any = None, defense: str = "none",
           results: str | Path | None = None, checkpoint: str | Path | None = None,
           overrides: Sequence[str] = (), *, resources: Any = None,
           log: Callable[[str], None] = print) -> RunRecord:
    """Attack one model with one recipe (``robustsnn attack``); return the run record.

    ``campaign``: a shipped campaign's name (``"paper"``), a campaign file or a
    :class:`~robustsnn.campaign.spec.Campaign`
    holding the threat model, the examples and the seed (default: the paper's settings,
    as in the shipped ``paper``, under the name ``adhoc``); ``overrides`` are its ``--set``
    strings (``"threat.candidates=50"``). ``dataset``: default the campaign's first.
    ``noise``: for a stochastic model or a randomized defense (whose draws it governs),
    default the campaign's first noise mode that applies; see the module docstring. The
    log and the record go to ``<results>/<campaign name>/`` (default
    ``$ROBUSTSNN_RESULTS/attacks``); a run already there resumes. ``resources``: an
    :class:`~robustsnn.resources.AttackResources` to share between calls; ``log``: where
    progress lines go.
    """
    from .attack.recipes import RECIPES
    from .campaign.runner import run_cell
    from .campaign.spec import Cell
    from .data.registry import get_dataset_spec
    from .zoo import MODELS

    c = _campaign(campaign, overrides, num_examples)
    dataset = get_dataset_spec(dataset or c.campaign.datasets[0]).name
    entry = MODELS.get(model)
    RECIPES.entry(recipe)
    if defense != "none":
        from .defenses import DEFENSES

        DEFENSES.entry(defense)
    cell = Cell(dataset, model, defense, recipe, _cell_noise(model, entry.stochastic, noise, c, defense))
    return run_cell(c, cell, _results(results), checkpoint=Path(checkpoint) if checkpoint else None,
                    resources=resources, log=log)


run_attack = attack  # the package-level name: ``robustsnn.attack`` is the subpackage


def sweep_attack(model: str, recipe: str, knob: str, values: str | Sequence[Any], dataset: str | None = None,
                 noise: Any = None, campaign: Any = None, results: str | Path | None = None,
                 overrides: Sequence[str] = (), num_examples: int | None = None, defense: str = "none",
                 checkpoint: str | Path | None = None, log: Callable[[str], None] = print, *,
                 resources: Any = None,
                 on_record: Callable[[RunRecord], None] | None = None) -> list[RunRecord]:
    """The :func:`attack` cell run once per value of one threat knob (``robustsnn
    sweep-attack``), for robustness curves; return the run records in value order.

    ``knob``: a numeric ``[threat]`` key, e.g. ``"threat.max_modification_rate"`` or
    ``"threat.query_budget"`` (see :data:`robustsnn.campaign.sweep.KNOBS`); ``values``: its
    values, as numbers or comma-separated text (``"0.05,0.1,0.2"``). Each value runs under
    the campaign ``<campaign name>-sweep-<knob leaf>-<value>``
    (``adhoc-sweep-max_modification_rate-0.2``), in a folder of its own under ``results``,
    and resumes on its own. Every value is checked before the first runs; ``overrides``
    must not set the knob. Each record is handed to ``on_record`` as it comes; the other
    arguments are :func:`attack`'s.
    """
    from .campaign.sweep import check_knob, label, sweep_campaigns
    from .resources.offline import AttackResources

    check_knob(knob, overrides)
    runs = sweep_campaigns(_campaign(campaign, overrides, num_examples), knob, values)
    resources = resources or AttackResources()  # the swap's vectors, loaded once for every value
    log(f"sweep of {knob}: {len(runs)} runs of {runs[0][1].examples.num_examples} examples, as campaigns "
        + ", ".join(c.campaign.name for _, c in runs))
    records = []
    for value, c in runs:
        # Every value runs the same cell: its progress lines say which value they belong to.
        tagged = lambda line, v=value: log(f"[{label(knob, v)}] {line}")  # noqa: E731
        records.append(attack(model, recipe, dataset=dataset, noise=noise, campaign=c, defense=defense,
                              results=results, checkpoint=checkpoint, resources=resources, log=tagged))
        if on_record is not None:
            on_record(records[-1])
    return records


def run_campaign(path_or_campaign: Any, results: str | Path | None = None, overrides: Sequence[str] = (),
                 num_examples: int | None = None, *, resources: Any = None,
                 log: Callable[[str], None] = print,
                 on_record: Callable[[RunRecord], None] | None = None,
                 executor: str = "local", address: str | None = None,
                 workers: int | None = None) -> list[RunRecord]:
    """Run a whole campaign grid (``robustsnn campaign``); return the run records in grid
    order. ``path_or_campaign``: a shipped campaign's name (``"demo"``; the list:
    ``robustsnn list campaigns``), a campaign file or a Campaign. Each finished cell's
    record is also handed to ``on_record`` as it comes (the CLI prints it).

    ``executor``: ``"local"`` attacks the examples one after another in this process;
    ``"ray"`` spreads them over ``workers`` Ray actors (campaign/ray_executor.py; a local
    Ray runtime, or the cluster at ``address``: ``"auto"`` or ``"ray://host:port"``).
    The logs, and every number in them, are the same either way, and a campaign started
    with one executor resumes with the other."""
    from tqdm.auto import tqdm

    from .campaign.runner import LocalExecutor, run_cell
    from .campaign.spec import cells, transfer_cells
    from .campaign.transfer import run_transfer

    if path_or_campaign is None:
        raise UserError("run_campaign needs a campaign: a shipped name (e.g. demo), a file or a Campaign")
    if executor not in ("local", "ray"):
        raise UserError(f"unknown executor '{executor}' (choices: local, ray)")
    if executor == "local" and (address is not None or workers is not None):
        raise UserError("--address and --workers apply to --executor ray")
    c = _campaign(path_or_campaign, overrides, num_examples)
    grid, transfers = cells(c), transfer_cells(c)
    log(f"campaign {c.campaign.name}: {len(grid)} runs, {c.examples.num_examples} examples each"
        + (f", then {len(transfers)} transfer runs" if transfers else ""))
    if executor == "ray":
        from .campaign.ray_executor import RayExecutor

        runner: Any = RayExecutor(address, workers, log=log)
    else:
        runner = LocalExecutor(resources)  # counter-fitted vectors and masked LM, loaded once
    records = []
    # One bar for the whole grid: examples done of all (cells x examples), the cell in its label.
    bar = tqdm(total=len(grid) * c.examples.num_examples, unit="ex", desc=c.campaign.name, disable=None)
    try:
        for cell in grid:
            records.append(run_cell(c, cell, _results(results), log=log, executor=runner, progress=bar))
            if on_record is not None:
                on_record(records[-1])
    finally:
        bar.close()
        runner.close()
    for source, target in transfers:  # after the grid: they replay its logs
        records.append(run_transfer(c, source, target, _results(results), log=log))
        if on_record is not None:
            on_record(records[-1])
    return records


def transfer(source_model: str, recipe: str, target_model: str, dataset: str | None = None,
             noise: Any = None, source_noise: Any = None, campaign: Any = None,
             results: str | Path | None = None, overrides: Sequence[str] = (),
             num_examples: int | None = None, defense: str = "none",
             log: Callable[[str], None] = print) -> RunRecord:
    """Replay the final texts of the ``source_model`` x ``recipe`` run of ``campaign``
    (``robustsnn transfer``) against ``target_model``; return the transfer run record."""
    from .campaign.spec import Cell
    from .campaign.transfer import run_transfer, transfer_recipe
    from .data.registry import get_dataset_spec
    from .zoo import MODELS

    c = _campaign(campaign, overrides, num_examples)
    dataset = get_dataset_spec(dataset or c.campaign.datasets[0]).name
    noise_of = lambda model, mode, on: _cell_noise(model, MODELS.get(model).stochastic, mode, c, on)  # noqa: E731
    source = Cell(dataset, source_model, "none", recipe, noise_of(source_model, source_noise, "none"))
    target = Cell(dataset, target_model, defense, transfer_recipe(source), noise_of(target_model, noise, defense))
    return run_transfer(c, source, target, _results(results), log=log)


def table(results: str | Path | Sequence[str | Path] | None = None,
          out: str | Path | None = None, recount: bool = False) -> list[dict[str, Any]]:
    """Aggregate run records (``robustsnn table``): the rows, also written to ``out``
    (CSV, unrounded; default ``$ROBUSTSNN_RESULTS/paper/table2.csv``) and beside it as ``.md``.
    ``results``: one folder or several, searched recursively (default
    ``$ROBUSTSNN_RESULTS/attacks``). ``recount``: recover the unattackable examples of
    logs from before the candidate counts (analysis/recount.py; no model is queried)."""
    from .analysis.table import write_table
    from .paths import TABLE2_CSV, results_dir

    out = Path(out) if out else results_dir() / TABLE2_CSV
    return write_table(_folders(results), out, out.with_suffix(".md"), recount)


def _folders(results: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if results is None:
        return [_results(None)]
    if isinstance(results, (str, Path)):
        return [Path(results)]
    return [Path(r) for r in results]


def worst_case_table(results: str | Path | Sequence[str | Path] | None = None,
                     out: str | Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """The adaptive-evaluation tables (``robustsnn table --worst-case``): worst-case robust
    accuracy per deployed model, the k-curve, transfer rates and matched-subset success
    rates, computed from the run records under ``results``; written to ``out`` (default
    ``$ROBUSTSNN_RESULTS/adaptive/adaptive.csv``), its siblings and ``.md``. Returns the tables."""
    from .analysis.adaptive import write_adaptive
    from .paths import ADAPTIVE_CSV, results_dir

    return write_adaptive(_folders(results), Path(out) if out else results_dir() / ADAPTIVE_CSV)


def benchmark(model: str, dataset: str, defense: str = "none", checkpoint: str | Path | None = None,
              noise: str | None = None, evaluation: str = "standard-v1", num_examples: int | None = None,
              results: str | Path | None = None, **kwargs: Any) -> dict[str, Any]:
    """The standard adaptive evaluation of ``model`` on ``dataset`` (``robustsnn benchmark``;
    RobustBench's ``benchmark()``): every attack of ``evaluation`` against the model as
    deployed, its worst case with a 95% interval and flags; returns the model card (also
    written under ``<results>/benchmark/cards/``). See :func:`robustsnn.evaluation.run.benchmark`
    for the other arguments (``seed``: another training seed's checkpoints, ``executor``,
    ``workers``, ``resources``, ``log``)."""
    from .evaluation.run import benchmark as run_benchmark

    return run_benchmark(model, dataset, defense=defense, checkpoint=checkpoint, noise=noise, evaluation=evaluation,
                         num_examples=num_examples, results=results, **kwargs)
