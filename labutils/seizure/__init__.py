"""The UCI Epileptic Seizure Recognition data (notebook 04): loader, checksum, download, stand-in.

The data (Andrzejak et al. 2001, Phys. Rev. E 64, 061907; UCI dataset 388, CC BY 4.0): 500 EEG
segments of 23.6 s, each cut into 23 chunks of 178 samples at 173.61 Hz. The rows come shuffled, so
the 23 chunks of one recording are spread over the file: split by recording, never by row.

``load_seizure()`` returns a ``SeizureData`` with **labels 0..4** (label k is UCI class y = k + 1,
named ``CLASS_NAMES[k]``), so they can go straight into ``cross_entropy``.

Where the data come from (``source="auto"``):
1. the CSV or its zip in the data directory (``LABUTILS_DATA``, default ``data/``; also its
   ``seizure/`` subfolder), verified by SHA-256;
2. in full mode, else, one download attempt of the UCI archive (short timeout), checked and cached;
3. else a message saying how to get the file, and the synthetic stand-in with a banner.
FAST mode never downloads: it always uses the stand-in.

Modules: ``files`` (reading, validation, checksum, download), ``standin`` (the synthetic stand-in);
this module holds the loader that chooses between them.
"""
from __future__ import annotations

from pathlib import Path

from ..config import FAST, data_dir as default_data_dir
from .files import (CHUNKS_PER_RECORDING, CLASS_NAMES, COLUMNS, CSV_NAME, CSV_SHA256, N_RECORDINGS, N_ROWS,
                    N_SAMPLES, SAMPLING_RATE_HZ, UCI_PAGE, UCI_URL, ZIP_NAME, ZIP_SHA256, SeizureData,
                    SeizureDataError, download_seizure, find_seizure_file, how_to_get, parse_ids,
                    parse_seizure_csv, read_seizure_file, sha256_of, to_csv_bytes)
from .standin import make_synthetic_seizure

__all__ = ["load_seizure", "make_synthetic_seizure", "read_seizure_file", "find_seizure_file", "download_seizure",
           "parse_seizure_csv", "parse_ids", "to_csv_bytes", "how_to_get", "sha256_of", "SeizureData",
           "SeizureDataError", "CLASS_NAMES", "SAMPLING_RATE_HZ", "N_SAMPLES", "N_RECORDINGS",
           "CHUNKS_PER_RECORDING", "N_ROWS", "COLUMNS", "CSV_NAME", "ZIP_NAME", "CSV_SHA256", "ZIP_SHA256",
           "UCI_PAGE", "UCI_URL"]


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
