"""Incremental simulation for word-substitution queries: bit-identical, a fraction of the work.

An attack's queries are texts that differ from one another in a word or two. A conv
neuron of branch ``i`` at position ``q`` sees only input columns ``q .. q + w_i - 1``, and
with a deterministic input (``frozen``: each column's spike train is a pure function of
(seed, position, token); ``direct``: the values themselves) its whole spike train over
the ``T`` steps depends on those columns alone. So for a text ``c`` and a simulated
reference ``r`` of the same length that differ only in columns ``lo .. hi``, every conv
neuron whose window misses ``lo .. hi`` spikes exactly as in ``r``. We keep, per
reference, each branch's spikes per position and their sums over positions; for ``c`` we
simulate only the columns ``lo - (w_max - 1) .. hi + (w_max - 1)``, and its pooled input
per step is ``sum_r - (r's spikes in those windows) + (c's spikes there)``.

Why the result is bit-identical to :meth:`SpikingTextCNN.simulate`, not merely close:

* spike sums are whole numbers below 2^24, exact in float32 in any order, and the pooled
  value is the same sum divided by the same window count;
* a conv output element is computed with the same reduction order whatever the batch
  size (from 2 rows on) and row length (tests/test_incremental.py checks it on this
  machine's kernels; a single-row call takes another kernel, so the simulator never
  makes one), and the neuron recurrences are elementwise;
* the tail (pool neurons, fc, output neurons) runs on the assembled pooled tensor of the
  whole batch with :meth:`SpikingTextCNN.tail`, in the same chunks as a full simulation.

Texts whose token rows differ over a wide span (a substitution that changes the number
of tokens shifts every later column), or that no recent reference resembles, are
simulated in full and become references. ``fresh`` and ``mean-k`` draw anew on every
call, so nothing can be reused for them; they are always simulated in full. ``crn-k`` is
k frozen networks: :class:`CommonDrawsSimulator` runs one incremental simulator per draw.

The layer counts match too, except the ``input`` total of ``direct`` (a sum of input
currents, not of spikes: equal up to float rounding).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from ..noise import CRN, DIRECT
from .encoding import Encoding, uniforms_of_keys, word_keys
from .neurons import run_neurons
from .snn import ConvReuse, Simulation, SpikingTextCNN


class IncrementalSimulator:
    """``simulate(ids)`` equal to ``model.simulate(model.encode(ids, encoding, T))``
    (see the module docstring), reusing the last ``capacity`` fully simulated rows.

    A reference lives in a slot of preallocated tensors: its token row, its input spikes,
    and per branch the prefix sums of its spikes over positions (so a window's spikes
    are the difference of two entries, whole numbers, exact).
    """

    def __init__(self, model: SpikingTextCNN, encoding: Encoding, time_steps: int | None = None,
                 capacity: int = 16, max_share: float = 0.6):
        if encoding.mode not in ("frozen", "direct"):
            raise ValueError(f"incremental simulation needs a deterministic encoding, not '{encoding}'")
        self.model, self.encoding = model, encoding
        self.time_steps = time_steps or model.time_steps
        self.capacity = capacity
        # A row is simulated in part only when its span of columns is at most this share
        # of the row (beyond that the saving does not pay for the bookkeeping).
        self.max_share = max_share
        self.slots: OrderedDict[tuple[int, ...], int] = OrderedDict()  # token row -> slot, oldest first
        self.length = -1
        self.stats = {"full": 0, "incremental": 0}

    def _allocate(self, length: int) -> None:
        """Empty slots for rows of ``length`` tokens (a new length starts over)."""
        model, steps, cap = self.model, self.time_steps, self.capacity
        self.length = length
        self.slots.clear()
        self.ids = torch.full((cap, length), -1, dtype=torch.long)
        self.inputs = torch.zeros(cap, steps, model.embedding.embedding_dim, length, dtype=torch.bool)
        self.input_cum = torch.zeros(cap, length + 1)
        self.conv_cum = [torch.zeros(cap, steps, model.maps, max(length - w + 1, 0) + 1) for w in model.widths]

    # ------------------------------------------------------------------ inputs

    def _inputs(self, ids: torch.Tensor) -> torch.Tensor:
        """Input spikes (or currents) ``[T, rows, dim, L]`` of ``ids`` ``[rows, L]``."""
        return self.model.encode(ids, self.encoding, self.time_steps)

    # ------------------------------------------------------------------ matching

    def _match(self, ids: torch.Tensor) -> list[tuple[int, int, int] | None]:
        """Per row: ``(slot, first, last changed column)`` of the reference with the
        narrowest span of changed columns, or None (simulate in full)."""
        if not self.slots:
            return [None] * len(ids)
        slots = torch.tensor(list(self.slots.values()))
        differ = ids[:, None, :] != self.ids[slots][None, :, :]  # [B, R, L]
        length = ids.shape[1]
        positions = torch.arange(length)
        any_diff = differ.any(dim=2)
        first = torch.where(differ, positions, length).amin(dim=2)
        last = torch.where(differ, positions, -1).amax(dim=2)
        span = torch.where(any_diff, last - first + 1, 0)
        best = span.argmin(dim=1)
        reach = 2 * (max(self.model.widths) - 1)
        out: list[tuple[int, int, int] | None] = []
        for b in range(len(ids)):
            r = int(best[b])
            if int(span[b, r]) + reach > self.max_share * length:
                out.append(None)
            elif bool(any_diff[b, r]):
                out.append((int(slots[r]), int(first[b, r]), int(last[b, r])))
            else:
                out.append((int(slots[r]), 0, -1))
        return out

    # ------------------------------------------------------------------ simulation

    def simulate(self, ids: torch.Tensor) -> Simulation:
        return simulate_together([self], ids)[0]

    def _full(self, ids: torch.Tensor, rows: list[int], chunk: int, pooled: torch.Tensor,
              counts: dict[str, torch.Tensor]) -> None:
        sub = ids[rows]
        spikes = self._inputs(sub)
        n = len(rows)
        if n == 1:  # two rows at least per conv call (see the module docstring)
            spikes = spikes.repeat(1, 2, 1, 1)
        out, sub_counts = self.model.conv_stage(spikes, chunk, keep_spikes=True,
                                                constant=self.encoding.mode == DIRECT)
        pooled[:, rows] = out[:, :n]
        for name in counts:
            counts[name][rows] = sub_counts[name][:n]
        input_columns = spikes[:, :n].sum(dim=(0, 2))  # [n, L]
        for j, b in enumerate(rows[-self.capacity:]):
            j += max(n - self.capacity, 0)
            slot = self._slot(tuple(ids[b].tolist()))
            self.ids[slot] = ids[b]
            self.inputs[slot] = spikes[:, j] > 0
            self.input_cum[slot, 1:] = input_columns[j].cumsum(0)
            for i in range(len(self.model.convs)):
                self.conv_cum[i][slot, :, :, 1:] = sub_counts[f"spikes{i}"][:, j].cumsum(dim=2, dtype=torch.float32)

    def _slot(self, key: tuple[int, ...]) -> int:
        """A slot for row ``key``: its own, a free one, or the least recently used."""
        if key in self.slots:
            self.slots.move_to_end(key)
            return self.slots[key]
        if len(self.slots) < self.capacity:
            slot = len(self.slots)
        else:
            _, slot = self.slots.popitem(last=False)
        self.slots[key] = slot
        return slot

    def _window_inputs(self, ids: torch.Tensor, slots: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Input ``[T, n, dim, W]`` of rows ``ids`` ``[n, L]`` at ``columns`` ``[n, W]``:
        the reference's spikes where the token is the reference's, new draws elsewhere."""
        with torch.no_grad():
            p = self.model.probabilities(ids)  # [n, dim, L]
        dim = p.shape[1]
        if self.encoding.mode == "direct":
            window = torch.gather(p, 2, columns[:, None, :].expand(-1, dim, -1))
            return window.unsqueeze(0).expand(self.time_steps, *window.shape).contiguous()
        steps = self.time_steps
        index = columns[:, None, None, :].expand(-1, steps, dim, -1)
        window = torch.gather(self.inputs[slots], 3, index).float()  # [n, T, dim, W]
        changed = torch.gather(ids, 1, columns) != torch.gather(self.ids[slots], 1, columns)  # [n, W]
        if bool(changed.any()):
            r, c = changed.nonzero(as_tuple=True)
            cols = columns[r, c]
            keys = word_keys(ids, self.encoding.seed)[r, cols]  # [K]
            uniforms = uniforms_of_keys(keys[None, :], steps, dim)[:, 0]  # [T, dim, K]
            drawn = (uniforms < p[r, :, cols].T.unsqueeze(0)).to(window.dtype)  # [T, dim, K]
            window[r, :, :, c] = drawn.permute(2, 0, 1)
        return window.transpose(0, 1).contiguous()

    def _prepare_partial(self, ids: torch.Tensor, rows: list[int], matches: list[tuple[int, int, int]],
                         counts: dict[str, torch.Tensor]) -> _Partial:
        """The window inputs of the rows simulated in part (their ``input`` counts filled)."""
        model = self.model
        length = ids.shape[1]
        reach = max(model.widths) - 1
        used = {m[0] for m in matches}
        for key, slot in list(self.slots.items()):  # recently used: kept longest
            if slot in used:
                self.slots.move_to_end(key)
        spans = [hi - lo + 1 + 2 * reach if hi >= lo else 0 for _, lo, hi in matches]
        width = min(length, max(max(spans), max(model.widths)))
        starts = torch.tensor([min(max(lo - reach, 0), length - width) if hi >= lo else 0
                               for _, lo, hi in matches])
        slots = torch.tensor([m[0] for m in matches])
        columns = starts[:, None] + torch.arange(width)[None, :]  # [n, W]
        spikes = self._window_inputs(ids[rows], slots, columns)  # [T, n, dim, W]
        if self.encoding.mode == "direct":  # the full path's float total of the currents
            counts["input"][rows] = self._inputs(ids[rows]).sum(dim=(0, 2, 3))
        else:
            cum = self.input_cum[slots]  # [n, L + 1]
            window_sum = spikes.sum(dim=(0, 2, 3))
            counts["input"][rows] = (cum[:, length] - (cum.gather(1, (starts + width)[:, None])[:, 0]
                                                       - cum.gather(1, starts[:, None])[:, 0]) + window_sum)
        return _Partial(self, rows, spikes, starts, slots, width)

    def _assemble(self, part: _Partial, branch: int, new_sums: torch.Tensor, length: int,
                  pooled_parts: list[torch.Tensor], counts: dict[str, torch.Tensor]) -> None:
        """Branch ``branch``'s pooled input of ``part``'s rows: the reference's spike sums
        with the window's replaced by ``new_sums`` ``[T, n, maps]`` (whole numbers)."""
        w = self.model.widths[branch]
        cum = self.conv_cum[branch]  # [C, T, maps, Q + 1]
        q = cum.shape[3] - 1
        slots, starts = part.slots, part.starts
        total = cum[slots, :, :, q]  # [n, T, maps]
        old = cum[slots, :, :, starts + part.width - w + 1] - cum[slots, :, :, starts]
        sums = total - old + new_sums.transpose(0, 1)  # [n, T, maps], whole numbers
        counts[f"conv{branch}"][part.rows] = sums.sum(dim=(1, 2))
        pooled_parts.append(sums.transpose(0, 1) / max(length - w + 1, 1))


