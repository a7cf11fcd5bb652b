"""The README's main command: train the default models that ``model_artifacts/`` lacks, then serve.

``python -m wardrobe.quickstart [--hardware cpu] [--force]`` runs ``train.py`` once per missing
bundle with ``experiment=quickstart/<model>`` (small settings that meet the design's targets on
the generated data), then ``evaluate.py``, then starts ``serve.py``, waits for ``/health`` and
prints two ``curl`` calls that work against it and the web app's address; the server runs until
Ctrl+C.

What it shows: first a plan (each missing model, its time budget and where the budget comes
from, the sum), then one live line per step (phase, epoch and step, elapsed, estimated time
left, and the whole run's "x of ~y min"), read from the progress file each run writes
(:mod:`wardrobe.utils.progress`). A model's budget is its quickstart config's
``time_budget_min.<hardware>`` (minutes for the whole ``train.py`` run, as measured); a profile
without one is "not measured". When the config sets no ``trainer.max_time`` the fit loop is capped
at :data:`CAP_FACTOR` times the budget (``trainer.max_time``; Lightning and ultralytics both stop
there, test and export what they have): a safety net, not the plan, so that a busy machine
overruns the estimate (the live line says so) instead of training fewer epochs than measured.
Each run's output goes to ``logs/quickstart/<time>/<model>.log``; a failing run
stops the command with its name, the end of its log and the log's path (exit code 1); bundles
already trained stay, so the next ``make run`` goes on from the missing ones.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from wardrobe.allocator import with_malloc_env
from wardrobe.artifacts import list_bundles
from wardrobe.hparams import max_time_seconds
from wardrobe.serving.launch import ServeProcess
from wardrobe.utils.progress import PROGRESS_FILE_ENV, read_progress

CONF_DIR = Path("conf")
QUICKSTART_DIR = CONF_DIR / "experiment" / "quickstart"
# a photo for the example call: a held-out scene that evaluate.py generated, else one that ships
# with ultralytics (people in clothes)
EXAMPLE_PHOTOS = ("data/synthwardrobe_heldout/deepfashion2/validation/image/000001.jpg",)
# the flow's own steps, minutes per hardware profile (a profile not listed: not measured).
# The first training run generates SynthWardrobe when data/ lacks it; evaluate.py generates
# its held-out seed and scores every bundle.
DATA_BUDGET_MIN = {"cpu": 2.0}
#: the fit loop stops at this many times its budget (a safety net past the plan, not the plan)
CAP_FACTOR = 2.0
EVALUATION_BUDGET_MIN = {"cpu": 3.0}
SYNTH_DIR = "data/synthwardrobe"
LOG_TAIL_LINES = 25


# ============================================================================================
# The plan
# ============================================================================================
def default_models(conf_dir: Path = QUICKSTART_DIR) -> list[str]:
    """The models with a quickstart experiment, in training order (see each file's ``order``)."""
    files = sorted(conf_dir.glob("*.yaml"))
    order = {p.stem: _order_of(p) for p in files}
    return sorted(order, key=lambda name: (order[name], name))


def _order_of(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith("# order:"):
            return int(line.split(":", 1)[1])
    return 100


@dataclass
class Step:
    """One child process of the run: a ``train.py`` or the ``evaluate.py`` at the end."""

    name: str
    args: list[str]
    budget_s: float | None  # None: not measured on this hardware
    notes: list[str] = field(default_factory=list)


def quickstart_budget(name: str, hardware: str, conf_dir: Path) -> tuple[float | None, Any]:
    """(budget in minutes or None, ``trainer.max_time``) of ``experiment=quickstart/<name>``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    import wardrobe.config  # noqa: F401  (the resolvers the configs use)

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3"):
        cfg = compose("train", [f"experiment=quickstart/{name}", f"hardware={hardware}"])
    GlobalHydra.instance().clear()
    budgets = OmegaConf.select(cfg, "time_budget_min", default=None) or {}
    minutes = budgets.get(hardware)
    return (float(minutes) if minutes is not None else None), cfg.trainer.get("max_time")


def max_time_string(seconds: float) -> str:
    """Seconds as Lightning's ``max_time`` ``"DD:HH:MM:SS"``."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days:02d}:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def max_time_minutes(max_time: Any) -> float | None:
    """Lightning ``max_time`` (``"DD:HH:MM:SS"`` or a dict) in minutes."""
    seconds = max_time_seconds(max_time)
    return None if seconds is None else seconds / 60


def training_step(
    name: str, hardware: str, overrides: list[str], conf_dir: Path, first_use_data: bool
) -> Step:
    """The ``train.py`` step of one model, its budget and the cap on its fit loop."""
    minutes, max_time = quickstart_budget(name, hardware, conf_dir)
    args = ["train.py", f"experiment=quickstart/{name}", f"hardware={hardware}"]
    notes = []
    cap = max_time_minutes(max_time)
    if cap is not None:
        notes.append(f"fit stops at {cap:.0f} min: its trainer.max_time")
        if minutes is not None and cap > minutes:
            # ultralytics fills its max_time whole: plan with it, not with the smaller budget
            notes.append(f"more than its time_budget_min of {minutes:.0f}")
            minutes = cap
    elif minutes is not None:
        # bound the fit loop (min_epochs=0: Lightning may stop inside epoch 1)
        cap = CAP_FACTOR * minutes
        args += [f"trainer.max_time={max_time_string(cap * 60)}", "trainer.min_epochs=0"]
        notes.append(f"fit capped at {cap:.0f} min (trainer.max_time)")
    if first_use_data:
        extra = DATA_BUDGET_MIN.get(hardware)
        notes.append("generates SynthWardrobe first")
        minutes = minutes + extra if minutes is not None and extra is not None else None
    return Step(name, [*args, *overrides], None if minutes is None else minutes * 60, notes)


def evaluation_step(hardware: str, overrides: list[str]) -> Step:
    """``evaluate.py`` over every bundle (held-out data), after the training runs."""
    minutes = EVALUATION_BUDGET_MIN.get(hardware)
    budget = None if minutes is None else minutes * 60
    return Step("evaluation", ["evaluate.py", *overrides], budget)


def format_minutes(seconds: float | None) -> str:
    return "not measured" if seconds is None else f"{seconds / 60:.0f} min"


def print_plan(steps: list[Step], present: list[str], hardware: str, log_dir: Path) -> None:
    """The plan: each step, its budget and where it comes from, the sum."""
    print(f"make run on hardware={hardware}: bundles present: {', '.join(present) or 'none'}")
    if not steps:
        print("nothing to train: every default model has a bundle (--force retrains)")
        return
    print("plan:")
    for i, step in enumerate(steps, 1):
        notes = f"   ({'; '.join(step.notes)})" if step.notes else ""
        print(f"  {i}. {step.name:<14}{format_minutes(step.budget_s):>13}{notes}")
    known = [s.budget_s for s in steps if s.budget_s is not None]
    unknown = len(steps) - len(known)
    total = f"~{sum(known) / 60:.0f} min" if known else "not measured"
    tail = f" + {unknown} step(s) not measured on hardware={hardware}" if unknown and known else ""
    print(f"  {'total':<17}{total:>13}{tail}")
    print(f"logs: {log_dir}/<step>.log", flush=True)


# ============================================================================================
# Live progress of one step
# ============================================================================================
def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``)."""
    whole = int(max(seconds, 0))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# after the fit loop: the test of the best checkpoint and the export (short; no estimate of
# their own, so the step counts as nearly done rather than as the rest of its budget)
AFTER_FIT_PHASES = ("testing", "exporting")


def step_remaining(progress: dict[str, Any] | None, elapsed: float, budget: float | None):
    """Estimated seconds left of a step: the fit loop's own estimate while it trains, 0 once it
    tests and exports, else what is left of its budget (None: no estimate)."""
    phase = (progress or {}).get("phase")
    if phase in AFTER_FIT_PHASES:
        return 0.0
    if phase == "training" and progress.get("fit_eta_s") is not None:
        return float(progress["fit_eta_s"])
    if budget is not None:
        return max(budget - elapsed, 0.0)
    return None


def describe(progress: dict[str, Any] | None, elapsed: float, budget: float | None) -> str:
    """What a step is doing now, from its progress file: phase, counts, metric, time."""
    if not progress:
        parts = ["starting"]
    else:
        phase = str(progress.get("phase", "running"))
        parts = [phase]
        if phase == "training":
            if progress.get("epochs"):
                parts.append(f"epoch {progress.get('epoch', 1)}/{progress['epochs']}")
            if progress.get("steps"):
                parts.append(f"step {progress.get('step', 0)}/{progress['steps']}")
        elif phase not in AFTER_FIT_PHASES and progress.get("total"):  # a module's own loop
            parts.append(f"{progress.get('done', 0)}/{progress['total']}")
        if progress.get("metric_value") is not None:
            parts.append(f"{progress['metric']} {progress['metric_value']:.3f}")
    parts.append(f"{clock(elapsed)} elapsed")
    left = step_remaining(progress, elapsed, budget)
    if budget is not None and elapsed > budget:
        parts.append(f"over its {format_minutes(budget)} budget")
    elif (progress or {}).get("phase") in AFTER_FIT_PHASES:
        parts.append("fit done")
    elif left is not None:
        parts.append(f"~{clock(left)} left")
    return "  ".join(parts)


class StatusLine:
    """One line rewritten in place on a terminal; elsewhere (a log, CI) a line when the text's
    first words change (phase, epoch) or every ``every`` seconds."""

    def __init__(self, out: TextIO | None = None, every: float = 30.0) -> None:
        self.out, self.every = out or sys.stdout, every
        self.tty = self.out.isatty()
        self._last_key, self._last_time = None, 0.0

    def show(self, text: str, key: Any) -> None:
        if self.tty:
            self.out.write("\r\033[K" + text)
            self.out.flush()
            return
        now = time.monotonic()
        if key != self._last_key or now - self._last_time >= self.every:
            self.out.write(text + "\n")
            self.out.flush()
            self._last_key, self._last_time = key, now

    def done(self, text: str) -> None:
        self.out.write(("\r\033[K" if self.tty else "") + text + "\n")
        self.out.flush()


@dataclass
class RunClock:
    """The whole run's time: spent so far, and the budgets of the steps still to come."""

    start: float = field(default_factory=time.monotonic)
    later_budgets: list[float | None] = field(default_factory=list)

    def overall(self, current_left: float | None) -> str:
        spent = time.monotonic() - self.start
        if current_left is None or any(b is None for b in self.later_budgets):
            return f"overall {spent / 60:.0f} min so far (no estimate: not measured)"
        total = spent + current_left + sum(b for b in self.later_budgets if b is not None)
        return f"overall {spent / 60:.0f} of ~{total / 60:.0f} min"


def run_step(
    step: Step,
    label: str,
    log_dir: Path,
    run_clock: RunClock,
    status: StatusLine,
    poll_s: float = 1.0,
) -> tuple[int, float, dict[str, Any] | None]:
    """Run one step with its output in ``<log_dir>/<name>.log``, showing its progress;
    returns (exit code, seconds, last progress)."""
    log_path = log_dir / f"{step.name}.log"
    progress_path = log_dir / f"{step.name}.progress.json"
    print(f"{label} {step.name}: {shlex.join([Path(sys.executable).name, *step.args])}")
    print(f"{' ' * len(label)} log: {log_path}", flush=True)
    start = time.monotonic()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *step.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=with_malloc_env(os.environ) | {PROGRESS_FILE_ENV: str(progress_path)},
            start_new_session=True,  # Ctrl+C reaches this process; it stops the child's group
        )
    try:
        while proc.poll() is None:
            progress = read_progress(progress_path)
            elapsed = time.monotonic() - start
            text = describe(progress, elapsed, step.budget_s)
            left = step_remaining(progress, elapsed, step.budget_s)
            key = (progress or {}).get("phase"), (progress or {}).get("epoch")
            status.show(f"{label} {step.name}: {text} | {run_clock.overall(left)}", key)
            time.sleep(poll_s)
    except KeyboardInterrupt:
        stop_group(proc)
        raise
    return proc.returncode, time.monotonic() - start, read_progress(progress_path)


