"""Every model x hardware pair composes; hardware profiles change runtime settings only."""

import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from tests.helpers.config import REPO_ROOT, config_options
from wardrobe import tasks

MODELS = config_options("model")
HARDWARE = config_options("hardware")


@pytest.mark.parametrize("hardware", HARDWARE)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_and_hardware_pair_composes(make_cfg, model, hardware):
    cfg = make_cfg("train", [f"model={model}", f"hardware={hardware}"])
    OmegaConf.resolve(cfg)  # every interpolation resolves
    assert cfg.model_name == model
    assert cfg.model._target_.startswith("wardrobe.")
    assert cfg.objective.metric.startswith(("val/", "test/"))
    runtime = tasks.runtime_settings(cfg)
    assert runtime["effective_batch_size"] == cfg.data.batch_size


@pytest.mark.parametrize("model", MODELS)
def test_hardware_changes_runtime_not_architecture(make_cfg, model):
    nets = {
        h: make_cfg("train", [f"model={model}", f"hardware={h}"]).model.get("net") for h in HARDWARE
    }
    first = next(iter(nets.values()))
    assert all(net == first for net in nets.values())


def test_resolved_runtime_per_profile(make_cfg):
    """The table a user would check: same effective batch, different runtime."""
    rows = {h: tasks.runtime_settings(make_cfg("train", [f"hardware={h}"])) for h in HARDWARE}
    assert rows["cpu"]["precision"] == "32-true" and rows["cpu"]["accelerator"] == "cpu"
    assert rows["rtx3050"]["precision"] == "16-mixed"
    assert rows["rtx3050"]["accumulate_grad_batches"] > 1
    assert rows["a100"]["precision"] == "bf16-mixed" and rows["a100"]["compile"] is True
    assert rows["a100"]["num_workers"] > rows["cpu"]["num_workers"]
    assert rows["ddp_4gpu"]["strategy"] == "ddp" and rows["ddp_4gpu"]["devices"] == 4
    assert len({r["effective_batch_size"] for r in rows.values()}) == 1


@pytest.mark.parametrize(
    ("effective", "cap", "devices", "expected"),
    [(64, 64, 1, (64, 1)), (64, 16, 1, (16, 4)), (64, 256, 4, (16, 1)), (48, 32, 1, (24, 2))],
)
def test_resolve_batching_keeps_effective_batch(effective, cap, devices, expected):
    per_device, accumulate = tasks.resolve_batching(effective, cap, devices)
    assert (per_device, accumulate) == expected
    assert per_device * accumulate * devices == effective and per_device <= cap


def test_gpu_profile_without_cuda_fails_naming_cpu(make_cfg, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    cfg = make_cfg("train", ["hardware=a100"])
    with pytest.raises(tasks.HardwareError, match="hardware=cpu"):
        tasks.check_hardware(cfg)
    tasks.check_hardware(make_cfg("train", ["hardware=a100", "trainer.accelerator=cpu"]))


@pytest.mark.parametrize("name", ["eval", "serve"])
def test_other_entry_configs_compose(make_cfg, name):
    OmegaConf.resolve(make_cfg(name))


@pytest.mark.parametrize("script", ["train.py", "evaluate.py", "serve.py"])
def test_entry_points_print_their_config(script):
    out = subprocess.run(
        [sys.executable, script, "--cfg", "job"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "task_name:" in out.stdout


def test_train_help_lists_the_groups():
    out = subprocess.run(
        [sys.executable, "train.py", "--help"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    for group in ("model:", "hardware:", "logger:", "data:"):
        assert group in out.stdout
