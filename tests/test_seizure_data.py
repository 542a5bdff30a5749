"""labutils.seizure: the stand-in's schema and difficulty, the reader's clear errors, and the loader's
choices (real file, no download in FAST mode, fall back with a banner). The real-data test reads the
file from the data directory (``LABUTILS_DATA``, default ``data/``) and is skipped, saying why, when
the file is not there."""
import zipfile
from pathlib import Path

import numpy as np
import pytest

from labutils import seizure as S
from labutils.config import data_dir

REAL_FILE = S.find_seizure_file(data_dir())


@pytest.fixture(scope="module")
def standin():
    return S.make_synthetic_seizure(seed=0)


@pytest.fixture(scope="module")
def standin_csv(standin):
    return S.to_csv_bytes(standin)


def write(tmp_path, raw: bytes, name=S.CSV_NAME) -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


# --- the stand-in -----------------------------------------------------------------------------

def test_standin_has_the_uci_schema_and_structure(standin):
    assert standin.signals.shape == (11500, 178) and standin.signals.dtype == np.float32
    assert standin.labels.dtype == np.int64 and set(np.unique(standin.labels)) == {0, 1, 2, 3, 4}
    assert np.all(np.bincount(standin.labels) == 2300), "five balanced classes"
    recordings, counts = np.unique(standin.recordings, return_counts=True)
    assert len(recordings) == 500 and np.all(counts == 23)
    for rec in recordings[:20]:  # each recording: chunks 1..23, one class
        rows = standin.recordings == rec
        assert sorted(standin.chunks[rows]) == list(range(1, 24))
        assert len(np.unique(standin.labels[rows])) == 1
    assert standin.is_synthetic and "SYNTHETIC" in standin.describe()
    assert np.all(np.isfinite(standin.signals)) and np.all(standin.signals == np.round(standin.signals))
    assert not np.all(np.diff(standin.labels) == 0), "rows are shuffled, as in the UCI file"


def test_standin_is_deterministic_by_seed(standin):
    again = S.make_synthetic_seizure(seed=0)
    other = S.make_synthetic_seizure(seed=1)
    np.testing.assert_array_equal(standin.signals, again.signals)
    np.testing.assert_array_equal(standin.recordings, again.recordings)
    assert not np.array_equal(standin.signals, other.signals)


def test_standin_chunks_of_a_recording_are_one_continuous_signal(standin):
    rec = standin.recordings[0]
    rows = np.flatnonzero(standin.recordings == rec)
    signal = standin.signals[rows[np.argsort(standin.chunks[rows])]].reshape(-1)
    # consecutive samples across a chunk border differ no more than within chunks (no jumps)
    steps = np.abs(np.diff(signal))
    borders = steps[177::178]
    assert borders.mean() < 3 * steps.mean()


def band_powers(x):
    power = np.abs(np.fft.rfft(x - x.mean(1, keepdims=True), axis=1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[1], 1 / S.SAMPLING_RATE_HZ)
    edges = [0, 2, 4, 6, 8, 10, 12, 15, 20, 25, 30, 40, 60, 90]
    return np.log1p(np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in zip(edges, edges[1:])], 1))


def test_standin_classes_are_learnable_but_not_trivially(standin):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = band_powers(standin.signals), standin.labels
    train, test = next(GroupShuffleSplit(1, test_size=0.2, random_state=0).split(X, y, standin.recordings))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X[train], y[train])
    accuracy = model.score(X[test], y[test])
    # measured 0.77 (real data: 0.72); chance is 0.2
    assert 0.55 < accuracy < 0.92, f"band-power logistic regression scores {accuracy:.3f}"
    recall = [(model.predict(X[test][y[test] == k]) == k).mean() for k in range(5)]
    assert recall[0] > 0.9, f"seizure should be the easy class, recall {recall[0]:.2f}"
    assert min(recall[1], recall[2]) < 0.8, f"the interictal classes should be hard to tell apart: {recall}"