def stop_group(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGINT to the child's process group (Lightning stops cleanly), then SIGKILL."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log (progress bars' carriage returns folded)."""
    with contextlib.suppress(OSError):
        text = path.read_text(errors="replace").replace("\r", "\n")
        kept = [line for line in text.splitlines() if line.strip()]
        return "\n".join("    " + line for line in kept[-lines:])
    return ""


def failure_message(step: Step, code: int, seconds: float, log_path: Path, left: list[str]) -> str:
    """What the user reads when a step fails: which, how, the log's end and its path, what next."""
    rerun = (
        "Fix the cause and run `make run` again: bundles already trained are kept, and it goes "
        f"on from {step.name}."
        if step.name != "evaluation"
        else "The bundles are trained and kept; `python evaluate.py` retries the evaluation."
    )
    not_run = f" Not run: {', '.join(left)}." if left else ""
    return (
        f"\nmake run FAILED: {step.name} exited with code {code} after {clock(seconds)}. "
        f"The end of its log:\n{log_tail(log_path)}\n\nFull log: {log_path}\n{rerun}{not_run}"
    )


def finished_message(step: Step, seconds: float, progress: dict[str, Any] | None) -> str:
    budget = f" (budget {format_minutes(step.budget_s)})" if step.budget_s is not None else ""
    metric = ""
    if progress and progress.get("metric_value") is not None:
        metric = f"; last {progress['metric']} {progress['metric_value']:.3f}"
    return f"{step.name} done in {clock(seconds)}{budget}{metric}"


