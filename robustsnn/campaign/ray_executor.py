"""Attacking a campaign's examples on Ray actors (``robustsnn campaign FILE --executor ray``).

Each worker is a Ray actor that builds, once per cell, what the serial runner builds
(:class:`~.runner.CellWorker`: the model, the attack, the verdict model; the offline
resources once for all cells) and then attacks the examples it is handed, one at a
time, so a slow example never holds up a shard. This process stays the only writer of
every log (the runner holds its lock) and logs the rows in example order; an actor that
dies has its in-flight example handed to a fresh actor, and since a row is logged only
when it reaches this process, no example is ever logged twice.

Why the rows equal a serial run's: every example is attacked from a state seeded by the
campaign seed and its index, with every cache cleared after it (see CellWorker), and an
actor uses one torch thread per CPU it is given (one by default, as the serial runs:
summation order, and so the last bits of a float, can depend on the thread count).

What reaches a worker: nothing is shipped. The datasets, checkpoints, caches and offline
resources are found by path, so on a cluster they must lie on a filesystem every node
mounts at the same path; $ROBUSTSNN_DATA, $ROBUSTSNN_RESOURCES and $ROBUSTSNN_RUNS are
passed to the actors as absolute paths, and each actor checks them when it starts (one
line naming the node and the missing folder). The Python environment (robustsnn and its
dependencies) must be the same on every node, as Ray itself requires.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import UserError
from .spec import Campaign, Cell, Example

# How often one example may lose its actor before the campaign gives up on it.
MAX_RETRIES = 3


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("the ray executor needs Ray: pip install -e '.[ray]' (or --executor local)") from None
    return ray


def worker_environment() -> dict[str, str]:
    """The environment an actor needs, with every robustsnn folder as an absolute path."""
    from ..paths import DATA_ENV, RESOURCES_ENV, RESULTS_ENV, RUNS_ENV, data_dir, resources_dir, results_dir, runs_dir

    env = {DATA_ENV: str(data_dir().resolve()), RESOURCES_ENV: str(resources_dir().resolve()),
           RUNS_ENV: str(runs_dir().resolve()), RESULTS_ENV: str(results_dir().resolve())}
    for name in ("NLTK_DATA", "ROBUSTSNN_MLM", "HF_HOME", "TFHUB_CACHE_DIR"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


class _Worker:
    """The body of a Ray actor (wrapped with ``ray.remote`` by :class:`RayExecutor`)."""

    def __init__(self, cpus: int, resources: Any = None) -> None:
        import torch

        os.environ["OMP_NUM_THREADS"] = str(cpus)
        torch.set_num_threads(cpus)
        self.resources: Any = resources
        self.worker: Any = None

    def check(self, folders: dict[str, str]) -> str | None:
        """None, or what this node lacks."""
        import socket

        for name, folder in folders.items():
            if name != "ROBUSTSNN_RESULTS" and folder.startswith("/") and not Path(folder).is_dir():
                return (f"Ray worker on {socket.gethostname()}: ${name} = {folder} is not a folder there; "
                        "every node needs the data, resources and runs on a shared filesystem at the same path")
        return None

    def setup(self, campaign: Campaign, cell: Cell, checkpoint: str | None) -> dict[str, Any]:
        from ..resources.offline import AttackResources
        from .runner import CellWorker

        if self.resources is None:
            self.resources = AttackResources()
        try:
            self.worker = CellWorker(campaign, cell, Path(checkpoint) if checkpoint else None, self.resources,
                                     log=lambda m: print(m, flush=True))
        except UserError as exc:
            return {"error": str(exc)}
        w = self.worker
        return {"identity": w.identity, "described": w.described, "model": w.model,
                "verdict_draws": w.verdict_draws, "examples": w.examples}

    def attack(self, example: Example, early_stop: bool = True) -> dict[str, Any]:
        return self.worker.attack_example(example, early_stop)


class _Setup:
    """What the runner reads of a cell's workers (the same fields as a CellWorker's)."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.identity = summary["identity"]
        self.described = summary["described"]
        self.model = summary["model"]
        self.verdict_draws = summary["verdict_draws"]
        self.examples = summary["examples"]


