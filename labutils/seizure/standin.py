"""A synthetic stand-in for the seizure data: same schema and structure, generated in a second.

Used in FAST mode and whenever the real file is missing (with a banner). Each recording is one
continuous EEG-like signal with recording-level parameters, cut into 23 chunks of 178 samples.
"""
from __future__ import annotations

import numpy as np

from .files import CHUNKS_PER_RECORDING, CLASS_NAMES, N_RECORDINGS, N_SAMPLES, SAMPLING_RATE_HZ, SeizureData

def _coloured_noise(rng, n_rec: int, length: int, exponent: np.ndarray) -> np.ndarray:
    """Unit-variance noise with power ∝ 1/f^exponent (one exponent per recording): EEG background."""
    freqs = np.fft.rfftfreq(length, 1 / SAMPLING_RATE_HZ)
    spectrum = rng.normal(size=(n_rec, len(freqs))) + 1j * rng.normal(size=(n_rec, len(freqs)))
    spectrum *= np.maximum(freqs, 0.5)[None, :] ** (-exponent[:, None] / 2)
    spectrum[:, 0] = 0
    noise = np.fft.irfft(spectrum, n=length, axis=1)
    return noise / noise.std(axis=1, keepdims=True)


def _bumpy_rhythm(rng, t: np.ndarray, freq: np.ndarray, mod_freq: np.ndarray) -> np.ndarray:
    """A sinusoid per recording whose amplitude waxes and wanes (alpha spindles, beta bursts)."""
    phase = rng.uniform(0, 2 * np.pi, (len(freq), 1))
    drift = np.cumsum(rng.normal(0, 0.02, (len(freq), len(t))), axis=1)  # slow frequency jitter
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * mod_freq[:, None] * t + rng.uniform(0, 2 * np.pi, (len(freq), 1)))
    return envelope * np.sin(2 * np.pi * freq[:, None] * t + phase + drift)


def make_synthetic_seizure(seed: int = 0, n_recordings: int = N_RECORDINGS,
                           chunks_per_recording: int = CHUNKS_PER_RECORDING) -> SeizureData:
    """An EEG-like stand-in with the UCI schema: ``n_recordings`` (multiple of 5) recordings × 23 chunks of
    178 samples at 173.61 Hz, five balanced classes, rows shuffled. Deterministic by ``seed``.

    Each recording is one continuous signal cut into chunks, with recording-level parameters (amplitude,
    background colour, rhythm frequency, an electrode offset) that all its chunks share:
    - seizure: rhythmic high-amplitude spike-wave at 2.5–4.5 Hz;
    - tumour area / healthy area (interictal): 1/f background with theta, hard to tell apart (tumour
      area a little larger, with rare sharp transients);
    - eyes closed: strong alpha (8–12 Hz) spindles; eyes open: lower amplitude, faster (beta) activity.
    """
    if n_recordings % len(CLASS_NAMES):
        raise ValueError(f"n_recordings={n_recordings} must be a multiple of {len(CLASS_NAMES)} (balanced classes)")
    rng = np.random.default_rng(seed)
    per_class = n_recordings // len(CLASS_NAMES)
    rec_label = np.repeat(np.arange(len(CLASS_NAMES)), per_class)
    length = N_SAMPLES * chunks_per_recording
    t = np.arange(length) / SAMPLING_RATE_HZ
    n = n_recordings

    # Recording-level parameters: what a recording's 23 chunks share (and a random row split leaks).
    exponent = rng.uniform(1.0, 2.0, n)
    background = np.exp(rng.normal(np.log([60, 45, 38, 35, 28])[rec_label], 0.30))
    signal = background[:, None] * _coloured_noise(rng, n, length, exponent)
    signal += rng.normal(0, 15, n)[:, None]  # electrode offset

    def rows(k):
        return rec_label == k

    # Seizure: spike-wave, a sharp periodic waveform (sum of phase-locked harmonics).
    s = rows(0)
    f0, amp = rng.uniform(2.5, 4.5, s.sum()), np.exp(rng.normal(np.log(450), 0.35, s.sum()))
    phase = 2 * np.pi * f0[:, None] * t + rng.uniform(0, 2 * np.pi, (s.sum(), 1)) \
        + np.cumsum(rng.normal(0, 0.03, (s.sum(), length)), axis=1)
    spike_wave = sum(np.cos(h * phase) / h ** 0.7 for h in range(1, 6))
    signal[s] += amp[:, None] * spike_wave / 2.5

    # Interictal: theta in both; tumour area adds rare sharp transients.
    for k, theta_amp in ((1, 18.0), (2, 15.0)):
        m = rows(k)
        theta = rng.uniform(4, 7.5, m.sum())
        signal[m] += np.exp(rng.normal(np.log(theta_amp), 0.3, m.sum()))[:, None] * \
            _bumpy_rhythm(rng, t, theta, rng.uniform(0.2, 0.6, m.sum()))
    m = rows(1)
    spikes = (rng.random((m.sum(), length)) < 0.5 / SAMPLING_RATE_HZ).astype(float)  # about 0.5 per second
    kernel = np.exp(-np.abs(np.arange(-8, 9)) / 2.5)
    sharp = np.array([np.convolve(row, kernel, mode="same") for row in spikes])
    signal[m] += np.exp(rng.normal(np.log(60), 0.4, m.sum()))[:, None] * sharp * rng.choice([-1, 1], (m.sum(), 1))

    # Eyes closed: strong alpha spindles. Eyes open: beta and a weak alpha.
    m = rows(3)
    signal[m] += np.exp(rng.normal(np.log(70), 0.35, m.sum()))[:, None] * \
        _bumpy_rhythm(rng, t, rng.normal(10, 0.8, m.sum()), rng.uniform(0.3, 1.0, m.sum()))
    m = rows(4)
    signal[m] += np.exp(rng.normal(np.log(14), 0.35, m.sum()))[:, None] * \
        _bumpy_rhythm(rng, t, rng.uniform(15, 25, m.sum()), rng.uniform(0.5, 2.0, m.sum()))
    signal[m] += np.exp(rng.normal(np.log(15), 0.4, m.sum()))[:, None] * \
        _bumpy_rhythm(rng, t, rng.normal(10, 0.8, m.sum()), rng.uniform(0.3, 1.0, m.sum()))

    # Cut into chunks, round to whole µV as the real file is, and shuffle the rows.
    signals = np.round(signal).reshape(n * chunks_per_recording, N_SAMPLES).astype(np.float32)
    labels = np.repeat(rec_label, chunks_per_recording).astype(np.int64)
    recordings = np.repeat([f"S.{r + 1}" for r in range(n)], chunks_per_recording)
    chunks = np.tile(np.arange(1, chunks_per_recording + 1), n).astype(np.int64)
    order = rng.permutation(len(labels))
    return SeizureData(signals=signals[order], labels=labels[order], recordings=recordings[order],
                       chunks=chunks[order], is_synthetic=True, source=f"make_synthetic_seizure(seed={seed})")
