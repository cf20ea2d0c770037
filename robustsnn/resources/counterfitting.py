"""Counter-fitting word vectors to linguistic constraints (Mrksic et al., NAACL 2016).

TextAttack's published counter-fitted vectors (``paragramcf``) cannot be downloaded
offline, so the offline default builds them here from GloVe and the paper's own
synonym/antonym lists (shared/resources/counter-fitting). The cost the paper
minimises over unit vectors V' (d = cosine distance, tau(x) = max(0, x)):

    k1 * sum_{(u,w) in antonyms} tau(delta - d(v'_u, v'_w))          antonym repel
  + k2 * sum_{(u,w) in synonyms} tau(d(v'_u, v'_w) - gamma)          synonym attract
  + k3 * sum_i sum_{j in N(i)} tau(d(v'_i, v'_j) - d(v_i, v_j))      vector-space preservation

with N(i) the words within cosine distance rho of i in the ORIGINAL space. As in
the authors' code: 20 full-batch steps; each word moves by the mean of its active
terms' (tangent) gradients ``u (u.v) - v``, then every vector is renormalised;
pairs that are both synonyms and antonyms count as antonyms only.

One deliberate difference from the authors' script: it stored each VSP pair as
(i, j) and, by a typo, (j, j), so only one word of each neighbour pair was held in
place. The paper's sum runs over both; so does this code.

Pure numpy/torch, vectorised; no TextAttack.
"""

from __future__ import annotations

import configparser
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import UserError

ITERATIONS = 20  # "20 iterations of SGD" (paper, section 3; max_iter in the authors' code)


@dataclass(frozen=True)
class CounterfitParams:
    k1: float = 0.1  # antonym repel weight
    k2: float = 0.1  # synonym attract weight
    k3: float = 0.1  # vector-space preservation weight
    delta: float = 1.0  # antonyms are pushed until their cosine distance reaches delta
    gamma: float = 0.0  # synonyms are pulled until their cosine distance falls to gamma
    rho: float = 0.2  # VSP neighbourhood: cosine distance <= rho in the original space
    iterations: int = ITERATIONS


def read_params(cfg: Path) -> CounterfitParams:
    """The ``[hyperparameters]`` section of the authors' ``experiment_parameters.cfg``."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    if not parser.read(cfg, encoding="utf-8"):
        raise UserError(f"counter-fitting parameters not found: {cfg}")
    try:
        section = parser["hyperparameters"]
        return CounterfitParams(
            k1=section.getfloat("hyper_k1"), k2=section.getfloat("hyper_k2"),
            k3=section.getfloat("hyper_k3"), delta=section.getfloat("delta"),
            gamma=section.getfloat("gamma"), rho=section.getfloat("rho"),
        )
    except (KeyError, ValueError) as exc:
        raise UserError(f"{cfg}: bad [hyperparameters] section ({exc})") from None


def read_word_pairs(path: Path) -> list[tuple[str, str]]:
    """Whitespace-separated word pairs, one per line (blank lines skipped)."""
    if not path.is_file():
        raise UserError(f"linguistic constraints file not found: {path}")
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2:
                pairs.append((parts[0], parts[1]))
    return pairs


def pair_indices(pairs: Sequence[tuple[str, str]], index: Mapping[str, int]) -> np.ndarray:
    """Directed index pairs, both orders, both words in the vocabulary, no self pairs;
    sorted and unique, so the result does not depend on file order."""
    rows = [(index[a], index[b]) for a, b in pairs if a in index and b in index and a != b]
    if not rows:
        return np.zeros((0, 2), dtype=np.int64)
    arr = np.asarray(rows, dtype=np.int64)
    return np.unique(np.concatenate([arr, arr[:, ::-1]]), axis=0)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit rows (the +1e-6 keeps an all-zero vector finite, as in the authors' code)."""
    v = np.asarray(vectors, dtype=np.float32)
    return (v / np.sqrt((v.astype(np.float64) ** 2).sum(1, keepdims=True) + 1e-6)).astype(np.float32)


