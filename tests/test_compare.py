"""The SNN-against-TextCNN comparison under Table 2: the paper's claim per cell."""

from robustsnn.analysis.compare import compare, render_comparison


def row(model, noise, boa, suc, recipe="pwws", dataset="sst2", complete=True, **extra):
    return {"campaign": "c", "dataset": dataset, "recipe": recipe, "defense": "none", "protocol": "shared-swap",
            "query_cache": True, "model": model, "noise": noise, "accuracy_under_attack": boa,
            "attack_success_rate": suc, "complete": complete, **extra}


def test_the_claim_needs_higher_boa_and_lower_suc_in_every_noise_mode():
    rows = [
        row("textcnn", "none", 0.20, 0.70),
        row("snn", "fresh", 0.30, 0.60), row("snn", "frozen", 0.25, 0.65), row("snn", "mean-20", 0.22, 0.72),
        row("textcnn", "none", 0.40, 0.50, recipe="textfooler"),
        row("snn", "fresh", 0.45, 0.45, recipe="textfooler"),
        row("snn", "frozen", 0.50, 0.40, recipe="textfooler", complete=False),
        row("textcnn", "none", 0.1, 0.9, dataset="mr"),  # no SNN row: not compared
        row("snn-converted", "fresh", 0.9, 0.1, dataset="mr"),  # not the model the claim is about
    ]
    found, modes = compare(rows)
    assert modes == ["fresh", "frozen", "mean-20"]
    by_recipe = {c["recipe"]: c for c in found}
    assert set(by_recipe) == {"pwws", "textfooler"}
    pwws = by_recipe["pwws"]
    # Boa is higher in every mode, but mean-20's Suc is not lower: the claim does not hold.
    assert not pwws["holds"] and pwws["worst_noise"] == "mean-20"
    assert abs(pwws["delta_boa"] - 0.02) < 1e-12
    assert by_recipe["textfooler"]["holds"] and not by_recipe["textfooler"]["complete"]

    md = render_comparison(rows)
    pwws_line = next(line for line in md.splitlines() if "| pwws" in line)
    cells = [c.strip() for c in pwws_line.strip("|").split("|")]
    assert cells == ["c", "sst2", "pwws", "none", "20.0 / 70.0", "30.0 / 60.0", "25.0 / 65.0", "22.0 / 72.0",
                     "22.0 (mean-20)", "+2.0", "no"]
    tf_line = next(line for line in md.splitlines() if "| textfooler" in line)
    assert [c.strip() for c in tf_line.strip("|").split("|")][4:] == [
        "40.0 / 50.0", "45.0 / 45.0", "50.0 / 40.0*", "", "45.0 (fresh)", "+5.0", "yes*"]
    assert "- c, sst2: holds for 1 of 2 recipes" in md
    assert render_comparison([row("textcnn", "none", 0.2, 0.7)]) == ""
