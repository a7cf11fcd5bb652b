"""The YOLO detector on the project's rails: config -> ultralytics -> bundle -> both backends."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image, ImageDraw

from tests.helpers.config import compose_config
from wardrobe import tasks
from wardrobe.artifacts import BundleError
from wardrobe.data.deepfashion2_yolo import DeepFashion2YoloData
from wardrobe.data.formats.deepfashion2 import Df2Item, write_df2_annotation
from wardrobe.data.real_yolo import RealPhotoYoloData
from wardrobe.models.detector import Detection, letterbox, load_detector, postprocess
from wardrobe.models.detector.train import (
    YoloTrainer,
    cpu_threads,
    epoch_cap,
    lightning_limits,
    ultralytics_device,
)
from wardrobe.taxonomy import DF2_CLASSES

FILL = {1: (200, 40, 40), 7: (40, 160, 40), 8: (40, 40, 200)}  # three classes, three colours


def write_tiny_df2(root: Path, counts=(("train", 12), ("validation", 4)), size: int = 96) -> Path:
    """DeepFashion2 splits of ``size`` px photos with 1-2 coloured garments each."""
    rng = random.Random(0)
    for split, count in counts:
        for image_id in range(1, count + 1):
            image = Image.new("RGB", (size, size), (235, 235, 235))
            draw = ImageDraw.Draw(image)
            items = []
            for _ in range(rng.randint(1, 2)):
                category = rng.choice(sorted(FILL))
                x1, y1 = rng.randint(0, size // 2), rng.randint(0, size // 2)
                x2 = min(x1 + rng.randint(size // 5, size // 2), size)
                y2 = min(y1 + rng.randint(size // 5, size // 2), size)
                draw.rectangle([x1, y1, x2 - 1, y2 - 1], fill=FILL[category])
                items.append(Df2Item(category_id=category, bbox=(x1, y1, x2, y2)))
            (root / split / "image").mkdir(parents=True, exist_ok=True)
            image.save(root / split / "image" / f"{image_id:06d}.jpg", quality=95)
            write_df2_annotation(root / split / "annos", image_id, "user", image_id, items)
    return root


# ---------------------------------------------------------------------------- fast, pure


def test_fast_dev_run_and_limits_map_to_epochs_and_fraction():
    cfg = OmegaConf.create({"max_epochs": 30, "fast_dev_run": True})
    assert lightning_limits(cfg, batch=4, num_train=100, num_val=40) == (1, [4, 8], True)
    cfg = OmegaConf.create({"max_epochs": 30, "limit_train_batches": 0.25, "limit_val_batches": 0})
    assert lightning_limits(cfg, batch=16, num_train=100, num_val=40) == (30, 0.25, False)
    cfg = OmegaConf.create({"max_epochs": 7})
    assert lightning_limits(cfg, batch=16, num_train=100, num_val=40) == (7, 1.0, True)


@pytest.mark.parametrize(
    ("accelerator", "devices", "expected"),
    [("cpu", 1, "cpu"), ("gpu", 1, "0"), ("gpu", 4, "0,1,2,3"), ("cuda", [1, 3], "1,3")],
)
def test_device_follows_the_trainer_settings(accelerator, devices, expected):
    assert ultralytics_device(accelerator, devices) == expected


@pytest.mark.parametrize(
    ("hardware", "imgsz", "batch", "amp", "device"),
    [
        ("cpu", 320, 16, False, "cpu"),
        ("rtx3050", 640, 8, True, "0"),
        ("a100", 640, 64, True, "0"),
        ("ddp_4gpu", 640, 64, True, "0,1,2,3"),  # 4 x 64 capped: the effective batch stays 64
    ],
)
def test_hardware_profile_sets_the_ultralytics_runtime(
    make_cfg, monkeypatch, hardware, imgsz, batch, amp, device
):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    cfg = make_cfg("train", ["model=detector", f"hardware={hardware}", "trainer.max_epochs=7"])
    runtime = tasks.runtime_settings(cfg)
    data = instantiate(cfg.data)
    args = instantiate(cfg.model).train_arguments(cfg, runtime, Path("data.yaml"), data)
    assert (args["imgsz"], args["batch"], args["amp"], args["device"]) == (
        imgsz,
        batch,
        amp,
        device,
    )
    assert args["nbs"] == cfg.data.batch_size == 64  # ultralytics accumulates up to it
    assert (args["epochs"], args["seed"], args["fraction"], args["val"]) == (7, 42, 1.0, True)
    assert args["project"] == str(Path(cfg.paths.output_dir).resolve())
    assert "time" not in args


def test_max_time_lets_ultralytics_fit_the_epochs(make_cfg):
    cfg = make_cfg("train", ["model=detector", "+trainer.max_time=00:00:30:00"])
    args = instantiate(cfg.model).train_arguments(
        cfg, tasks.runtime_settings(cfg), Path("data.yaml"), instantiate(cfg.data)
    )
    assert args["time"] == pytest.approx(0.5)


def test_model_imgsz_overrides_the_hardware_profile(make_cfg):
    cfg = make_cfg("train", ["model=detector", "hardware=a100", "model.imgsz=224"])
    args = instantiate(cfg.model).train_arguments(
        cfg, tasks.runtime_settings(cfg), Path("data.yaml"), instantiate(cfg.data)
    )
    assert cfg.hardware.detector_imgsz == 640
    assert args["imgsz"] == 224


def test_quickstart_detector_learns_from_real_photos_at_its_own_size(make_cfg):
    """The quickstart's settings win over the cpu profile's (320 px, batch 16), and make run's
    cap (a max_time) keeps its 11 epochs as the most it trains."""
    cfg = make_cfg(
        "train", ["experiment=quickstart/detector", "hardware=cpu", "trainer.max_time=00:00:10:00"]
    )
    data = instantiate(cfg.data)
    assert isinstance(data, RealPhotoYoloData)
    args = instantiate(cfg.model).train_arguments(
        cfg, tasks.runtime_settings(cfg), Path("data.yaml"), data
    )
    assert (args["imgsz"], args["batch"], args["nbs"]) == (192, 8, 8)
    assert (args["epochs"], args["val"], args["time"]) == (11, False, pytest.approx(1 / 6))


class _TimeModeTrainer:
    """What ``epoch_cap`` touches of an ultralytics trainer after its time-mode estimate."""

    def __init__(self, estimated: int, epoch: int) -> None:
        self.epochs, self.epoch = estimated, epoch
        self.args = SimpleNamespace(epochs=estimated)
        self.scheduler = SimpleNamespace(last_epoch=0)
        self.schedules_for: list[int] = []

    def _setup_scheduler(self) -> None:
        self.schedules_for.append(self.epochs)
        self.scheduler = SimpleNamespace(last_epoch=0)


def test_max_time_caps_max_epochs_like_lightning():
    more = _TimeModeTrainer(estimated=14, epoch=2)  # time would allow 14 epochs: keep 9
    epoch_cap(9)(more)
    assert (more.epochs, more.args.epochs, more.schedules_for) == (9, 9, [9])
    assert more.scheduler.last_epoch == 2  # the refitted schedule resumes where it was
    fewer = _TimeModeTrainer(estimated=5, epoch=2)  # time allows fewer: ultralytics' estimate
    epoch_cap(9)(fewer)
    assert (fewer.epochs, fewer.schedules_for) == (5, [])


def test_a_cpu_fit_gets_the_threads_asked_for_not_ultralytics_one_fewer():
    import torch
    from ultralytics.utils.torch_utils import select_device

    before = torch.get_num_threads()
    with cpu_threads(3):
        select_device("cpu", verbose=False)  # what ultralytics' trainer calls
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before
    select_device("cpu", verbose=False)  # outside: ultralytics' own choice again
    from ultralytics.utils import NUM_THREADS

    assert torch.get_num_threads() == NUM_THREADS
    torch.set_num_threads(before)


def test_letterbox_and_postprocess_map_boxes_back_to_the_image():
    image = np.zeros((50, 100, 3), np.uint8)
    boxed, info = letterbox(image, 64)
    assert boxed.shape == (64, 64, 3) and info.ratio == pytest.approx(0.64)
    assert (info.left, info.top) == (0, 16)
    # one anchor: centre (32, 32), size 32x16 in the 64 px input, class 7 scored 0.9
    raw = np.zeros((1, 4 + len(DF2_CLASSES), 2), np.float32)
    raw[0, :4, 0] = [32, 32, 32, 16]
    raw[0, 4 + 7, 0] = 0.9
    (dets,) = postprocess(raw, [info], conf=0.25, iou=0.7, max_det=10)
    assert len(dets) == 1 and dets[0].cls == 7 and dets[0].name == "trousers"
    np.testing.assert_allclose(dets[0].box, [25.0, 12.5, 75.0, 37.5], atol=1e-4)


def test_missing_data_without_generation_names_the_generator(tmp_path):
    data = DeepFashion2YoloData(str(tmp_path / "df2"), str(tmp_path / "yolo"))
    with pytest.raises(FileNotFoundError, match=r"python -m wardrobe\.data\.synthetic"):
        data.prepare_data()


def test_conversion_of_other_data_is_replaced_not_mixed(tmp_path):
    first = write_tiny_df2(tmp_path / "a", counts=(("train", 3), ("validation", 1)), size=64)
    second = write_tiny_df2(tmp_path / "b", counts=(("train", 2), ("validation", 1)), size=64)
    (second / "train" / "image" / "000002.jpg").rename(second / "train" / "image" / "000009.jpg")
    (second / "train" / "annos" / "000002.json").rename(second / "train" / "annos" / "000009.json")
    yolo = tmp_path / "yolo"
    kwargs = {"convert_workers": 0}
    DeepFashion2YoloData(str(first), str(yolo), **kwargs).prepare_data()
    assert sorted(p.stem for p in (yolo / "labels" / "train").glob("*.txt")) == [
        "000001",
        "000002",
        "000003",
    ]
    data = DeepFashion2YoloData(str(second), str(yolo), **kwargs)
    data_yaml = data.prepare_data()
    assert sorted(p.stem for p in (yolo / "labels" / "train").glob("*.txt")) == ["000001", "000009"]
    assert data.num_images("train") == 2 and data_yaml == yolo / "data.yaml"
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="no conversion of ours"):
        DeepFashion2YoloData(str(second), str(tmp_path / "foreign"), **kwargs).prepare_data()


def test_offline_pt_architecture_fails_with_the_fix():
    with pytest.raises(FileNotFoundError, match="YOLO_OFFLINE=0"):
        YoloTrainer(architecture="yolov8s_not_here.pt")._build_model()


# ---------------------------------------------------------------------------- slow: training


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One fast_dev_run through tasks.train on 16 generated 96 px scenes (the data config's
    generate-if-missing path), with every DNS lookup recorded (must stay empty)."""
    tmp_path = tmp_path_factory.mktemp("detector")
    tiny_generator = {
        "seed": 0,
        "scenes": 16,
        "scene_size": 96,
        "val_fraction": 0.25,
        "crops_per_class": 2,
        "crop_size": 32,
        "outfits": 10,
        "workers": 1,
        "progress": False,
    }
    cfg = compose_config(
        "train",
        [
            "model=detector",
            "trainer.fast_dev_run=true",
            "hardware.detector_imgsz=64",
            "hardware.detector_batch=4",
            "hardware.num_workers=0",
            "data.generate_if_missing=true",
            *(f"+data.generator.{k}={v}" for k, v in tiny_generator.items()),
            "data.convert_workers=0",
        ],
        tmp_path,
    )
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):
        if host not in ("localhost", "127.0.0.1", "::1"):
            lookups.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", recording_getaddrinfo)
        metrics, objects = tasks.train(cfg)
    return {
        "cfg": cfg,
        "metrics": metrics,
        "objects": objects,
        "lookups": lookups,
        "root": tmp_path,
    }


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fast_dev_run_trains_offline_and_exports_a_bundle(trained):
    assert trained["lookups"] == []  # nothing tried the network
    assert (trained["root"] / "data" / "synthwardrobe" / "manifest.json").is_file()  # generated
    metrics = trained["metrics"]
    assert set(metrics) == {"val/map50", "val/map50_95", "val/precision", "val/recall"}
    bundle = Path(trained["objects"]["bundle"])
    assert bundle == trained["root"] / "model_artifacts" / "detector"
    for name in (
        "weights.safetensors",
        "model.onnx",
        "best.pt",
        "bundle.json",
        "metrics.json",
        "config.yaml",
    ):
        assert (bundle / name).is_file(), name
    meta = json.loads((bundle / "bundle.json").read_text())
    assert meta["labels"] == {"classes": list(DF2_CLASSES)}
    assert meta["preprocessing"]["imgsz"] == 64
    assert meta["net"]["_target_"] == "wardrobe.models.detector.YoloNet"
    assert json.loads((bundle / "metrics.json").read_text()) == pytest.approx(metrics)
    # the epoch's metrics reached the Lightning CSV logger, under the project's keys
    csv_files = list((trained["root"] / "output" / "csv").rglob("metrics.csv"))
    assert csv_files and "val/map50" in csv_files[0].read_text().splitlines()[0]


