"""The UCI Epileptic Seizure Recognition data (notebook 04): loader, checksum, download, stand-in.

The data (Andrzejak et al. 2001, Phys. Rev. E 64, 061907; UCI dataset 388, CC BY 4.0): 500 EEG
recordings of 23.6 s, each cut into 23 chunks of 178 samples at 173.61 Hz. One CSV row is one chunk:
an id such as ``X21.V1.791`` (chunk 21 of recording ``V1.791``), samples ``X1..X178`` (µV) and a
class ``y`` in 1..5. The rows come shuffled, so the 23 chunks of one recording are spread over the
file: split by recording, never by row.

``load_seizure()`` returns a ``SeizureData`` with **labels 0..4** (label k is UCI class y = k + 1,
named ``CLASS_NAMES[k]``), so they can go straight into ``cross_entropy``.

Where the data come from (``source="auto"``):
1. the CSV or its zip in the data directory (``LABUTILS_DATA``, default ``data/``; also its
   ``seizure/`` subfolder), verified by SHA-256;
2. in full mode, else, one download attempt of the UCI archive (short timeout), checked and cached;
3. else a message saying how to get the file, and the synthetic stand-in with a banner.
FAST mode never downloads: it always uses the stand-in (same schema and structure, generated in a
second). Every problem with a file raises ``SeizureDataError`` with one message naming the file,
what is wrong and the fix.
"""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import FAST, data_dir as default_data_dir

CSV_NAME = "Epileptic Seizure Recognition.csv"
ZIP_NAME = CSV_NAME + ".zip"
CSV_SHA256 = "5ac55c71de5df20d2f47c39300c5b61df18ac5d1c40315e586310b794c32a98b"
ZIP_SHA256 = "be694ceeae69166ae07aadd38ca0af593d6c513adbcf7633ff3241f958f661ab"
UCI_PAGE = "https://archive.ics.uci.edu/dataset/388/epileptic+seizure+recognition"
UCI_URL = "https://archive.ics.uci.edu/static/public/388/epileptic+seizure+recognition.zip"
DOWNLOAD_TIMEOUT_S = 5.0

SAMPLING_RATE_HZ = 173.61
N_SAMPLES = 178            # samples per chunk (about 1.03 s)
N_RECORDINGS = 500
CHUNKS_PER_RECORDING = 23
N_ROWS = N_RECORDINGS * CHUNKS_PER_RECORDING
CLASS_NAMES = ("seizure", "tumour area", "healthy area", "eyes closed", "eyes open")
COLUMNS = [f"X{i}" for i in range(1, N_SAMPLES + 1)]
_ID = re.compile(r"^X(\d+)\.(.+)$")


class SeizureDataError(ValueError):
    """A seizure data file is missing, malformed or not the expected file."""


@dataclass
class SeizureData:
    """One row per chunk. ``signals`` float32 (N, 178) in µV; ``labels`` int64 (N,) in 0..4
    (UCI y − 1, see ``CLASS_NAMES``); ``recordings`` (N,) recording ids (str); ``chunks`` (N,)
    chunk number 1..23 within its recording; ``is_synthetic`` True for the stand-in."""

    signals: np.ndarray
    labels: np.ndarray
    recordings: np.ndarray
    chunks: np.ndarray
    is_synthetic: bool
    source: str
    class_names: tuple = CLASS_NAMES
    sampling_rate_hz: float = SAMPLING_RATE_HZ

    def __len__(self) -> int:
        return len(self.labels)

    def describe(self) -> str:
        kind = "SYNTHETIC STAND-IN" if self.is_synthetic else "real UCI data"
        counts = ", ".join(f"{name} {n}" for name, n in
                           zip(self.class_names, np.bincount(self.labels, minlength=len(self.class_names))))
        return (f"{kind}: {len(self)} chunks × {self.signals.shape[1]} samples from "
                f"{len(np.unique(self.recordings))} recordings ({self.source}); {counts}")