def test_synthetic_needs_a_multiple_of_five_recordings():
    with pytest.raises(ValueError, match="multiple of 5"):
        S.make_synthetic_seizure(n_recordings=7)


# --- the reader: round trip and one clear error per problem ------------------------------------

def test_reader_round_trips_the_uci_layout(tmp_path, standin, standin_csv):
    back = S.read_seizure_file(write(tmp_path, standin_csv), verify=False)
    np.testing.assert_array_equal(back.signals, standin.signals)
    np.testing.assert_array_equal(back.labels, standin.labels)
    np.testing.assert_array_equal(back.recordings, standin.recordings)
    np.testing.assert_array_equal(back.chunks, standin.chunks)
    assert not back.is_synthetic  # the reader cannot know; the loader sets the flag


def test_ids_are_parsed_into_chunk_and_recording():
    chunks, recordings = S.parse_ids(["X21.V1.791", "X1.V14.5", "X23.S.1"])
    assert list(chunks) == [21, 1, 23] and list(recordings) == ["V1.791", "V14.5", "S.1"]


def lines(raw):
    return raw.decode().split("\r\n")


def join(rows):
    return "\r\n".join(rows).encode()


def test_missing_file(tmp_path):
    with pytest.raises(S.SeizureDataError, match="not found.*UCI"):
        S.read_seizure_file(tmp_path / S.CSV_NAME)


def test_missing_column(tmp_path, standin_csv):
    rows = [",".join(r.split(",")[:-2] + r.split(",")[-1:]) if r else r for r in lines(standin_csv)]  # drop X178
    with pytest.raises(S.SeizureDataError, match=r"wrong columns.*missing \['X178'\]"):
        S.read_seizure_file(write(tmp_path, join(rows)), verify=False)


def test_wrong_columns(tmp_path, standin_csv):
    rows = lines(standin_csv)
    rows[0] = rows[0].replace(",y", ",label")
    with pytest.raises(S.SeizureDataError, match=r"wrong columns.*unexpected \['label'\]"):
        S.read_seizure_file(write(tmp_path, join(rows)), verify=False)


def test_non_numeric_value(tmp_path, standin_csv):
    rows = lines(standin_csv)
    cells = rows[5].split(",")
    cells[10] = "n/a"
    rows[5] = ",".join(cells)
    with pytest.raises(S.SeizureDataError, match=r"non-numeric value 'n/a' in column X10 at row 6"):
        S.read_seizure_file(write(tmp_path, join(rows)), verify=False)


@pytest.mark.parametrize("bad_label", ["0", "6", "2.5"])
def test_labels_outside_1_to_5(tmp_path, standin_csv, bad_label):
    rows = lines(standin_csv)
    cells = rows[3].split(",")
    cells[-1] = bad_label
    rows[3] = ",".join(cells)
    with pytest.raises(S.SeizureDataError, match=r"1 labels outside 1\.\.5, first .* at row 4"):
        S.read_seizure_file(write(tmp_path, join(rows)), verify=False)


