"""Inside a job process: data -> training -> evaluation -> adapter, reporting to the store as it goes.

`run_job(job_dir, job_id)` is what `python -m core.training job ...` runs (the job manager starts it
as a separate, low-priority process). Progress, phase, loss history and the final status go to the
job's `training_jobs` row (when a store is configured) and always to `<job_dir>/progress.json`.
Cancel: the row's `cancel_requested`, a `CANCEL` file in the job folder, or SIGTERM; the run stops
after the current micro-batch with a checkpoint, so it can be resumed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
import traceback
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from core.model.adapter_files import write_card
from core.training.adapters import AdapterRegistry
from core.training.data import (
    DatasetSplit,
    build_dataset,
    build_samples,
    export_jsonl,
    load_jsonl,
    split_samples,
)
from core.training.errors import TrainingError
from core.training.jobspec import JobConfig
from core.training.trainer import Hooks, Progress, TrainResult, train

if TYPE_CHECKING:
    from core.store import Store

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
PROGRESS_FILE = "progress.json"
CANCEL_FILE = "CANCEL"
LOG_FILE = "train.log"
DATA_DIR = "data"
RUN_DIR = "run"
VQA_CACHE = "vqa_before.json"


def log_tail(job_dir: Path, lines: int = 30, max_chars: int = 6000) -> str:
    path = Path(job_dir) / LOG_FILE
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])[-max_chars:]


class JobReporter:
    """Writes a job's state to its store row (if any) and to `progress.json`; answers "cancelled?"."""

    def __init__(self, job_dir: Path, store: Store | None = None, job_id: int | None = None,
                 min_interval_s: float = 0.5) -> None:
        self.job_dir = Path(job_dir)
        self.store = store
        self.job_id = job_id
        self.min_interval_s = min_interval_s
        self.state: dict[str, Any] = {"phase": "starting", "loss_history": [], "host": socket.gethostname(),
                                      "job_dir": str(self.job_dir), "pid": os.getpid()}
        self.progress_fraction = 0.0
        self._last_write = 0.0
        self._last_cancel_check = 0.0
        self._cancel = False
        if store is not None and job_id is not None:
            row_metrics = self._row_metrics()
            self.state["loss_history"] = list(row_metrics.get("loss_history", []))
            for key in ("data", "vqa_before"):
                if key in row_metrics:
                    self.state[key] = row_metrics[key]

    # ---- store access -------------------------------------------------------------------------------
    def _row_metrics(self) -> dict[str, Any]:
        from core.store.models import TrainingJob

        with self.store.session() as s:  # type: ignore[union-attr]
            row = s.get(TrainingJob, self.job_id)
            return dict(row.metrics or {}) if row is not None else {}

    def _write(self, *, status: str | None = None, message: str | None = None, force: bool = False,
               finished: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        payload = {**self.state, "progress": self.progress_fraction, "status": status, "message": message,
                   "updated": datetime.now(UTC).isoformat()}
        tmp = self.job_dir / (PROGRESS_FILE + ".tmp")
        try:
            tmp.write_text(json.dumps(payload, default=str))
            os.replace(tmp, self.job_dir / PROGRESS_FILE)
        except OSError as exc:
            log.warning("cannot write %s: %s", PROGRESS_FILE, exc)
        if self.store is None or self.job_id is None:
            return
        from core.store.models import TrainingJob

        try:
            with self.store.session() as s:
                row = s.get(TrainingJob, self.job_id)
                if row is None:
                    return
                row.metrics = dict(self.state)
                row.progress = float(self.progress_fraction)
                if status is not None:
                    row.status = status
                if message is not None:
                    row.message = message
                if finished:
                    row.finished_at = datetime.now(UTC)
                    row.pid = None
        except Exception as exc:  # noqa: BLE001 - a busy database must not kill the training run
            log.warning("cannot update job %s in the store: %s", self.job_id, exc)

    # ---- reporting ----------------------------------------------------------------------------------
    def phase(self, name: str) -> None:
        log.info("phase: %s", name)
        self.state["phase"] = name
        self._write(message=name, force=True)

    def start(self) -> None:
        from core.store.models import JobStatus

        self.state["started"] = datetime.now(UTC).isoformat()
        self._write(status=JobStatus.RUNNING.value, message="starting", force=True)

    def progress(self, p: Progress) -> None:
        self.state.update(step=p.step, total_steps=p.total_steps, loss=p.loss, lr=p.lr,
                          samples_per_s=p.samples_per_s, eta_s=p.eta_s, elapsed_s=p.elapsed_s, epoch=p.epoch)
        self.state["loss_history"].append([p.step, p.loss])
        self.progress_fraction = p.fraction
        log.info("step %d/%d loss %.4f lr %.2e %.2f samples/s eta %.0f s", p.step, p.total_steps, p.loss, p.lr,
                 p.samples_per_s, p.eta_s)
        self._write(force=p.step == p.total_steps)

    def checkpoint(self, path: Path) -> None:
        self.state["checkpoint"] = str(path)
        self.state["resumable"] = True
        self._write(force=True)

    def update(self, **values: Any) -> None:
        self.state.update(values)
        self._write(force=True)

    def finish(self, status: str, message: str) -> None:
        self.state["phase"] = status
        self._write(status=status, message=message, force=True, finished=True)

    def cancel_requested(self) -> bool:
        if self._cancel:
            return True
        if (self.job_dir / CANCEL_FILE).exists():
            self._cancel = True
            return True
        now = time.monotonic()
        if self.store is not None and self.job_id is not None and now - self._last_cancel_check > 1.0:
            self._last_cancel_check = now
            from core.store.models import TrainingJob

            try:
                with self.store.session() as s:
                    row = s.get(TrainingJob, self.job_id)
                    self._cancel = bool(row is not None and row.cancel_requested)
            except Exception as exc:  # noqa: BLE001
                log.warning("cannot read the cancel flag: %s", exc)
        return self._cancel

    def request_cancel(self) -> None:
        self._cancel = True


# ---- the pipeline -----------------------------------------------------------------------------------
def image_size_of(processor: Any, default: int = 224) -> int:
    size = getattr(getattr(processor, "image_processor", None), "size", None)
    for key in ("height", "shortest_edge"):
        value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
        if value:
            return int(value)
    return default


def build_job_data(cfg: JobConfig, image_size: int, store: Store | None) -> DatasetSplit:
    from core.training.sources import expert_episodes, store_episodes

    spec = cfg.data
    dc = spec.sample_config(image_size, cfg.train.action_format)
    records: list[Any] = []
    if spec.episode_ids:
        if store is None:
            raise TrainingError("recorded episodes were selected but no store is configured (VLM2VLA_DB_URL)")
        records.extend(store_episodes(store, spec.episode_ids, camera=spec.inputs.camera,
                                      verbalize_missing=spec.verbalize_missing))
    if spec.expert_seeds:
        records.extend(expert_episodes(spec.expert_seeds, kind=spec.expert_kind, camera=spec.inputs.camera,
                                       image_size=image_size, start_jitter=spec.expert_start_jitter,
                                       start_near=spec.expert_start_near, direct=spec.expert_direct,
                                       robot=spec.inputs.robot))
    if not spec.inputs.grounded:
        return build_dataset(records, dc)
    from core.policy.grounding import sim_grounder

    grounder = sim_grounder(image_size, robot=spec.inputs.robot)
    samples = build_samples(records, dc, grounder.lines) if records else []
    if spec.servo_seeds:
        from core.training.corrections import correction_samples

        samples += correction_samples(spec.servo_seeds, grounder.line, noise=spec.servo_noise,
                                      noise_cm=spec.servo_noise_cm, kinds=spec.servo_kinds, starts=spec.servo_starts,
                                      image_size=image_size, robot=spec.inputs.robot, heights=grounder.heights)
    return split_samples(samples, dc)


def _vqa_before_cached(job_dir: Path, key: str) -> float | None:
    path = job_dir.parent / VQA_CACHE
    try:
        return float(json.loads(path.read_text())[key])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cache_vqa_before(job_dir: Path, key: str, value: float) -> None:
    path = job_dir.parent / VQA_CACHE
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
        data[key] = value
        path.write_text(json.dumps(data, indent=1))
    except (OSError, ValueError) as exc:
        log.warning("cannot cache the VQA baseline: %s", exc)


def heldout_pick(samples: list[Any], n: int) -> list[Any]:
    """Up to `n` held-out samples: half of them action samples, the rest round-robin over the other kinds."""
    by_kind: dict[str, list[Any]] = {}
    for s in samples:
        by_kind.setdefault(s.kind, []).append(s)
    actions = by_kind.pop("actions", [])
    out = actions[: max(1, n // 2) if by_kind else n]
    queues = [list(v) for _, v in sorted(by_kind.items())]
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    rest = actions[len(out):] if len(out) < n else []
    return out + rest[: n - len(out)]


def evaluate_job(cfg: JobConfig, result: TrainResult, split: DatasetSplit, image_size: int, job_dir: Path,
                 reporter: JobReporter) -> dict[str, Any]:
    from core.training.collate import ChatEncoder
    from core.training.evaluate import evaluate_samples, sim_success, vqa_retention

    metrics: dict[str, Any] = {"final_loss": result.final_loss, "steps": result.step,
                               "train_samples_per_s": result.samples_per_s, "train_wall_s": result.wall_s}
    ev = cfg.eval

    def stop_here() -> bool:  # the adapter is trained: a cancel now skips the rest of the evaluation
        if reporter.cancel_requested():
            metrics["eval_skipped"] = "cancelled during evaluation"
            return True
        return False

    if ev.max_samples and split.val and not stop_here():
        held = heldout_pick(split.val, ev.max_samples)
        encoder = ChatEncoder(result.processor, result.codec, cfg.train.max_length)
        r = evaluate_samples(result.model, encoder, held, codec=result.codec, max_new_tokens=ev.max_new_tokens)
        metrics.update(action_parse_rate=r.parse_rate, action_cm_error=r.mean_cm_error,
                       gripper_accuracy=r.gripper_accuracy, heldout_accuracy=r.per_kind,
                       heldout_samples=r.n, eval_examples=r.examples)
        reporter.update(eval=metrics)
    if ev.vqa_scenes and not stop_here():
        try:
            key = f"{result.base_model}|{ev.vqa_scenes}|{ev.vqa_seed}|{image_size}"
            before = _vqa_before_cached(job_dir, key)
            v = vqa_retention(result.model, result.processor, n_scenes=ev.vqa_scenes, seed=ev.vqa_seed,
                              image_size=image_size, before=before)
            if before is None and v.before is not None:
                _cache_vqa_before(job_dir, key, v.before)
            metrics.update(vqa_before=v.before, vqa_after=v.after, vqa_retention=v.ratio, vqa_questions=v.n,
                           vqa_per_kind_after=v.per_kind_after)
        except ImportError as exc:
            metrics["vqa_error"] = f"scene-VQA set unavailable: {exc}"
        reporter.update(eval=metrics)
    if ev.sim_episodes and result.codec is None and not stop_here():  # the AT baseline cannot drive the loop
        reporter.phase("evaluating in the simulator")
        sim = sim_success(result.model, result.processor, inputs=cfg.data.inputs, episodes=ev.sim_episodes,
                          seed=ev.sim_seed, image_size=image_size, time_limit_s=ev.sim_time_limit_s)
        metrics.update(sim_success=sim.success_rate, sim_episodes=sim.n,
                       sim_malformed=sum(e.malformed for e in sim.episodes))
        reporter.update(eval=metrics)
    return metrics


def run_job(job_dir: Path, job_id: int | None = None, store: Store | None = None,
            adapters_root: Path | None = None) -> int:
    """Run (or resume) the job in `job_dir`; returns the process exit code (0 done/cancelled, 1 failed)."""
    from core.store.models import JobStatus

    job_dir = Path(job_dir)
    reporter = JobReporter(job_dir, store, job_id)
    signal.signal(signal.SIGTERM, lambda *_: reporter.request_cancel())
    t0 = time.perf_counter()
    try:
        cfg = JobConfig.load(job_dir / CONFIG_FILE)
        reporter.start()
        threads = cfg.train.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or None
        if threads:
            torch.set_num_threads(threads)
        reporter.phase("loading model")
        from core.training.model_io import load_base

        device = "cuda" if torch.cuda.is_available() else "cpu"
        model, processor, base_ref = load_base(cfg.train.base_model, device)
        image_size = image_size_of(processor)

        data_dir = job_dir / DATA_DIR
        if (data_dir / "samples.jsonl").exists():
            reporter.phase("loading data")
            split = load_jsonl(data_dir)
        else:
            reporter.phase("building data")
            split = build_job_data(cfg, image_size, store)
            export_jsonl(split, data_dir)
            split = load_jsonl(data_dir)  # train on exactly what a resume would read back
        reporter.update(data=split.summary())
        if reporter.cancel_requested():
            reporter.finish(JobStatus.CANCELLED.value, "cancelled before training started")
            return 0

        reporter.phase("training")
        result = train(replace(cfg.train, base_model=base_ref), split.train, job_dir / RUN_DIR, model=model,
                       processor=processor,
                       hooks=Hooks(on_progress=reporter.progress, should_cancel=reporter.cancel_requested,
                                   on_checkpoint=reporter.checkpoint))
        if result.status == "cancelled":
            reporter.update(resumable=result.checkpoint is not None,
                            checkpoint=str(result.checkpoint) if result.checkpoint else None)
            reporter.finish(JobStatus.CANCELLED.value,
                            f"cancelled at step {result.step}/{result.total_steps}; resume continues from there")
            return 0

        reporter.phase("evaluating")
        metrics = evaluate_job(cfg, result, split, image_size, job_dir, reporter)

        reporter.phase("saving adapter")
        card = {
            "name": cfg.name,
            "base_model": base_ref,
            "action_format": cfg.train.action_format,
            "codec": result.codec.to_dict() if result.codec else None,
            "hyperparameters": cfg.train.to_dict(),
            "data": {**split.summary(), "episode_ids": list(cfg.data.episode_ids),
                     "expert_seeds": list(cfg.data.expert_seeds), "max_entries": cfg.data.max_entries,
                     **cfg.data.inputs.card_data(),  # what the policy reads back (core.policy.config)
                     "window_stride": cfg.data.window_stride, "expert_start_jitter": cfg.data.expert_start_jitter,
                     "expert_start_near": cfg.data.expert_start_near, "expert_direct": cfg.data.expert_direct,
                     "mid_entries": cfg.data.mid_entries, **({"servo_seeds": list(cfg.data.servo_seeds),
                                                               "servo_noise": cfg.data.servo_noise,
                                                               "servo_noise_cm": cfg.data.servo_noise_cm,
                                                               "servo_kinds": list(cfg.data.servo_kinds),
                                                               "servo_starts": list(cfg.data.servo_starts)}
                                                              if cfg.data.servo_seeds else {}),
                     "train_episodes": split.train_episodes, "val_episodes": split.val_episodes},
            "metrics": {k: v for k, v in metrics.items() if k != "eval_examples"},
            "trainable_params": result.trainable_params,
            "created": datetime.now(UTC).isoformat(),
            "training_job_id": job_id,
        }
        assert result.adapter_dir is not None
        write_card(result.adapter_dir, card)
        adapter_name = None
        if store is not None:
            info = AdapterRegistry(store, adapters_root).add(result.adapter_dir, cfg.name, base_model=base_ref,
                                              training_job_id=job_id, metrics=card["metrics"])
            adapter_name = info.name
        reporter.update(eval=metrics, adapter=adapter_name, adapter_dir=str(result.adapter_dir),
                        wall_s=time.perf_counter() - t0, resumable=False)
        reporter.finish(JobStatus.DONE.value, f"done: {result.step} steps, final loss {result.final_loss:.4f}"
                        + (f", adapter {adapter_name}" if adapter_name else "")
                        + ("; evaluation skipped (cancelled)" if metrics.get("eval_skipped") else ""))
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the store with its reason
        log.error("job failed: %s\n%s", exc, traceback.format_exc())
        from core.training.checkpoint import latest_checkpoint

        ckpt = latest_checkpoint(job_dir / RUN_DIR)
        reporter.update(resumable=ckpt is not None, checkpoint=str(ckpt) if ckpt else None,
                        error=f"{type(exc).__name__}: {exc}")
        reporter.finish(JobStatus.FAILED.value, failure_message(exc, job_dir, ckpt is not None))
        if isinstance(exc, KeyboardInterrupt):
            raise
        return 1


def failure_message(exc: BaseException, job_dir: Path, resumable: bool) -> str:
    head = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MemoryError):
        head += " (out of memory: use a smaller batch_size or max_length)"
    if isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:
        head += " (disk full: free space and resume)"
    tail = log_tail(job_dir, 15)
    more = " It can be resumed from its last checkpoint." if resumable else ""
    return f"{head}.{more}\n--- log tail ---\n{tail}" if tail else head + "." + more
