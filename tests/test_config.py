import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import labutils.config as config


def fast_flag(value):
    env = {k: v for k, v in os.environ.items() if k != "LABUTILS_FAST"}
    if value is not None:
        env["LABUTILS_FAST"] = value
    out = subprocess.run([sys.executable, "-c", "import labutils; print(labutils.FAST)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("value, expected", [(None, "False"), ("", "False"), ("0", "False"),
                                             ("1", "True"), ("true", "True")])
def test_fast_flag_from_environment(value, expected):
    assert fast_flag(value) == expected


def test_seed_everything_repeats_numpy_and_torch():
    import torch

    config.seed_everything(3)
    a = (np.random.rand(3), torch.rand(3))
    config.seed_everything(3)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_data_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LABUTILS_DATA", str(tmp_path / "cache"))
    assert config.data_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()
    monkeypatch.delenv("LABUTILS_DATA")
    assert config.data_dir() == config.repo_root() / "data"


def test_device_defaults_to_cpu_without_gpu(monkeypatch):
    import torch

    monkeypatch.delenv("LABUTILS_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert config.device().type == expected


def test_device_asking_for_missing_cuda_explains(monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    monkeypatch.setenv("LABUTILS_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        config.device()


def test_pick_and_setup(capsys):
    assert config.pick(1, 2) == (1 if config.FAST else 2)
    from labutils.session import setup

    info = setup(seed=1, threads=1)
    assert info["threads"] == 1 and "mode:" in capsys.readouterr().out