# Rows (time steps x windows) per conv call of simulate_together. Speed only, not results:
# windows are a few columns wide, so far more rows fit the cache than a full row's 256
# (SpikingTextCNN.fold_rows). Measured on the SST-2 SNN, crn-20, one thread, under load,
# two rounds against the draw-by-draw loop: 2048 rows 1.09x and 1.11x faster; 256 rows
# 1.2x and 1.07x slower; 8192 and more slower still.
WINDOW_FOLD_ROWS = 2048


@dataclass
class _Partial:
    """Rows of one simulator's call simulated in part: their window inputs and where they lie."""

    simulator: IncrementalSimulator
    rows: list[int]
    spikes: torch.Tensor  # [T, n, dim, W]
    starts: torch.Tensor  # [n]: the window's first column per row
    slots: torch.Tensor  # [n]: the reference's slot per row
    width: int  # W


def simulate_together(simulators: Sequence[IncrementalSimulator], ids: torch.Tensor) -> list[Simulation]:
    """``[s.simulate(ids) for s in simulators]``, bit for bit, with the convolutions, neurons
    and tails of all of them run as one batch: the k frozen draws of a ``crn-k`` query
    become one call per branch instead of k small ones. Exact because every conv output
    element and every neuron is per row whatever the batch (the module docstring), and the
    windows of all simulators are cut to one width: the widest any of them needs, which
    still holds each row's changed columns and every window that touches them."""
    model = simulators[0].model
    steps = simulators[0].time_steps
    if any(s.model is not model or s.time_steps != steps for s in simulators):
        raise ValueError("simulate_together needs simulators of one model and one T")
    batch, length = ids.shape
    if steps * batch < 2 or model.training:  # one-row conv calls take another kernel;
        return [model.simulate(model.encode(ids, s.encoding, steps)) for s in simulators]  # training drops out
    chunk = model.fold_chunk(steps, batch)
    pooled = [torch.empty(steps, batch, model.fc.in_features) for _ in simulators]
    counts = [{"input": torch.zeros(batch), **{f"conv{i}": torch.zeros(batch) for i in range(len(model.convs))}}
              for _ in simulators]
    plans = []
    for simulator in simulators:
        if length != simulator.length:
            simulator._allocate(length)
        matches = simulator._match(ids)
        plans.append(([b for b, m in enumerate(matches) if m is None],
                      [b for b, m in enumerate(matches) if m is not None],
                      [m for m in matches if m is not None]))
    # Rows simulated in part first: the full simulations below may reuse their slots.
    parts = [(j, s._prepare_partial(ids, part, found, counts[j]))
             for j, (s, (_, part, found)) in enumerate(zip(simulators, plans)) if part]
    if parts:
        width = max(p.width for _, p in parts)
        for _, p in parts:  # one width for all: widen a window (to the right, else the left)
            if p.width < width:
                p.starts = torch.clamp(p.starts, max=length - width)
                columns = p.starts[:, None] + torch.arange(width)[None, :]
                p.spikes = p.simulator._window_inputs(ids[p.rows], p.slots, columns)
                p.width = width
        spikes = torch.cat([p.spikes for _, p in parts], dim=1)  # [T, rows, dim, W]
        rows = spikes.shape[1]
        if rows == 1:  # two rows at least per conv call, in every chunk
            spikes = spikes.repeat(1, 2, 1, 1)
        part_chunk = max(1, min(steps, WINDOW_FOLD_ROWS // spikes.shape[1]))
        pooled_parts: list[list[torch.Tensor]] = [[] for _ in parts]
        reuse = ConvReuse(all(p.simulator.encoding.mode == DIRECT for _, p in parts))
        for i, (conv, lif) in enumerate(zip(model.convs, model.conv_lifs)):
            mem = None
            new = []
            for start in range(0, steps, part_chunk):
                x = spikes[start : start + part_chunk]
                cur = reuse(i, x.shape[0], conv, x.reshape(x.shape[0] * x.shape[1], *x.shape[2:]))
                spk, mem = run_neurons(lif, cur.view(x.shape[0], x.shape[1], *cur.shape[1:]), mem)
                new.append(spk[:, :rows].sum(dim=3))
            new_sums = torch.cat(new)  # [T, rows, maps]: the windows' spikes per step and map
            first = 0
            for (j, p), out in zip(parts, pooled_parts):
                n = len(p.rows)
                p.simulator._assemble(p, i, new_sums[:, first : first + n], length, out, counts[j])
                first += n
        for (j, p), out in zip(parts, pooled_parts):
            pooled[j][:, p.rows] = torch.cat(out, dim=2)
    for j, (simulator, (full, part, _)) in enumerate(zip(simulators, plans)):
        if full:
            simulator._full(ids, full, chunk, pooled[j], counts[j])
        simulator.stats["full"] += len(full)
        simulator.stats["incremental"] += len(part)
    if len(simulators) == 1:
        return [model.tail(pooled[0], chunk, counts[0])]
    joined = {name: torch.cat([c[name] for c in counts]) for name in counts[0]}
    sim = model.tail(torch.cat(pooled, dim=1), model.fold_chunk(steps, batch * len(simulators)), joined)
    return [Simulation(sim.out_spikes[:, j * batch : (j + 1) * batch], sim.out_membrane[j * batch : (j + 1) * batch],
                       {name: count[j * batch : (j + 1) * batch] for name, count in sim.layer_spikes.items()})
            for j in range(len(simulators))]


class CommonDrawsSimulator:
    """The incremental simulation of ``crn-k``: one :class:`IncrementalSimulator` per frozen
    draw (:meth:`Encoding.frozen_draws`), each with its own references. ``simulate_draws``
    yields the k simulations in draw order, each bit-identical to that draw's full
    simulation, so :meth:`SpikingTextCNN.run` averages them exactly as it averages the
    folded full simulations.

    Memory: a simulator's slots hold a reference's input spikes and conv prefix sums (on
    the SST-2 SNN, T = 50 and 25 tokens, ~30 MB for 16 slots), so the slots per draw
    shrink with k to keep the k simulators together near 20 x 16 slots.
    """

    def __init__(self, model: SpikingTextCNN, encoding: Encoding, time_steps: int | None = None,
                 capacity: int | None = None, max_share: float = 0.6):
        if encoding.mode != CRN:
            raise ValueError(f"a common-draws simulator runs crn-k, not '{encoding}'")
        self.model, self.encoding = model, encoding
        self.time_steps = time_steps or model.time_steps
        capacity = capacity or max(2, min(16, 320 // encoding.k))
        self.simulators = [IncrementalSimulator(model, draw, self.time_steps, capacity, max_share)
                           for draw in encoding.frozen_draws()]

    def simulate_draws(self, ids: torch.Tensor) -> Iterator[Simulation]:
        yield from simulate_together(self.simulators, ids)

    @property
    def stats(self) -> dict[str, int]:
        """Rows simulated in full and in part, over all draws."""
        return {key: sum(s.stats[key] for s in self.simulators) for key in ("full", "incremental")}