def close_pairs(vectors: np.ndarray, rho: float, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """All directed pairs (i, j), i != j, with cosine distance <= rho, and those distances.

    Blocked over the upper triangle of the similarity matrix (half the work of the
    full one); ``vectors`` must have unit rows.
    """
    import torch

    v = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    n = v.shape[0]
    found_i, found_j, found_d = [], [], []
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = v[start:stop] @ v[start:].T  # columns are words start..n-1
        r, c = torch.nonzero(sims >= 1.0 - rho, as_tuple=True)
        upper = c > r  # column c is word start + c: keep each pair once, drop the word itself
        r, c = r[upper], c[upper]
        found_i.append((r + start).numpy())
        found_j.append((c + start).numpy())
        found_d.append((1.0 - sims[r, c]).numpy())
    i = np.concatenate(found_i) if found_i else np.zeros(0, np.int64)
    j = np.concatenate(found_j) if found_j else np.zeros(0, np.int64)
    d = np.concatenate(found_d) if found_d else np.zeros(0, np.float32)
    pairs = np.concatenate([np.stack([i, j], 1), np.stack([j, i], 1)]).astype(np.int64)
    return pairs, np.concatenate([d, d]).astype(np.float32)


def _drop(pairs: np.ndarray, remove: np.ndarray, extra: np.ndarray | None = None):
    """Rows of ``pairs`` (and the matching ``extra``) that are not rows of ``remove``."""
    if len(pairs) == 0 or len(remove) == 0:
        return (pairs, extra) if extra is not None else pairs
    n = int(max(pairs.max(), remove.max())) + 1
    keep = ~np.isin(pairs[:, 0] * n + pairs[:, 1], remove[:, 0] * n + remove[:, 1])
    return (pairs[keep], extra[keep]) if extra is not None else pairs[keep]


def counterfit(
    vectors: np.ndarray,
    synonyms: np.ndarray,
    antonyms: np.ndarray,
    params: CounterfitParams,
    log: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Counter-fit ``vectors`` (N x D) to directed index pairs; returns unit vectors
    and the pair counts. Deterministic: full-batch steps, CPU scatter-adds."""
    import torch

    v0 = normalise(vectors)
    synonyms = _drop(synonyms, antonyms)
    if params.k3 > 0:
        vsp, vsp_dist = close_pairs(v0, params.rho)
        vsp, vsp_dist = _drop(vsp, antonyms, vsp_dist)
    else:
        vsp, vsp_dist = np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    counts = {"words": int(v0.shape[0]), "synonym_pairs": len(synonyms) // 2,
              "antonym_pairs": len(antonyms) // 2, "vsp_pairs": len(vsp) // 2}
    if log:
        log(f"counter-fitting {counts['words']} words: {counts['antonym_pairs']} antonym, "
            f"{counts['synonym_pairs']} synonym, {counts['vsp_pairs']} VSP pairs (undirected)")

    v = torch.from_numpy(v0.copy())
    ant = torch.from_numpy(antonyms)
    syn = torch.from_numpy(synonyms)
    near = torch.from_numpy(vsp)
    near_d0 = torch.from_numpy(vsp_dist)
    for _ in range(params.iterations):
        step = torch.zeros_like(v)
        active = torch.zeros(v.shape[0], dtype=torch.float32)
        # Each term moves the FIRST word of a directed pair; the pair lists hold both
        # orders, so both words move. grad = u (u.w) - w is d(cos distance)/du on the sphere.
        for pairs, sign, weight, on in (
            (ant, +1.0, params.k1, lambda dist: dist < params.delta),  # ascend: repel
            (syn, -1.0, params.k2, lambda dist: dist > params.gamma),  # descend: attract
            (near, -1.0, params.k3, lambda dist: dist > near_d0),  # descend: preserve
        ):
            if len(pairs) == 0 or weight == 0:
                continue
            u, w = v[pairs[:, 0]], v[pairs[:, 1]]
            dot = (u * w).sum(1)
            mask = on(1.0 - dot)
            grad = u * dot[:, None] - w
            idx = pairs[:, 0][mask]
            step.index_add_(0, idx, sign * weight * grad[mask])
            active.index_add_(0, idx, torch.ones(len(idx)))
        v = v + step / active.clamp(min=1.0)[:, None]
        v = v / torch.sqrt((v.double() ** 2).sum(1, keepdim=True) + 1e-6).float()
    return v.numpy().astype(np.float32), counts


def nearest_neighbours(vectors: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """Top-k cosine neighbours of every row: an (N, k + 1) int32 matrix whose column
    0 is the word itself, the layout TextAttack's ``WordEmbedding.nn_matrix`` expects.
    ``vectors`` must have unit rows. k is capped at N - 1."""
    import torch

    v = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    n = v.shape[0]
    k = min(k, n - 1)
    out = np.empty((n, k + 1), dtype=np.int32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = v[start:stop] @ v.T
        rows = torch.arange(stop - start)
        sims[rows, rows + start] = 3.0  # the word itself first, even beside a duplicate vector
        out[start:stop] = sims.topk(k + 1, dim=1).indices.numpy()
    return out


def simlex_spearman(vectors: np.ndarray, index: Mapping[str, int], simlex: Path) -> tuple[float, int]:
    """Spearman's rho between SimLex-999 scores and cosine similarities, over the
    pairs whose two words are in ``index`` (as the authors scored); and that count."""
    from scipy.stats import spearmanr

    if not simlex.is_file():
        raise UserError(f"SimLex-999 file not found: {simlex}")
    gold, ours = [], []
    unit = normalise(vectors)
    with open(simlex, encoding="utf-8") as handle:
        next(handle)  # header
        for line in handle:
            parts = line.split("\t")
            if len(parts) >= 4 and parts[0] in index and parts[1] in index:
                gold.append(float(parts[3]))
                ours.append(float(unit[index[parts[0]]] @ unit[index[parts[1]]]))
    if len(gold) < 2:
        return float("nan"), len(gold)
    return float(spearmanr(gold, ours).statistic), len(gold)


@dataclass(frozen=True)
class ConstraintFiles:
    """Where the authors' linguistic constraints live (shared/resources/counter-fitting)."""

    root: Path

    @property
    def params(self) -> Path:
        return self.root / "experiment_parameters.cfg"

    @property
    def vocabulary(self) -> Path:
        return self.root / "vocabulary.txt"

    @property
    def synonyms(self) -> list[Path]:
        return [self.root / "ppdb_synonyms.txt"]

    @property
    def antonyms(self) -> list[Path]:
        return [self.root / "ppdb_antonyms.txt", self.root / "wordnet_antonyms.txt"]

    @property
    def simlex(self) -> Path:
        return self.root / "SimLex-999.txt"

    def all(self) -> list[Path]:
        return [self.params, self.vocabulary, *self.synonyms, *self.antonyms]


@dataclass(frozen=True)
class CounterfitResult:
    words: list[str]
    vectors: np.ndarray  # float32 unit rows
    info: dict


def run_counterfitting(
    words: Sequence[str], vectors: np.ndarray, files: ConstraintFiles,
    log: Callable[[str], None] | None = None,
) -> CounterfitResult:
    """The authors' experiment: restrict the vectors to their vocabulary, counter-fit,
    and score SimLex-999 before and after."""
    params = read_params(files.params)
    if not files.vocabulary.is_file():
        raise UserError(f"counter-fitting vocabulary not found: {files.vocabulary}")
    wanted = set(files.vocabulary.read_text(encoding="utf-8").split())
    keep: dict[str, int] = {}
    for row, word in enumerate(words):  # pre-trained order (GloVe: by frequency); first copy wins
        if word in wanted and word not in keep:
            keep[word] = row
    if len(keep) < 2:
        raise UserError("fewer than two words of the counter-fitting vocabulary have vectors")
    kept_words = list(keep)
    index = {w: i for i, w in enumerate(kept_words)}
    base = normalise(np.asarray(vectors)[list(keep.values())])
    synonyms = pair_indices([p for f in files.synonyms for p in read_word_pairs(f)], index)
    antonyms = pair_indices([p for f in files.antonyms for p in read_word_pairs(f)], index)

    start = time.perf_counter()
    fitted, counts = counterfit(base, synonyms, antonyms, params, log)
    seconds = time.perf_counter() - start
    info: dict = {"params": asdict(params), **counts, "counterfit_seconds": round(seconds, 2)}
    if files.simlex.is_file():
        before, n_pairs = simlex_spearman(base, index, files.simlex)
        after, _ = simlex_spearman(fitted, index, files.simlex)
        info.update(simlex_before=before, simlex_after=after, simlex_pairs=n_pairs)
        if log:
            log(f"SimLex-999 Spearman rho over {n_pairs} pairs: {before:.3f} before, "
                f"{after:.3f} after counter-fitting ({seconds:.1f} s)")
    return CounterfitResult(kept_words, fitted, info)