def run_steps(steps: list[Step], log_dir: Path, status: StatusLine | None = None) -> int:
    """Run the steps in order; stop at the first failure (exit code 1 with its message)."""
    status = status or StatusLine()
    run_clock = RunClock(later_budgets=[s.budget_s for s in steps])
    for i, step in enumerate(steps):
        run_clock.later_budgets = [s.budget_s for s in steps[i + 1 :]]
        label = f"[{i + 1}/{len(steps)}]"
        code, seconds, progress = run_step(step, label, log_dir, run_clock, status)
        if code != 0:
            status.done(f"{label} {step.name}: FAILED")
            left = [s.name for s in steps[i + 1 :]]
            print(failure_message(step, code, seconds, log_dir / f"{step.name}.log", left))
            return 1
        status.done(f"{label} {finished_message(step, seconds, progress)}")
    spent = time.monotonic() - run_clock.start
    print(f"all {len(steps)} steps done in {clock(spent)}", flush=True)
    return 0


# ============================================================================================
# The command
# ============================================================================================
def root_dir() -> Path:
    """Where the runs write (``paths.root_dir``: ``$WARDROBE_ROOT`` or the current directory)."""
    return Path(os.environ.get("WARDROBE_ROOT") or Path.cwd())


def plan_steps(args: argparse.Namespace, present: list[str], root: Path) -> list[Step]:
    """The steps this run needs: a training run per missing model, then the evaluation."""
    chosen = [m for m in default_models() if not args.models or m in args.models]  # in order
    missing = [m for m in chosen if args.force or m not in present]
    first_use = not (root / SYNTH_DIR).is_dir()
    steps = [
        training_step(name, args.hardware, args.override, CONF_DIR, first_use and i == 0)
        for i, name in enumerate(missing)
    ]
    if steps and not args.no_evaluate:
        steps.append(evaluation_step(args.hardware, args.eval_override))
    return steps


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hardware", default="cpu", help="hardware profile (conf/hardware)")
    parser.add_argument("--force", action="store_true", help="retrain even if a bundle exists")
    parser.add_argument("--models", nargs="+", help="only these models (default: every quickstart)")
    parser.add_argument("--no-serve", action="store_true", help="stop after the evaluation")
    parser.add_argument("--no-evaluate", action="store_true", help="skip evaluate.py")
    parser.add_argument(
        "--override", action="append", default=[], help="a Hydra override for every train.py"
    )
    parser.add_argument(
        "--eval-override", action="append", default=[], help="a Hydra override for evaluate.py"
    )
    parser.add_argument("--port", type=int, default=8000, help="port of the service")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models or ()) - set(default_models()))
    if unknown:
        parser.error(f"no quickstart for {unknown}; the models are {default_models()}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Show the plan, train what is missing with live progress, evaluate, then serve."""
    args = parse_args(argv)
    root = root_dir()
    present = sorted(list_bundles(root / "model_artifacts"))
    steps = plan_steps(args, present, root)
    log_dir = root / "logs" / "quickstart" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    print_plan(steps, present, args.hardware, log_dir)
    try:
        code = run_steps(steps, log_dir)
    except KeyboardInterrupt:
        print("\nstopped (Ctrl+C); bundles already trained are kept", flush=True)
        return 130
    if code:
        return code
    if any(s.name == "evaluation" for s in steps):
        print_report_path(root)
    if args.no_serve:
        return 0
    return serve_and_show(port=args.port)


def print_report_path(root: Path) -> None:
    """Where evaluate.py wrote its report (the newest under ``reports/``)."""
    reports = sorted((root / "reports").glob("*/report.md"), key=lambda p: p.stat().st_mtime)
    if reports:
        print(f"evaluation report: {reports[-1]}", flush=True)


def example_photo() -> Path:
    """An existing photo for the example ``curl`` call."""
    for candidate in EXAMPLE_PHOTOS:
        if Path(candidate).is_file():
            return Path(candidate)
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets" / "zidane.jpg"


def example_calls(url: str, photo: Path, user: str = "demo") -> list[str]:
    """Two ``curl`` calls: ingest a photo, then search the wardrobe it started."""
    search = json.dumps({"user_id": user, "text": "a blue shirt", "n": 3})
    return [
        f"curl -s -F image=@{shlex.quote(str(photo))} -F user_id={user} {url}/v1/garments",
        f"curl -s -X POST {url}/v1/search -H 'Content-Type: application/json' "
        f"-d {shlex.quote(search)}",
    ]


def serve_and_show(
    port: int = 8000, overrides: list[str] | None = None, block: bool = True
) -> int | ServeProcess:
    """Start ``serve.py``, wait until healthy, print two working ``curl`` calls and the web
    app's address, then serve until Ctrl+C (``block=False``: return the running server)."""
    server = ServeProcess(
        [*(overrides or [])], port=port, cwd=Path.cwd(), env=with_malloc_env(os.environ)
    )
    print("+", " ".join(server.command[1:]), flush=True)
    server.start()
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    url = server.url
    calls = example_calls(url, example_photo())
    print(
        f"\nThe service is up at {url} (API docs: {url}/docs). Try:\n\n"
        + "\n".join(calls)
        + f"\n\nThe wardrobe web app: open {url}/ in a browser.\nCtrl+C stops it.",
        flush=True,
    )
    if not block:
        return server
    try:
        return server.proc.wait()
    except KeyboardInterrupt:
        return server.stop() or 0


if __name__ == "__main__":
    sys.exit(main())
