"""The Ray executor: the same logs as a serial run, resumable across executors, and an
actor that dies loses nothing and duplicates nothing."""

import pytest

from attack_toys import require_textattack, textattack_fixture, toy_embedding

require_textattack()
ray = pytest.importorskip("ray")

from robustsnn.campaign.runner import LocalExecutor, cell_paths, run_cell  # noqa: E402
from robustsnn.campaign.spec import Cell, campaign_from_dict  # noqa: E402
from robustsnn.records.log import read_log  # noqa: E402
from robustsnn.resources import AttackResources  # noqa: E402

# The SNN with fresh draws: every query a new draw, so a row equals the serial one only
# if each example's randomness is seeded by its index, wherever it runs.
CELL = Cell("sst2", "snn-converted", "none", "pwws", "fresh")
TIMING = ("seconds",)


@pytest.fixture(scope="module")
def textattack(tmp_path_factory):
    yield from textattack_fixture(tmp_path_factory)


def campaign(n):
    return campaign_from_dict({
        "campaign": {"name": "toy", "models": ["snn-converted"], "recipes": ["pwws"], "noise": ["fresh"], "seed": 5},
        "examples": {"num_examples": n},
        "threat": {"candidates": 3, "max_modification_rate": 0.5, "similarity": 0.0},
        "verdict": {"draws": 9},
    })


def rows_of(results, n):
    csv_path, _ = cell_paths(results, campaign(n), CELL)
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_log(csv_path)]


def test_a_ray_run_logs_what_a_serial_run_logs_and_resumes_across_executors(tiny_net, textattack, tmp_path):
    from robustsnn.campaign.ray_executor import RayExecutor

    resources = lambda: AttackResources(embedding=toy_embedding())  # noqa: E731
    run = lambda results, n, executor: run_cell(campaign(n), CELL, results, checkpoint=tiny_net.converted,  # noqa: E731
                                                log=lambda _: None, executor=executor)
    run(tmp_path / "serial", 12, LocalExecutor(resources()))
    run(tmp_path / "mixed", 5, LocalExecutor(resources()))  # started serially ...
    executor = RayExecutor(workers=2, resources=resources(), log=lambda _: None)
    try:
        assert len(executor.actors) == 2
        run(tmp_path / "ray", 12, executor)
        run(tmp_path / "mixed", 12, executor)  # ... finished on Ray
        # An actor dies between cells: a new one takes its place.
        first = executor.actors[0]
        ray.kill(first)
        run(tmp_path / "killed", 6, executor)
        assert first not in executor.actors and len(executor.actors) == 2
        # An actor dies mid-cell, with an example in flight: the example goes to a new
        # actor, nothing is lost or logged twice.
        attack, killed = executor.attack, []

        def attack_and_kill(examples):
            for row in attack(examples):
                if not killed:
                    killed.append(executor.actors[0])
                    ray.kill(killed[0])
                yield row

        messages = []
        executor.attack, executor.log = attack_and_kill, messages.append
        run(tmp_path / "killed", 12, executor)
        assert killed and killed[0] not in executor.actors
        assert any("retrying it on a new worker" in m for m in messages)
    finally:
        executor.close()
    serial = rows_of(tmp_path / "serial", 12)
    assert len(serial) == 12 and {r["result"] for r in serial} >= {"successful"}
    assert {r["verdict_draws"] for r in serial} == {"9"}
    for name in ("ray", "mixed", "killed"):
        assert rows_of(tmp_path / name, 12) == serial, name  # same rows, same order
    back = LocalExecutor(resources())  # and a Ray log resumes serially: nothing left to do
    record = run(tmp_path / "ray", 12, back)
    assert record.complete and record.metrics["n"] == 12


def test_the_executor_options_are_checked():
    from robustsnn.api import run_campaign
    from robustsnn.errors import UserError

    with pytest.raises(UserError, match="unknown executor 'spark'"):
        run_campaign(campaign(2), executor="spark")
    with pytest.raises(UserError, match="--address and --workers apply to --executor ray"):
        run_campaign(campaign(2), workers=2)
