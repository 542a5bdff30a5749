import json

import numpy as np
import pytest

from labutils import metrics, results


def test_record_writes_results_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "r.json"
    monkeypatch.setenv("LABUTILS_RESULTS", str(target))
    results.record("acc", np.float32(0.5))
    results.record("auroc", 0.9)
    assert json.loads(target.read_text()) == {"acc": 0.5, "auroc": 0.9}
    assert "[result] acc = 0.5" in capsys.readouterr().out


def test_sensitivity_at_specificity():
    y = np.array([0] * 100 + [1] * 10)
    score = np.concatenate([np.linspace(0, 1, 100), np.full(10, 0.97)])
    # at 95 % specificity the threshold sits above 95 negatives; all positives score 0.97
    assert metrics.sensitivity_at_specificity(y, score, 0.95) == pytest.approx(1.0)
    assert metrics.sensitivity_at_specificity(y, score, 0.99) == 0.0


def test_bootstrap_interval_contains_estimate():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    score = y + rng.normal(0, 1, 400)
    report = metrics.binary_report(y, score, n_boot=200)
    assert report["auroc_low"] < report["auroc"] < report["auroc_high"]
    assert 0.7 < report["auroc"] < 0.85