def test_truncated_csv(tmp_path, standin_csv):
    with pytest.raises(S.SeizureDataError, match="the last row has .* empty or missing fields .* truncated"):
        S.read_seizure_file(write(tmp_path, standin_csv[: len(standin_csv) // 2]), verify=False)


def test_truncated_at_a_line_end_is_caught_by_the_row_count(tmp_path, standin_csv):
    rows = lines(standin_csv)[:5001]
    with pytest.raises(S.SeizureDataError, match="5000 rows, expected 11500"):
        S.read_seizure_file(write(tmp_path, join(rows) + b"\r\n"), verify=True)


def test_truncated_zip(tmp_path, standin_csv):
    path = tmp_path / S.ZIP_NAME
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(S.CSV_NAME, standin_csv)
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(S.SeizureDataError, match="not a readable zip.*truncated"):
        S.read_seizure_file(path)


def test_checksum_mismatch(tmp_path, standin_csv):
    # a well-formed file of the right size that is not the original
    with pytest.raises(S.SeizureDataError, match="SHA-256 of the CSV is .* expected 5ac55c71"):
        S.read_seizure_file(write(tmp_path, standin_csv), verify=True)


def test_empty_file(tmp_path):
    with pytest.raises(S.SeizureDataError, match="empty"):
        S.read_seizure_file(write(tmp_path, b""), verify=False)


def test_bad_id(tmp_path, standin_csv):
    rows = lines(standin_csv)
    rows[2] = "recording7," + rows[2].split(",", 1)[1]
    with pytest.raises(S.SeizureDataError, match="id 'recording7' at row 3"):
        S.read_seizure_file(write(tmp_path, join(rows)), verify=False)


# --- the loader -------------------------------------------------------------------------------

def test_synthetic_source_announces_itself(tmp_path, capsys):
    data = S.load_seizure("synthetic", data_dir=tmp_path)
    assert data.is_synthetic and "SYNTHETIC STAND-IN" in capsys.readouterr().out


def test_unknown_source():
    with pytest.raises(ValueError, match="'auto', 'real' or 'synthetic'"):
        S.load_seizure("kaggle")


def test_auto_without_file_or_network_falls_back_loudly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(S, "FAST", False)
    monkeypatch.setattr(S.files, "UCI_URL", "http://127.0.0.1:9/no-server-here.zip")  # fails at once, offline
    data = S.load_seizure("auto", data_dir=tmp_path)
    out = capsys.readouterr().out
    assert data.is_synthetic
    assert "trying to download" in out and "download of" in out and "failed" in out
    assert S.UCI_PAGE in out and S.CSV_SHA256 in out and "SYNTHETIC STAND-IN" in out


def test_real_without_file_raises_with_instructions(tmp_path):
    with pytest.raises(S.SeizureDataError, match="not found.*SHA-256 must be"):
        S.load_seizure("real", data_dir=tmp_path, download=False)


def test_fast_mode_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "FAST", True)
    monkeypatch.setattr(S, "download_seizure", lambda *a, **k: pytest.fail("FAST mode must not download"))
    assert S.load_seizure("auto", data_dir=tmp_path).is_synthetic


def test_a_bad_file_in_the_data_dir_raises_instead_of_falling_back(tmp_path, monkeypatch, standin_csv):
    monkeypatch.setattr(S, "FAST", False)
    write(tmp_path, standin_csv)
    with pytest.raises(S.SeizureDataError, match="SHA-256"):
        S.load_seizure("auto", data_dir=tmp_path, download=False)


def test_download_is_checked_and_cached(tmp_path, monkeypatch, standin_csv):
    # a "download" served from a local file whose CSV is not the original: refused, nothing cached
    archive = tmp_path / "fake.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("data.csv", standin_csv)
    with pytest.raises(S.SeizureDataError, match="SHA-256 .* not cached"):
        S.download_seizure(tmp_path / "data", url=archive.as_uri())
    assert S.find_seizure_file(tmp_path / "data") is None


@pytest.mark.skipif(REAL_FILE is None, reason=f"the real file ({S.CSV_NAME} or its zip) is not in {data_dir()}")
def test_real_data_from_the_data_directory(monkeypatch):
    monkeypatch.setattr(S, "FAST", False)
    data = S.load_seizure("auto", data_dir=REAL_FILE.parent, download=False)
    assert not data.is_synthetic and data.signals.shape == (11500, 178)
    assert np.all(np.bincount(data.labels) == 2300) and len(np.unique(data.recordings)) == 500
    first = np.flatnonzero(data.recordings == "V1.791")
    assert len(first) == 23 and 21 in data.chunks[first]
    # seizure chunks have the largest amplitude, as in Andrzejak et al. (2001)
    amplitude = [np.abs(data.signals[data.labels == k]).mean() for k in range(5)]
    assert np.argmax(amplitude) == 0