def validation_images(root: Path) -> list[np.ndarray]:
    split = root / "data" / "synthwardrobe" / "deepfashion2" / "validation" / "image"
    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(split.glob("*.jpg"))]
    return [*images, np.full((40, 130, 3), 200, np.uint8)]  # another size and aspect ratio


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fast_dev_run_bundle_predicts_on_images(trained):
    detector = load_detector(trained["objects"]["bundle"], "torch")
    images = validation_images(trained["root"])
    # one epoch on 12 images: scores are near the prior, so ask for everything above 0
    predictions = detector.predict(images, conf=0.0, max_det=5, batch_size=2)
    assert len(predictions) == len(images)
    for dets, image in zip(predictions, images, strict=True):
        assert len(dets) == 5
        for det in dets:
            assert isinstance(det, Detection) and det.name == DF2_CLASSES[det.cls]
            x1, y1, x2, y2 = det.box
            assert 0 <= x1 <= x2 <= image.shape[1] and 0 <= y1 <= y2 <= image.shape[0]


@pytest.fixture(scope="module")
def confident_bundle(trained, tmp_path_factory):
    """The trained checkpoint made to give spread-out scores, exported through the same
    ``export_bundle`` path (ultralytics ONNX export).

    After one epoch every score sits at the class prior (~1e-3, ties everywhere): BatchNorm
    statistics are re-estimated on the images and the class head is re-drawn, so boxes and
    scores differ from anchor to anchor, as a trained model's do.
    """
    import torch
    from ultralytics import YOLO

    tmp = tmp_path_factory.mktemp("confident")
    yolo = YOLO(str(trained["objects"]["weights"]))
    model = yolo.model.float()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative: the statistics of this one batch
    batch, _ = load_detector(trained["objects"]["bundle"]).preprocess(
        validation_images(trained["root"])
    )
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(batch))
    model.eval()
    torch.manual_seed(0)
    for branch in model.model[-1].cv3:
        torch.nn.init.normal_(branch[-1].weight, std=0.05)
        torch.nn.init.constant_(branch[-1].bias, -2.0)
    yolo.save(tmp / "confident.pt")
    cfg = trained["cfg"].copy()
    cfg.paths.artifacts_dir = str(tmp / "model_artifacts")
    return YoloTrainer().export_bundle(cfg, tmp / "confident.pt", {}, imgsz=64)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_onnx_and_torch_backends_give_matching_boxes(trained, confident_bundle):
    torch_det = load_detector(confident_bundle, "torch")
    onnx_det = load_detector(confident_bundle, "onnx")
    images = validation_images(trained["root"])
    batch, _ = torch_det.preprocess(images)
    raw_torch, raw_onnx = torch_det.forward(batch), onnx_det.forward(batch)
    assert raw_torch.shape == raw_onnx.shape == (len(images), 4 + len(DF2_CLASSES), 84)
    np.testing.assert_allclose(raw_torch, raw_onnx, rtol=1e-4, atol=1e-3)

    out_torch = torch_det.predict(images, conf=0.15, batch_size=2)
    out_onnx = onnx_det.predict(images, conf=0.15)
    assert all(out_torch), [len(d) for d in out_torch]  # boxes on every image
    for dets_t, dets_o in zip(out_torch, out_onnx, strict=True):
        assert [d.cls for d in dets_t] == [d.cls for d in dets_o]
        for a, b in zip(dets_t, dets_o, strict=True):
            np.testing.assert_allclose(a.box, b.box, atol=0.01)
            assert a.conf == pytest.approx(b.conf, abs=1e-4)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tampered_onnx_file_is_refused(trained, tmp_path):
    import shutil

    copy = tmp_path / "detector"
    shutil.copytree(trained["objects"]["bundle"], copy)
    with (copy / "model.onnx").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(BundleError, match="checksum"):
        load_detector(copy, "onnx")
    load_detector(copy, "torch")  # the safetensors weights are intact


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_inference_imports_no_training_code(trained):
    """The ingestion pipeline loads the bundle without ultralytics' trainer or Lightning (and
    the ONNX backend without ultralytics at all)."""
    code = (
        "import sys, numpy as np\n"
        "from wardrobe.models.detector import load_detector\n"
        f"for backend in ('onnx', 'torch'):\n"
        f"    load_detector({str(trained['objects']['bundle'])!r}, backend).predict(\n"
        "        [np.zeros((50, 70, 3), np.uint8)])\n"
        "    print(backend, 'ultralytics' in sys.modules, sorted(m for m in sys.modules if\n"
        "          m.startswith(('ultralytics.engine', 'ultralytics.models', 'ultralytics.data',\n"
        "                        'lightning', 'wardrobe.tasks'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["onnx False []", "torch True []"]


def test_agnostic_nms_keeps_one_box_per_garment_whatever_the_classes():
    from wardrobe.models.detector import LetterboxInfo, postprocess

    preds = np.zeros((1, 4 + 13, 2), np.float32)
    preds[0, :4, 0] = [50, 50, 40, 60]  # the same garment, two boxes, two classes
    preds[0, :4, 1] = [51, 50, 40, 60]
    preds[0, 4 + 11, 0], preds[0, 4 + 12, 1] = 0.9, 0.8  # vest_dress, sling_dress
    info = [LetterboxInfo(1.0, 0, 0, 100, 100)]
    assert len(postprocess(preds, info, 0.25, 0.6, 300)[0]) == 2  # per class: both stay
    (only,) = postprocess(preds, info, 0.25, 0.6, 300, agnostic=True)[0]
    assert only.name == "vest_dress" and only.conf == pytest.approx(0.9)