# ---------------------------------------------------------------------------------------------
# Reading and checking a file
# ---------------------------------------------------------------------------------------------

def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bytes(path: Path) -> bytes:
    """The CSV's bytes, from the CSV itself or from the single .csv inside a zip."""
    if not path.exists():
        raise SeizureDataError(f"{path}: file not found. {how_to_get()}")
    if path.suffix.lower() != ".zip":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith(".csv") and not n.startswith("__MACOSX")]
            if len(members) != 1:
                raise SeizureDataError(f"{path}: expected one .csv inside the zip, found {members or 'none'}. "
                                       f"Fix: use the archive from {UCI_PAGE}, or unzip the CSV yourself.")
            return archive.read(members[0])
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SeizureDataError(f"{path}: not a readable zip archive ({exc}); the file is probably truncated "
                               "(an interrupted download). Fix: delete it and download it again.") from None


def parse_seizure_csv(raw: bytes, name: str = "<csv>", expected_rows: int | None = None) -> SeizureData:
    """Parse and validate the CSV's bytes; return a ``SeizureData`` (labels 0..4).

    Raises ``SeizureDataError`` for: no data, wrong or missing columns, a truncated file (a short
    last row, or fewer than ``expected_rows`` rows), non-numeric samples, labels outside 1..5, and
    ids that are not ``X<chunk>.<recording>``.
    """
    fix = f"Fix: get the original file again ({UCI_PAGE})."
    try:
        # "NA"/"n/a" are not missing values here: they are non-numeric text, reported as such
        frame = pd.read_csv(io.BytesIO(raw), keep_default_na=False, na_values=[""], low_memory=False)
    except pd.errors.EmptyDataError:
        raise SeizureDataError(f"{name}: the file is empty. {fix}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SeizureDataError(f"{name}: not a well-formed CSV ({first}). {fix}") from None

    columns = [str(c) for c in frame.columns]
    expected = ["<id>"] + COLUMNS + ["y"]
    if columns[1:] != COLUMNS + ["y"]:
        missing = [c for c in COLUMNS + ["y"] if c not in columns]
        extra = [c for c in columns[1:] if c not in COLUMNS + ["y"]]
        detail = (f"missing {missing[:5]}{' …' if len(missing) > 5 else ''}" if missing else "") + \
                 (f"{'; ' if missing else ''}unexpected {extra[:5]}" if extra else "")
        raise SeizureDataError(
            f"{name}: wrong columns ({len(columns)} found, {len(expected)} expected: an id column, "
            f"X1..X{N_SAMPLES}, y{'; ' + detail if detail else '; they are out of order'}). "
            f"Is this the Epileptic Seizure Recognition CSV? {fix}")
    if len(frame) == 0:
        raise SeizureDataError(f"{name}: the header is there but no rows. {fix}")

    values = frame[COLUMNS + ["y"]]
    empty = values.isna().to_numpy()
    if empty.any():
        row = int(np.argmax(empty.any(axis=1)))
        n_empty = int(empty[row].sum())
        where = "the last row" if row == len(frame) - 1 else f"row {row + 2} of the file"
        raise SeizureDataError(
            f"{name}: {where} has {n_empty} empty or missing fields of {len(expected)}: the file is truncated "
            f"(an interrupted download?) or has empty cells. {fix}")
    for col in values.columns:  # read as text only when pandas could not read a column as numbers
        if not pd.api.types.is_numeric_dtype(values[col]):
            bad = pd.to_numeric(values[col], errors="coerce").isna().to_numpy()
            row = int(np.argmax(bad))
            raise SeizureDataError(
                f"{name}: non-numeric value {values[col].iat[row]!r} in column {col} at row {row + 2} of the file "
                f"(id {frame.iat[row, 0]!r}). Every sample and label must be a number. {fix}")
    numeric = values
    y = numeric["y"].to_numpy()
    outside = ~np.isin(y, [1, 2, 3, 4, 5])
    if outside.any():
        row = int(np.argmax(outside))
        raise SeizureDataError(
            f"{name}: {int(outside.sum())} labels outside 1..5, first {values['y'].iat[row]!r} at row {row + 2} "
            f"(id {frame.iat[row, 0]!r}); y must be 1 seizure, 2 tumour area, 3 healthy area, 4 eyes closed, "
            f"5 eyes open. {fix}")
    if expected_rows is not None and len(frame) != expected_rows:
        raise SeizureDataError(
            f"{name}: {len(frame)} rows, expected {expected_rows} ({N_RECORDINGS} recordings × "
            f"{CHUNKS_PER_RECORDING} chunks): the file is truncated or is not the original. {fix}")
    chunks, recordings = parse_ids(frame.iloc[:, 0].to_numpy(), name)
    return SeizureData(signals=numeric[COLUMNS].to_numpy(np.float32), labels=y.astype(np.int64) - 1,
                       recordings=recordings, chunks=chunks, is_synthetic=False, source=name)


def parse_ids(ids, name: str = "<csv>") -> tuple[np.ndarray, np.ndarray]:
    """``X21.V1.791`` → (chunk 21, recording ``"V1.791"``), for every id."""
    chunks, recordings = np.empty(len(ids), dtype=np.int64), np.empty(len(ids), dtype=object)
    for i, text in enumerate(ids):
        match = _ID.match(str(text))
        if match is None:
            raise SeizureDataError(f"{name}: id {text!r} at row {i + 2} is not of the form X<chunk>.<recording> "
                                   "(e.g. X21.V1.791); the first column must hold these ids.")
        chunks[i], recordings[i] = int(match.group(1)), match.group(2)
    return chunks, recordings.astype(str)


def read_seizure_file(path, verify: bool = True) -> SeizureData:
    """Read the CSV (or its zip) at ``path``. ``verify``: also demand the original file's row count
    and SHA-256 (the CSV's bytes, whether given plain or zipped)."""
    path = Path(path)
    raw = _read_bytes(path)
    data = parse_seizure_csv(raw, str(path), expected_rows=N_ROWS if verify else None)
    if verify:
        digest = sha256_of(raw)
        if digest != CSV_SHA256:
            raise SeizureDataError(
                f"{path}: SHA-256 of the CSV is {digest}, expected {CSV_SHA256}. The file parses but is not the "
                f"original (edited, re-saved with other line endings, or a different version). Fix: get the "
                f"original CSV again ({UCI_PAGE}), or pass verify=False if you changed it on purpose.")
    return data


def find_seizure_file(folder: Path) -> Path | None:
    """The CSV or the zip in ``folder`` or ``folder/seizure``, CSV first; None if neither exists."""
    for sub in (folder, folder / "seizure"):
        for name in (CSV_NAME, ZIP_NAME):
            if (sub / name).exists():
                return sub / name
    return None


def how_to_get(folder: Path | None = None) -> str:
    target = folder or default_data_dir()
    return (f"To use the real data, download the UCI Epileptic Seizure Recognition data ({UCI_PAGE}; "
            f"or any mirror of the same CSV) and put '{CSV_NAME}' or '{ZIP_NAME}' in {target} "
            f"(or set LABUTILS_DATA to its folder). The CSV's SHA-256 must be {CSV_SHA256}.")


def download_seizure(folder: Path, url: str | None = None, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download the UCI archive once, check the CSV inside, cache it as ``folder/seizure/<CSV_NAME>``.

    Raises ``SeizureDataError`` when the download fails or the content does not match the checksum.
    """
    url = url or UCI_URL
    target = folder / "seizure" / CSV_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "download.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, "wb") as out:
                shutil.copyfileobj(response, out)
        except Exception as exc:  # noqa: BLE001 - any network failure means "fall back"
            raise SeizureDataError(f"download of {url} failed ({type(exc).__name__}: {exc}).") from None
        raw = _find_csv_in_download(archive)
        if sha256_of(raw) != CSV_SHA256:
            raise SeizureDataError(f"the CSV downloaded from {url} has SHA-256 {sha256_of(raw)}, expected "
                                   f"{CSV_SHA256}; not cached. {how_to_get(folder)}")
    target.write_bytes(raw)
    return target


def _find_csv_in_download(archive: Path) -> bytes:
    """The UCI archive may hold the CSV directly or inside a nested zip."""
    try:
        with zipfile.ZipFile(archive) as outer:
            for name in outer.namelist():
                if name.lower().endswith(".csv"):
                    return outer.read(name)
            for name in outer.namelist():
                if name.lower().endswith(".zip"):
                    with zipfile.ZipFile(io.BytesIO(outer.read(name))) as inner:
                        for member in inner.namelist():
                            if member.lower().endswith(".csv"):
                                return inner.read(member)
    except zipfile.BadZipFile:
        raise SeizureDataError("the downloaded file is not a zip archive (a proxy or error page?).") from None
    raise SeizureDataError("the downloaded archive holds no CSV file.")


# ---------------------------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------------------------

def _banner(reason: str) -> None:
    line = "!" * 78
    print(f"{line}\n!!  SYNTHETIC STAND-IN DATA, NOT THE REAL EEG. {reason}\n"
          "!!  Same schema and structure as the UCI data; figures will differ from the real data.\n"
          f"{line}")


def load_seizure(source: str = "auto", data_dir=None, download: bool | None = None,
                 seed: int = 0) -> SeizureData:
    """The seizure data: ``source`` is "auto", "real" or "synthetic".

    - "real": the file from ``data_dir`` (default ``labutils.data_dir()``), checksum-verified; if absent
      and ``download`` (default: not FAST), one download attempt; else ``SeizureDataError``.
    - "synthetic": the stand-in (``make_synthetic_seizure(seed)``), with a banner.
    - "auto": FAST mode → the stand-in. Full mode → the real data if present or downloadable,
      else instructions and the stand-in with a banner. A file that is present but bad raises.
    """
    if source not in ("auto", "real", "synthetic"):
        raise ValueError(f"source={source!r}: use 'auto', 'real' or 'synthetic'.")
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    if source == "synthetic" or (source == "auto" and FAST):
        _banner("FAST mode uses the stand-in." if source == "auto" else "You asked for source='synthetic'.")
        return make_synthetic_seizure(seed)

    path = find_seizure_file(folder)
    download = (not FAST) if download is None else download
    problem = ""
    if path is None and download:
        print(f"'{CSV_NAME}' not found in {folder}; trying to download it once from UCI …")
        try:
            path = download_seizure(folder)
            print(f"downloaded, checked and cached as {path}")
        except SeizureDataError as exc:
            problem = str(exc)
    if path is not None:
        data = read_seizure_file(path, verify=True)
        print(f"✓ real data: {path} (SHA-256 verified)")
        return data
    message = f"'{CSV_NAME}' not found in {folder}. {problem + ' ' if problem else ''}{how_to_get(folder)}"
    if source == "real":
        raise SeizureDataError(message)
    print(message)
    _banner("The real file was not found (see above).")
    return make_synthetic_seizure(seed)


# ---------------------------------------------------------------------------------------------
# The synthetic stand-in
# ---------------------------------------------------------------------------------------------

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


def to_csv_bytes(data: SeizureData) -> bytes:
    """``data`` in the UCI file's layout (id, X1..X178, y; CRLF line endings), e.g. to test the reader."""
    frame = pd.DataFrame(data.signals.astype(np.int64), columns=COLUMNS)
    frame.insert(0, "Unnamed", [f"X{c}.{r}" for c, r in zip(data.chunks, data.recordings)])
    frame["y"] = data.labels + 1
    return frame.to_csv(index=False, lineterminator="\r\n").encode()
