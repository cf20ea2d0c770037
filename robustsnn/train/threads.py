"""The torch thread count training runs with: pinned, so that a build is reproducible.

A CPU reduction (a matmul, a convolution's backward pass) splits its work by thread, and
the float sums come out in another order with another thread count: the same recipe and
seed then train different weights, and a rebuilt checkpoint gets another content digest
(:func:`robustsnn.models.checkpoint.model_sha256`). So training and conversion do not
inherit whatever the machine offers: they run with :data:`DEFAULT_THREADS` (one) unless
``$ROBUSTSNN_TRAIN_THREADS`` says otherwise, and every checkpoint records the count in
``meta["torch_threads"]``, so a mismatch can be named rather than guessed at.

The thread count is what can be pinned. What cannot - the torch build and the CPU kernels
it picks (AVX2, AVX-512: other instructions, other roundings) - is recorded beside it in
``meta["torch_numerics"]``, so that a rebuild that comes back with another content digest
can say why.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from ..errors import UserError

THREADS_ENV = "ROBUSTSNN_TRAIN_THREADS"
DEFAULT_THREADS = 1
META_KEY = "torch_threads"
NUMERICS_KEY = "torch_numerics"


def training_threads() -> int:
    """The thread count training uses: ``$ROBUSTSNN_TRAIN_THREADS`` or one."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return DEFAULT_THREADS
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise UserError(f"{THREADS_ENV} must be a positive whole number of threads, not {text!r}")
    return count


def numerics() -> dict[str, str]:
    """What else decides the float results of training on this machine: the torch version
    and the CPU capability its kernels dispatch to."""
    import torch

    try:
        capability = str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):  # an older torch does not say
        capability = "unknown"
    # str(): torch.__version__ is a str subclass that weights_only loading refuses to unpickle
    return {"torch": str(torch.__version__), "cpu_capability": capability}


@contextmanager
def pinned_threads() -> Iterator[int]:
    """Run the block with torch using :func:`training_threads` threads (restored after)."""
    import torch

    count = training_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(before)
