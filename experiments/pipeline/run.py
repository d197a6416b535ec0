"""The Keras side of one run: a clean seeded session, `fit` with resume, the test evaluation.

Importing this module loads TensorFlow (seconds); `experiments.train` imports it only once the
configuration is known to be valid.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.base import Task
from experiments import outputs
from experiments.cli import tf_logs
from experiments.export.saved_model import export_saved_model
from experiments.pipeline import solved
from experiments.pipeline.divergence import DivergenceError, DivergenceGuard
from experiments.pipeline.gate_metrics import retention_metrics
from experiments.pipeline.model import build_model
from experiments.pipeline.patching import patching_metrics
from experiments.pipeline.resume import (
    BackupUnreadableError,
    ResumableEarlyStopping,
    RunBackup,
    TrainingClock,
)
from experiments.pipeline.stopping import StopWhenSolved
from experiments.tensorboard.logger import RunLogger

log = logging.getLogger(__name__)
if tf_logs.quiet():
    # TensorFlow's Python logger (given a stderr handler once TensorBoard is imported) logs
    # "Assets written to …" at INFO for every SavedModel save
    tf.get_logger().setLevel(logging.WARNING)


def start_session(seed: int, deterministic: bool, intra_op: int, inter_op: int) -> None:
    """The one place that seeds: a fresh Keras session, then Python/numpy/TF seeds from `seed`.

    Thread counts (0: TensorFlow's choice) can only be set before TensorFlow's first op; a
    process that runs several jobs (basic launcher, process_pool workers) keeps the first job's
    counts. Op determinism, once on, stays on for the rest of the process.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:
        log.warning("TensorFlow already started: thread counts stay as they were in this process")
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    log.info(
        "seed %d, deterministic %s, TensorFlow threads intra_op=%d inter_op=%d (0: all cores)",
        seed,
        deterministic,
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )


def make_model(cfg_model: DictConfig, task: Task) -> keras.Model:
    """Build the model `conf/model/<name>.yaml` describes for `task`."""
    return build_model(
        task.spec,
        layer=instantiate(cfg_model.layer),
        num_layers=cfg_model.num_layers,
        embedding_dim=cfg_model.embedding_dim,
    )


def fit(
    model: keras.Model,
    task: Task,
    trainer: DictConfig,
    run_dir: Path,
    callbacks: list[keras.callbacks.Callback],
    verbose: int,
    clock: TrainingClock | None = None,
) -> tuple[int, float]:
    """Compile and train on the train split, validating on val; return the epochs completed and
    the seconds spent training (a resumed run's earlier attempts included).

    Resumes from `run_dir/backup` when an earlier attempt was killed mid-training; a backup
    that cannot be read is removed with a warning and the run starts over.

    Raises:
        DivergenceError: the loss became NaN/inf or exploded (`experiments.pipeline.divergence`).
    """
    splits = task.splits()
    train, val = splits["train"], splits["val"]
    model.compile(
        optimizer=instantiate(trainer.optimizer),
        loss=task.loss(),
        metrics=[solved.compiled_metric(task.spec.is_classification)],
        jit_compile=trainer.jit_compile,
    )
    guard, clock = DivergenceGuard(), clock or TrainingClock()
    stateful: dict[str, Any] = {"divergence": guard, "clock": clock}
    if trainer.patience is not None:
        stateful["early_stopping"] = ResumableEarlyStopping(
            monitor="val_loss", patience=trainer.patience, restore_best_weights=True
        )
    if trainer.solved_monitor is not None:  # stateless: outside the backup's state
        callbacks = [StopWhenSolved(trainer.solved_monitor, trainer.solved_at), *callbacks]
    backup = RunBackup(run_dir / outputs.BACKUP, stateful)
    done = backup.restore_finished(model)
    if done is not None:  # killed after training, while evaluating or saving
        log.info(
            "training had ended (%d epochs) before an interruption: not training again", done[0]
        )
        return done
    try:
        initial_epoch = backup.restore(model)
    except BackupUnreadableError as exc:
        log.warning("%s: starting this run over", exc)
        shutil.rmtree(backup.backup_dir)
        initial_epoch = 0
    if initial_epoch:
        log.info("resuming after epoch %d from %s", initial_epoch, backup.backup_dir)
        if _was_solved(trainer, clock):  # killed between the solved epoch and the end of fit
            backup.set_model(model)  # as `fit` would have
            backup.finish(initial_epoch, clock.seconds())
            return initial_epoch, clock.seconds()
    history = model.fit(
        train.x,
        train.y,
        validation_data=(val.x, val.y),
        batch_size=trainer.batch_size,
        epochs=trainer.epochs,
        initial_epoch=initial_epoch,
        callbacks=[*stateful.values(), *callbacks, backup],  # backup last: it saves their state
        verbose=verbose,
    )
    if guard.reason is not None:
        shutil.rmtree(backup.backup_dir, ignore_errors=True)  # a rerun starts over
        raise DivergenceError(guard.reason)
    epochs = history.epoch[-1] + 1 if history.epoch else trainer.epochs
    backup.finish(epochs, clock.seconds())
    return epochs, clock.seconds()


def _was_solved(trainer: DictConfig, clock: TrainingClock) -> bool:
    """Whether the last epoch a resumed run had trained already met its success criterion
    (`clock.val` holds the validation logs of every epoch trained so far)."""
    values = clock.val.get(trainer.solved_monitor or "", [])
    return bool(values) and solved.reached(trainer.solved_monitor, values[-1], trainer.solved_at)


def evaluate(model: keras.Model, task: Task, batch_size: int) -> dict[str, float]:
    """`test_loss`, `test_<metric>` for each task metric and `baseline_<name>` for each baseline."""
    test = task.splits()["test"]
    scores = model.evaluate(test.x, test.y, batch_size=batch_size, verbose=0, return_dict=True)
    test_loss = scores["loss"]
    y_pred = model.predict(test.x, batch_size=batch_size, verbose=0)
    if not np.all(np.isfinite(y_pred)):
        raise DivergenceError("the model's test predictions contain NaN/inf")
    metrics = {"test_loss": float(test_loss)}
    metrics |= {f"test_{key}": float(value) for key, value in task.metrics(y_pred, test).items()}
    metrics |= {f"baseline_{key}": float(value) for key, value in task.baselines().items()}
    return metrics


def run(
    cfg: DictConfig,
    task: Task,
    run_dir: Path,
    hparams: dict[str, Any],
    verbose: int,
) -> dict[str, Any]:
    """Seed, build, train, evaluate and save one run; return its numbers for `metrics.json`."""
    start_session(cfg.seed, cfg.deterministic, cfg.threads.intra_op, cfg.threads.inter_op)
    model = make_model(cfg.model, task)
    logger: RunLogger = instantiate(cfg.logger)
    log_dir = run_dir / outputs.TENSORBOARD
    callbacks = logger.callbacks(model, task, log_dir)
    clock = TrainingClock()
    epochs, train_seconds = fit(model, task, cfg.trainer, run_dir, callbacks, verbose, clock)
    result = {
        "params": model.count_params(),
        "epochs": epochs,
        "train_seconds": round(train_seconds, 3),
        **clock.per_epoch(),  # empty lists when a run resumed after its training had ended
        **evaluate(model, task, cfg.trainer.batch_size),
        **retention_metrics(model, task),  # at the steps the task is about (`Task.gate_means`)
    }
    if cfg.measure.patching:  # the memory gate clamped and patched at but/and (gate_patching)
        result |= patching_metrics(model, task)
    model.save(run_dir / outputs.MODEL)
    preprocessing = task.preprocessing()
    if preprocessing is not None:
        outputs.write_json(run_dir / outputs.PREPROCESSING, preprocessing)
    if cfg.export:
        labels = task.spec.labels  # the class names travel with the SavedModel
        export_saved_model(
            model, run_dir / outputs.SAVED_MODEL, preprocessing=preprocessing, labels=labels
        )
    logger.log_run_end(model, task, log_dir, hparams, result)
    return result
