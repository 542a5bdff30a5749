"""Reading, checking and downloading the UCI Epileptic Seizure Recognition file.

One CSV row is one chunk: an id such as ``X21.V1.791`` (chunk 21 of recording ``V1.791``), samples
``X1..X178`` (µV) and a class ``y`` in 1..5. ``parse_seizure_csv`` turns the file's bytes into a
``SeizureData`` with labels 0..4 (UCI y − 1); every problem with a file raises ``SeizureDataError``
with one message naming the file, what is wrong and the fix.
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

from ..config import data_dir as default_data_dir

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


def to_csv_bytes(data: SeizureData) -> bytes:
    """``data`` in the UCI file's layout (id, X1..X178, y; CRLF line endings), e.g. to test the reader."""
    frame = pd.DataFrame(data.signals.astype(np.int64), columns=COLUMNS)
    frame.insert(0, "Unnamed", [f"X{c}.{r}" for c, r in zip(data.chunks, data.recordings)])
    frame["y"] = data.labels + 1
    return frame.to_csv(index=False, lineterminator="\r\n").encode()
