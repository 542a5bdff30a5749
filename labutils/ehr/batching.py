"""Visit sequences -> padded arrays for recurrent models.

A batch of N patients becomes:

- ``x``       float32 (N, T, C): multi-hot codes of each visit (T = most visits in the batch);
- ``mask``    bool (N, T): True at real visits. It comes from the number of visits, never from ``x``: code index 0
  is a real code (the most frequent one), and a visit may be empty (an encounter with no code in the vocabulary);
- ``lengths`` int64 (N,): visits per patient, what ``torch.nn.utils.rnn.pack_padded_sequence`` wants;
- ``gaps``    float32 (N, T): a per-visit number (e.g. days since the previous visit), 0 where padded.

``pad_batch`` returns NumPy arrays; ``collate`` wraps it for a ``torch.utils.data.DataLoader`` and returns tensors.
"""
from __future__ import annotations

import numpy as np


def pad_batch(sequences, n_codes: int, gaps=None) -> dict:
    """Pad ``sequences`` (patient -> visit -> code indices) to multi-hot arrays (see the module docstring).

    Duplicate codes within a visit count once. Raises ValueError for a code outside [0, n_codes) or for ``gaps``
    whose lengths do not match the visits.
    """
    sequences = list(sequences)
    N = len(sequences)
    lengths = np.array([len(p) for p in sequences], dtype=np.int64)
    T = int(lengths.max()) if N else 0
    x = np.zeros((N, T, n_codes), dtype=np.float32)
    n_i, t_i, c_i = [], [], []
    for n, patient in enumerate(sequences):
        for t, codes in enumerate(patient):
            c_i.extend(codes)
            n_i.extend([n] * len(codes))
            t_i.extend([t] * len(codes))
    c_i = np.asarray(c_i, dtype=np.int64)
    if len(c_i) and (c_i.min() < 0 or c_i.max() >= n_codes):
        bad = c_i[(c_i < 0) | (c_i >= n_codes)][0]
        raise ValueError(f"pad_batch: code index {bad} is outside [0, {n_codes}). "
                         "Fix: map codes with the same vocabulary whose size you pass as n_codes.")
    x[np.asarray(n_i, dtype=np.int64), np.asarray(t_i, dtype=np.int64), c_i] = 1.0
    mask = np.arange(T)[None, :] < lengths[:, None]
    out = {"x": x, "mask": mask, "lengths": lengths, "gaps": np.zeros((N, T), dtype=np.float32)}
    if gaps is not None:
        gaps = list(gaps)
        if len(gaps) != N:
            raise ValueError(f"pad_batch: {len(gaps)} gap lists for {N} patients.")
        for n, g in enumerate(gaps):
            if len(g) != lengths[n]:
                raise ValueError(f"pad_batch: patient {n} has {lengths[n]} visits but {len(g)} gaps.")
            out["gaps"][n, :len(g)] = np.asarray(g, dtype=np.float32)
    return out


def collate(items, n_codes: int):
    """DataLoader ``collate_fn`` for items ``(sequence, gaps, label)`` (gaps may be None): a dict of tensors
    ``x, mask, lengths, gaps`` as in ``pad_batch`` plus ``y`` (float32 (N,) for scalar labels, else stacked).

    Use it as ``DataLoader(items, batch_size=64, collate_fn=functools.partial(collate, n_codes=len(vocab)))``.
    """
    import torch

    items = list(items)
    seqs = [it[0] for it in items]
    gaps = [it[1] for it in items]
    batch = pad_batch(seqs, n_codes, gaps=None if any(g is None for g in gaps) else gaps)
    out = {k: torch.from_numpy(v) for k, v in batch.items()}
    labels = [it[2] for it in items]
    if all(np.ndim(y) == 0 for y in labels):
        out["y"] = torch.tensor(np.asarray(labels, dtype=np.float32))
    else:
        out["y"] = torch.as_tensor(np.stack([np.asarray(y) for y in labels]))
    return out