class RayExecutor:
    """Spreads a cell's examples over ``workers`` Ray actors of ``cpus_per_worker`` CPUs
    each. ``address``: None starts a local Ray runtime on this machine; ``"auto"`` or
    ``"ray://host:port"`` joins a running cluster. ``resources``: an AttackResources
    shipped to every actor (tests give small ones); by default each actor loads its own
    from the shared paths, once for all cells."""

    def __init__(self, address: str | None = None, workers: int | None = None, cpus_per_worker: int = 1,
                 log: Callable[[str], None] = print, resources: Any = None) -> None:
        ray = import_ray()
        if workers is not None and workers < 1:
            raise UserError(f"--workers must be at least 1, got {workers}")
        if cpus_per_worker < 1:
            raise UserError(f"cpus per worker must be at least 1, got {cpus_per_worker}")
        self.ray, self.log, self.cpus, self.resources = ray, log, cpus_per_worker, resources
        self.env = worker_environment()
        self._started = False
        if not ray.is_initialized():
            options: dict[str, Any] = {"runtime_env": {"env_vars": self.env}, "include_dashboard": False,
                                       "logging_level": "ERROR"}
            if address is None:
                options["num_cpus"] = (workers or os.cpu_count() or 1) * cpus_per_worker
            else:
                options["address"] = address
            try:
                ray.init(**options)
            except ConnectionError as exc:
                raise UserError(f"cannot reach the Ray cluster at {address}: {exc}") from None
            self._started = True
        available = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, available // cpus_per_worker)
        self._actor_class = ray.remote(num_cpus=cpus_per_worker)(_Worker)
        self.actors = [self._new_actor() for _ in range(self.workers)]
        problems = [p for p in ray.get([a.check.remote(self.env) for a in self.actors]) if p]
        if problems:
            raise UserError(problems[0])
        log(f"ray: {self.workers} workers x {cpus_per_worker} CPU ({available} CPUs in the cluster)")
        self._cell: tuple[Campaign, Cell, str | None] | None = None

    def _new_actor(self) -> Any:
        return self._actor_class.remote(self.cpus, self.resources)

    def setup(self, campaign: Campaign, cell: Cell, checkpoint: Path | None,
              log: Callable[[str], None]) -> _Setup:
        """Build the cell on every actor; all must agree on what they run."""
        self._cell = (campaign, cell, str(Path(checkpoint).resolve()) if checkpoint else None)
        calls = [a.setup.remote(*self._cell) for a in self.actors]
        summaries = []
        for actor, call in zip(list(self.actors), calls):
            try:
                summary = self.ray.get(call)
            except self.ray.exceptions.RayActorError:  # died since the last cell: replace it
                self.log("ray: a worker died between cells; starting a new one")
                _, summary = self._replace(actor)
            if "error" in summary:
                raise UserError(summary["error"])
            summaries.append(summary)
        first = summaries[0]
        for other in summaries[1:]:
            if other["identity"] != first["identity"]:
                raise UserError(f"{cell.key}: the Ray workers built different experiments (another checkpoint, "
                                "dataset or resource on some node); every node needs the same files")
        return _Setup(first)

    def attack(self, examples: list[Example], early_stop: bool = True) -> Iterator[dict[str, Any]]:
        """The rows of ``examples`` in their order, each as soon as it and every example
        before it are done; an example whose actor died is attacked again elsewhere
        (``early_stop``: see :meth:`.runner.CellWorker.attack_example`)."""
        ray = self.ray
        queue, idle = deque(examples), list(self.actors)
        pending: dict[Any, tuple[Any, Example]] = {}
        finished: dict[int, dict[str, Any]] = {}
        retries: dict[int, int] = {}
        position = 0
        while queue or pending:
            while idle and queue:
                actor, example = idle.pop(), queue.popleft()
                pending[actor.attack.remote(example, early_stop)] = (actor, example)
            [ready], _ = ray.wait(list(pending), num_returns=1)
            actor, example = pending.pop(ready)
            try:
                finished[example.index] = ray.get(ready)
                idle.append(actor)
            except ray.exceptions.RayActorError:
                retries[example.index] = retries.get(example.index, 0) + 1
                if retries[example.index] > MAX_RETRIES:
                    raise UserError(f"example {example.index} lost its Ray worker {MAX_RETRIES + 1} times; "
                                    "stopping (the log holds every example finished so far)") from None
                self.log(f"ray: a worker died attacking example {example.index}; retrying it on a new worker")
                fresh, summary = self._replace(actor)
                if "error" in summary:
                    raise UserError(summary["error"]) from None
                idle.append(fresh)
                queue.appendleft(example)
            while position < len(examples) and examples[position].index in finished:
                yield finished.pop(examples[position].index)
                position += 1

    def _replace(self, dead: Any) -> tuple[Any, dict[str, Any]]:
        """A fresh actor in place of ``dead``, and its setup for the current cell."""
        actor = self._new_actor()
        self.actors[self.actors.index(dead)] = actor
        return actor, self.ray.get(actor.setup.remote(*self._cell))

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self._started:
            self.ray.shutdown()
