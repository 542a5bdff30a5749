"""Mini-batches of visit sequences for recurrent models: length buckets and a dict collate.

Patients have very different numbers of visits. A batch is padded to its longest patient, so a batch
that mixes a 2-visit and a 40-visit patient wastes most of its work on padding. Two pieces fix that
and plug into ``torch.utils.data.DataLoader``:

- ``LengthBuckets(lengths, batch_size, shuffle, seed)``, a ``batch_sampler``: it sorts the patients
  by length and cuts the sorted list into batches, so each batch holds patients of similar length.
  With ``shuffle=True`` every epoch breaks ties between equal lengths at random (``jitter`` widens
  that to nearby lengths; ``jitter=0`` keeps the same batches) and visits the batches in a new random
  order; the sequence of epochs is a function of ``seed`` alone. Without shuffling the batches come in
  order of increasing length, the same every epoch.
- ``make_collate(multi_hot, n_codes, ...)``, a ``collate_fn``: it turns a list of sample dicts into
  one dict batch (the ``fit(..., inputs=(...))`` contract of ``labutils.training``). The visits are
  turned into multi-hot tensors by the function you pass in (notebook 05 passes the student's
  ``multi_hot_visits``), so this module never builds them itself.

A sample is a dict such as ``{"visits": [[3, 17], [], [5]], "time": array (3, 2), "static":
array (2,), "y": 1.0, "index": 42}``. The batch is a dict of tensors:

- ``x`` float32 (N, T, C) and ``mask`` bool (N, T), as returned by ``multi_hot``;
- ``lengths`` int64 (N,): visits per patient, counted from the samples (what
  ``torch.nn.utils.rnn.pack_padded_sequence`` wants);
- every key named in ``per_visit``: float32 (N, T, ...), each sample's per-visit array padded with zeros;
- every other key: the samples' values stacked, float64 turned into float32.
"""
from __future__ import annotations

import numpy as np
import torch


class LengthBuckets(torch.utils.data.Sampler):
    """A ``batch_sampler`` that groups sequences of similar length (see the module docstring).

    Args:
        lengths: the length of every sample of the dataset (e.g. its number of visits).
        batch_size: samples per batch (the last batch of the sorted list may be smaller).
        shuffle: new ties-broken order of lengths and new order of batches every epoch.
        seed: the seed of the sequence of epochs (two samplers with the same seed yield the same batches).
        jitter: with shuffling, sort by ``length + jitter * u``, ``u`` uniform in [0, 1): 1 (default) only
            reshuffles equal integer lengths; 4 lets lengths up to 4 apart swap places; 0 keeps the batches
            fixed (only their order changes), which lets ``make_collate(..., cache_by=...)`` build each once.

    ``len(sampler)`` is the number of batches; ``sampler.epoch`` counts the epochs drawn so far.
    """

    def __init__(self, lengths, batch_size: int, shuffle: bool = False, seed: int = 0, jitter: float = 1.0):
        self.lengths = np.asarray(lengths, dtype=float)
        if self.lengths.ndim != 1:
            raise ValueError(f"LengthBuckets: lengths must be one number per sample, got shape {self.lengths.shape}.")
        if batch_size < 1:
            raise ValueError(f"LengthBuckets: batch_size must be at least 1, got {batch_size}.")
        self.batch_size, self.shuffle, self.seed, self.jitter = int(batch_size), shuffle, seed, jitter
        self.epoch = 0

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def batches(self, epoch: int = 0) -> list[list[int]]:
        """The batches (lists of sample indices) of epoch ``epoch``, in the order they are yielded."""
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[a:a + self.batch_size].tolist() for a in range(0, len(order), self.batch_size)]
        rng = np.random.default_rng([self.seed, epoch])
        order = np.argsort(self.lengths + self.jitter * rng.random(len(self.lengths)), kind="stable")
        batches = [order[a:a + self.batch_size].tolist() for a in range(0, len(order), self.batch_size)]
        return [batches[k] for k in rng.permutation(len(batches))]

    def __iter__(self):
        batches = self.batches(self.epoch)
        self.epoch += 1
        return iter(batches)


def pad_per_visit(arrays, t_max: int) -> torch.Tensor:
    """Stack per-visit arrays of shapes (L_n, ...) into a float32 tensor (N, t_max, ...), zeros after L_n."""
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
    trailing = arrays[0].shape[1:] if arrays else ()
    out = np.zeros((len(arrays), t_max, *trailing), dtype=np.float32)
    for n, a in enumerate(arrays):
        out[n, :len(a)] = a
    return torch.from_numpy(out)


def stack_values(values, key: str = "value") -> torch.Tensor:
    """Stack per-sample values (numbers or arrays) into one tensor; float64 becomes float32."""
    shapes = {np.shape(v) for v in values}
    if len(shapes) > 1:
        raise ValueError(f"collate: the samples' {key!r} have different shapes {sorted(shapes)}. "
                         f"Fix: name {key!r} in per_visit if it has one row per visit.")
    array = np.stack([np.asarray(v) for v in values]) if len(values) else np.zeros(0, dtype=np.float32)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array))


def make_collate(multi_hot, n_codes: int, visits: str = "visits", per_visit=(), cache_by: str | None = None):
    """A ``collate_fn`` that turns a list of sample dicts into one dict batch (see the module docstring).

    Args:
        multi_hot: ``multi_hot(patients, n_codes) -> (x, mask)``, with ``x`` float32 (N, T, n_codes) and
            ``mask`` bool (N, T) True at real visits (notebook 05's ``multi_hot_visits``).
        n_codes: the vocabulary size.
        visits: the key of each sample's visits (a list of lists of code indices).
        per_visit: keys of per-visit arrays (first axis = visits) to pad like the visits.
        cache_by: a key that identifies each sample (e.g. ``"index"``). When given, a batch is built once and
            remembered by its samples' keys; later epochs get it back without calling ``multi_hot`` again (``x``
            is kept as bool, a quarter of the memory, and handed out as float32). Use it with batches that
            repeat, such as ``LengthBuckets(..., jitter=0)``.

    The collate checks that ``mask`` counts each patient's visits and says which patient disagrees.
    """
    per_visit = tuple(per_visit)
    name = getattr(multi_hot, "__name__", "multi_hot")

    def build(samples):
        patients = [s[visits] for s in samples]
        lengths = torch.tensor([len(p) for p in patients], dtype=torch.int64)
        x, mask = multi_hot(patients, n_codes)
        counted = torch.as_tensor(mask).sum(dim=1).long()
        if len(samples) and not torch.equal(counted, lengths):
            n = int(torch.nonzero(counted != lengths)[0, 0])
            raise ValueError(f"collate: the mask from {name} marks {int(counted[n])} visits for patient {n} of the "
                             f"batch, which has {int(lengths[n])}. Fix: the mask must be True at every real visit "
                             "(empty visits too) and False after.")
        batch = {"x": torch.as_tensor(x, dtype=torch.float32), "mask": torch.as_tensor(mask, dtype=torch.bool),
                 "lengths": lengths}
        for key in per_visit:
            batch[key] = pad_per_visit([s[key] for s in samples], batch["x"].shape[1])
        for key in samples[0] if samples else ():
            if key != visits and key not in per_visit:
                batch[key] = stack_values([s[key] for s in samples], key)
        return batch

    cache = {}

    def collate(samples):
        samples = list(samples)
        if cache_by is None:
            return build(samples)
        key = tuple(s[cache_by] for s in samples)
        if key not in cache:
            batch = build(samples)
            cache[key] = {**batch, "x": batch["x"].bool()}
        return {**cache[key], "x": cache[key]["x"].float()}

    return collate
