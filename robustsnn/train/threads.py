"""The torch thread count training runs with: pinned, so that a build is reproducible.

A CPU reduction (a matmul, a convolution's backward pass) splits its work by thread, and
the float sums come out in another order with another thread count: the same recipe and
seed then train different weights, and a rebuilt checkpoint gets another content digest
(:func:`robustsnn.models.checkpoint.model_sha256`). So training and conversion do not
inherit whatever the machine offers: they run with :data:`DEFAULT_THREADS` (one) unless
``$ROBUSTSNN_TRAIN_THREADS`` says otherwise, and every checkpoint records the count in
``meta["torch_threads"]``, so a mismatch can be named rather than guessed at.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from ..errors import UserError

THREADS_ENV = "ROBUSTSNN_TRAIN_THREADS"
DEFAULT_THREADS = 1
META_KEY = "torch_threads"


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
