"""The SNN against the TextCNN it comes from, cell by cell: the paper's claim, checked.

The paper says "the SNNs consistently perform better than the original neural networks
under all four attack algorithms in both the robust accuracy and attack success rate".
For every (campaign, dataset, recipe, defense, protocol, query cache) that has both a
``textcnn`` row and at least one ``snn`` row in Table 2, this lists both models' Boa
and Suc, the SNN's worst Boa over its noise modes (a robustness claim is a worst case),
and whether the claim holds there.

Every comparison is paired over the same examples: for each SNN noise mode, the examples
both runs attacked (by ``index``) are paired, and the difference in the share robust
under attack is given with its 95% interval and the exact McNemar p-value
(:func:`..stats.paired_comparison`). "Robust under attack" is the single-draw outcome that
Boa counts (the attack failed, unattackable included; TextAttack's numbers, as in the
paper's Table 2): for a stochastic SNN that is the draw the attack saw, not the R-draw
verdict, so the paired rates are the Boa column's (equal to it where both runs covered
the same examples). The claim holds in a cell only where, in every SNN noise mode run,
the SNN is ahead on Boa by a significant paired gap (McNemar p < :data:`ALPHA`) and its
Suc is lower; it is refuted where the TextCNN is significantly ahead in some mode; in
between it is "within noise". Per (campaign, dataset) the recipes are counted by these
verdicts, and, beside them, by the point estimates alone (the rule before intervals).
The R-draw verdicts stay in the main table.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..campaign.spec import TRANSFER_PREFIX
from ..noise import sort_key as noise_sort_key
from ..records.metrics import percent as _pct
from ..stats import PairedComparison, paired_comparison
from ..stats import _p_text as p_text

BASE, SPIKING = "textcnn", "snn"
_GROUP = ("campaign", "dataset", "recipe", "defense", "protocol", "query_cache")
ALPHA = 0.05  # significance level of every paired verdict
CONFIDENCE = 0.95
# The row keys (not CSV columns) holding each example's outcome, {index: robust under
# attack}, by the single draw the attack saw (what Boa counts) and by the R-draw verdict
# (what Boa_R counts; a deterministic model's single answer); analysis/table.py fills them.
ROBUST_BY_INDEX = "robust_by_index"
VERDICT_ROBUST_BY_INDEX = "verdict_robust_by_index"

# Verdicts of a cell.
HOLDS, WITHIN_NOISE, REFUTED, SUC_NOT_LOWER, UNPAIRED = "yes", "within noise", "no", "no (Suc)", "unpaired"


def paired_boa(snn: dict[str, Any], base: dict[str, Any], key: str = ROBUST_BY_INDEX) -> PairedComparison | None:
    """SNN (A) against TextCNN (B) on the examples both runs attacked: the paired
    difference in the share robust under attack (``key``: by the single draw, or by the
    R-draw verdict). None when a row carries no such outcomes or the runs share none."""
    a, b = snn.get(key), base.get(key)
    if a is None or b is None:
        return None
    common = sorted(set(a) & set(b))
    if not common:
        return None
    return paired_comparison([a[i] for i in common], [b[i] for i in common], confidence=CONFIDENCE, alpha=ALPHA)


def _verdict(snn: dict[str, dict[str, Any]], base: dict[str, Any],
             paired: dict[str, PairedComparison | None]) -> str:
    if any(p is None for p in paired.values()):
        return UNPAIRED
    if any(p.significant and p.difference < 0 for p in paired.values()):
        return REFUTED
    if not all(p.significant and p.difference > 0 for p in paired.values()):
        return WITHIN_NOISE
    if not all(r["attack_success_rate"] < base["attack_success_rate"] for r in snn.values()):
        return SUC_NOT_LOWER
    return HOLDS


def compare(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """One comparison per group with both models (in the table's order) and the SNN noise
    modes found, in a fixed order. Each comparison has ``paired`` ({noise mode:
    :class:`PairedComparison`} by the single draw), ``paired_verdict`` (the same by the
    SNN's R-draw verdict, None where there is none; not part of the verdict), ``verdict``
    (yes / within noise / no / no (Suc) / unpaired), ``holds`` (the verdict is yes) and
    ``holds_point`` (the rule on point estimates alone: higher Boa and lower Suc in every
    mode)."""
    groups: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        if r["model"] not in (BASE, SPIKING) or r["recipe"].startswith(TRANSFER_PREFIX):
            continue
        g = groups.setdefault(tuple(r[k] for k in _GROUP), {"base": None, "snn": {}})
        if r["model"] == BASE:
            g["base"] = r
        else:
            g["snn"][r["noise"]] = r
    modes = sorted({n for g in groups.values() if g["base"] for n in g["snn"]}, key=noise_sort_key)
    out = []
    for key, g in groups.items():
        base, snn = g["base"], g["snn"]
        if base is None or not snn:
            continue
        boa = {n: r["accuracy_under_attack"] for n, r in snn.items()}
        holds_point = all(r["accuracy_under_attack"] > base["accuracy_under_attack"]
                          and r["attack_success_rate"] < base["attack_success_rate"] for r in snn.values())
        ordered = sorted(snn.items(), key=lambda item: noise_sort_key(item[0]))
        paired = {n: paired_boa(r, base) for n, r in ordered}
        paired_verdict = {n: paired_boa(r, base, VERDICT_ROBUST_BY_INDEX) for n, r in ordered}
        verdict = _verdict(snn, base, paired)
        worst = min(boa, key=lambda n: boa[n])
        out.append({**dict(zip(_GROUP, key)), "base": base, "snn": snn, "worst_noise": worst,
                    "worst_boa": boa[worst], "delta_boa": boa[worst] - base["accuracy_under_attack"],
                    "paired": paired, "paired_verdict": paired_verdict, "verdict": verdict,
                    "holds": verdict == HOLDS, "holds_point": holds_point,
                    "complete": base["complete"] and all(r["complete"] for r in snn.values())})
    return out, modes


def _pair(r: dict[str, Any] | None) -> str:
    if r is None:
        return ""
    return f"{_pct(r['accuracy_under_attack'])} / {_pct(r['attack_success_rate'])}" + ("" if r["complete"] else "*")


def _points(x: float) -> str:
    return f"{round(100 * x, 1) + 0.0:+.1f}"


def p_cell(p_value: float, alpha: float = ALPHA) -> str:
    """A p-value for a table cell as the verdict lines give it (two significant digits,
    more where two would round across alpha), without the ``p =``: ``0.18``, ``< 0.001``."""
    text = p_text(p_value, alpha)
    return text[len("p = "):] if text.startswith("p = ") else text[len("p "):]


def _p(p: PairedComparison | None) -> str:
    return "-" if p is None else p_cell(p.p_value, p.alpha)


def _gap(p: PairedComparison | None) -> str:
    """``+2.2 [-0.8, 5.2]``: the paired difference and its interval, in points."""
    if p is None:
        return "-"
    return f"{_points(p.difference)} [{_points(p.ci_low)}, {_points(p.ci_high)}]"


def _mode_verdict(p: PairedComparison | None) -> str:
    if p is None:
        return UNPAIRED
    if not p.significant:
        return WITHIN_NOISE
    return "SNN ahead" if p.difference > 0 else "TextCNN ahead"


def render_comparison(rows: Sequence[dict[str, Any]]) -> str:
    """The comparison as a Markdown section ('' when no group has both models)."""
    from tabulate import tabulate

    found, modes = compare(rows)
    if not found:
        return ""
    level = f"{CONFIDENCE * 100:g}%"
    headers = ["campaign", "dataset", "recipe", "defense", "TextCNN Boa / Suc",
               *(f"SNN {m} Boa / Suc" for m in modes), "SNN worst Boa", f"ΔBoa [{level} CI]", "p", "SNN better"]
    body = []
    for c in found:
        worst = c["paired"].get(c["worst_noise"])
        body.append([c["campaign"], c["dataset"], c["recipe"], c["defense"], _pair(c["base"]),
                     *(_pair(c["snn"].get(m)) for m in modes),
                     f"{_pct(c['worst_boa'])} ({c['worst_noise']})", _gap(worst), _p(worst),
                     c["verdict"] + ("" if c["complete"] else "*")])
    detail = []
    for c in found:
        for mode, p in c["paired"].items():
            r = c["paired_verdict"][mode]
            detail.append([c["campaign"], c["dataset"], c["recipe"], c["defense"], mode,
                           "-" if p is None else p.n,
                           "-" if p is None else _pct(p.a_rate), "-" if p is None else _pct(p.b_rate),
                           _gap(p), "-" if p is None else f"{p.b} / {p.c}", _p(p), _mode_verdict(p),
                           "-" if r is None else _pct(r.a_rate), _gap(r), _p(r),
                           "-" if r is None else _mode_verdict(r)])
    tally: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in found:
        tally.setdefault((c["campaign"], c["dataset"]), []).append(c)
    lines = []
    for (campaign, dataset), cells in tally.items():
        count = {v: sum(c["verdict"] == v for c in cells) for v in (HOLDS, WITHIN_NOISE, REFUTED, SUC_NOT_LOWER,
                                                                       UNPAIRED)}
        others = [f"within noise for {count[WITHIN_NOISE]}", f"the TextCNN significantly ahead for {count[REFUTED]}"]
        if count[SUC_NOT_LOWER]:
            others.append(f"Boa significantly ahead but Suc not lower for {count[SUC_NOT_LOWER]}")
        if count[UNPAIRED]:
            others.append(f"no paired outcomes for {count[UNPAIRED]}")
        lines.append(f"- {campaign}, {dataset}: holds for {count[HOLDS]} of {len(cells)} recipes "
                     f"({'; '.join(others)}; by point estimates alone {sum(c['holds_point'] for c in cells)} "
                     f"of {len(cells)})")
    return "\n".join([
        "## The SNN against the TextCNN (the paper's claim, cell by cell)", "",
        "Paired over the same examples: for each SNN noise mode, the examples both runs attacked "
        "are paired by index, and each model's per-example outcome is the single-draw one that Boa "
        "counts (robust = the attack failed; for the Poisson SNN the draw the attack saw, not the "
        "R-draw verdict, as in the paper's Table 2). ΔBoa = SNN minus TextCNN in points, with "
        f"Newcombe's {level} interval for paired rates; p = exact McNemar test on the examples the "
        "two models disagree on. \"SNN better\": yes = in every SNN noise mode run the SNN is ahead "
        f"by a significant paired gap (p < {ALPHA:g}) and its Suc is lower; no = the TextCNN is "
        "significantly ahead in some mode; within noise = neither; no (Suc) = Boa significantly ahead "
        "but Suc not lower. The main table shows the worst SNN mode (lowest Boa); every mode is "
        "below. The tally counts only significant verdicts. * = a run not complete.", "",
        tabulate(body, headers=headers, tablefmt="github", disable_numparse=True), "",
        *lines, "",
        "### Paired differences, every SNN noise mode", "",
        "N = examples both runs attacked; SNN / TextCNN Boa over those examples; only SNN / only "
        "TextCNN = examples only that model survives (McNemar's discordant pairs). The last four "
        "columns compare the same way the SNN's R-draw verdict (Boa_R: the majority right on the clean "
        "and on the final text) with the TextCNN (deterministic: its one answer); they are not part of "
        "\"SNN better\", which is the paper's single-draw measure.", "",
        tabulate(detail, headers=["campaign", "dataset", "recipe", "defense", "SNN noise", "N", "SNN Boa",
                                  "TextCNN Boa", f"ΔBoa [{level} CI]", "only SNN / only TextCNN", "p",
                                  "verdict", "SNN Boa_R", f"ΔBoa_R [{level} CI]", "p_R", "verdict_R"],
                 tablefmt="github", disable_numparse=True), ""])
