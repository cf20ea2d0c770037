"""Counter-fitted vectors for the word-swap attacks: built once locally, then cached.

The cache folder ``$ROBUSTSNN_RUNS/cache/counterfitted/<source>-<digest>/`` holds
``counterfitted.npz`` (words, unit vectors, nearest-neighbour matrix) and
``info.json`` (parameters, pair counts, SimLex-999 before/after, timings). The digest
covers the input vectors, the constraint files and the algorithm version, so a
change to any of them builds a new folder instead of reusing a stale one. Files are
written atomically; ``info.json`` last, so a folder without it is incomplete.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..embeddings import WordVectors, load_glove_50d
from ..errors import UserError
from ..io_utils import atomic_write, atomic_write_json
from ..paths import cache_dir, resources_dir
from .counterfitting import ConstraintFiles, nearest_neighbours, run_counterfitting

# Neighbours stored per word: K = 50 campaigns (TextDefender) with headroom.
NN_K = 100
# Bump when the algorithm or the file layout changes: old caches are then ignored.
ALGORITHM_VERSION = 1


@dataclass(frozen=True)
class CounterfittedVectors:
    words: list[str]
    vectors: np.ndarray  # float32, unit rows
    nn: np.ndarray  # int32 [len(words), K + 1]; column 0 is the word itself
    info: dict[str, Any]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _digest(vectors: WordVectors, files: ConstraintFiles) -> str:
    h = hashlib.sha256()
    h.update(f"counterfit-v{ALGORITHM_VERSION}\n".encode())
    h.update("\n".join(vectors.words).encode("utf-8"))
    h.update(np.ascontiguousarray(vectors.vectors, dtype=np.float32).tobytes())
    for path in files.all():
        if not path.is_file():
            raise UserError(f"counter-fitting resource missing: {path} "
                            "(see shared/resources/README.md, folder counter-fitting/)")
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(path, write)


def _neighbours(folder: Path, data: CounterfittedVectors, k: int, log: Callable[[str], None]) -> np.ndarray:
    """The stored neighbour matrix, or a wider one (cached beside it) for k > NN_K."""
    if data.nn.shape[1] - 1 >= min(k, len(data.words) - 1):
        return data.nn
    extra = folder / f"nn-{k}.npy"
    if extra.is_file():
        return np.load(extra, allow_pickle=False)
    start = time.perf_counter()
    nn = nearest_neighbours(data.vectors, k)
    log(f"computed {k} nearest neighbours per word in {time.perf_counter() - start:.1f} s")
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, nn)

    atomic_write(extra, write)
    return nn


def local_counterfitted(
    k: int = 50,
    vectors: WordVectors | None = None,
    files: ConstraintFiles | None = None,
    log: Callable[[str], None] | None = None,
) -> CounterfittedVectors:
    """Counter-fitted GloVe (50d by default; any :class:`WordVectors`, e.g. 300d from a
    file, for fidelity), with at least ``k`` neighbours per word; built on first use."""
    if k < 1:
        raise UserError(f"number of neighbours must be >= 1, got {k}")
    say = log or _stderr
    files = files or ConstraintFiles(resources_dir() / "counter-fitting")
    vectors = vectors if vectors is not None else load_glove_50d()
    digest = _digest(vectors, files)
    tag = str(vectors.info.get("source", "vectors")).replace("/", "-")
    folder = cache_dir() / "counterfitted" / f"{tag}-{digest}"
    data_path, info_path = folder / "counterfitted.npz", folder / "info.json"

    if data_path.is_file() and info_path.is_file():
        with np.load(data_path, allow_pickle=False) as z:
            data = CounterfittedVectors(z["words"].tolist(), z["vectors"], z["nn"],
                                        json.loads(info_path.read_text(encoding="utf-8")))
    else:
        say(f"building counter-fitted vectors from {tag} into {folder} (once; about a minute)")
        start = time.perf_counter()
        result = run_counterfitting(vectors.words, vectors.vectors, files, log=say)
        nn_start = time.perf_counter()
        nn = nearest_neighbours(result.vectors, max(k, NN_K))
        info = {
            **result.info, "source": "local", "vectors": vectors.info, "digest": digest,
            "algorithm_version": ALGORITHM_VERSION, "constraints": str(files.root),
            "nn_k": int(nn.shape[1] - 1), "nn_seconds": round(time.perf_counter() - nn_start, 2),
            "build_seconds": round(time.perf_counter() - start, 2),
        }
        _save_npz(data_path, words=np.array(result.words), vectors=result.vectors, nn=nn)
        atomic_write_json(info_path, info)
        say(f"counter-fitted vectors ready in {info['build_seconds']:.1f} s "
            f"({len(result.words)} words, {info['nn_k']} neighbours each)")
        data = CounterfittedVectors(result.words, result.vectors, nn, info)
    nn = _neighbours(folder, data, k, say)
    # The folder is where it was found, not stored: a copied cache stays truthful.
    return CounterfittedVectors(data.words, data.vectors, nn, {**data.info, "cache": str(folder)})


def describe_local(info: dict[str, Any]) -> str:
    """One line naming what the vectors are, for result records."""
    p = info.get("params", {})
    vec = info.get("vectors", {})
    simlex = ""
    if "simlex_before" in info:
        simlex = f", SimLex-999 {info['simlex_before']:.3f}->{info['simlex_after']:.3f}"
    return (f"counter-fitted {vec.get('source', '?')} {vec.get('dim', '?')}d, built locally "
            f"(Mrksic et al. 2016: k1={p.get('k1')} k2={p.get('k2')} k3={p.get('k3')} "
            f"delta={p.get('delta')} gamma={p.get('gamma')} rho={p.get('rho')}, "
            f"{p.get('iterations')} steps; {info.get('words')} words{simlex}; digest {info.get('digest')})")
