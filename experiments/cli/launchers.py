"""Launcher settings and output folders checked before Hydra creates anything.

Hydra creates the sweep folder, and hydra-submitit-launcher submits, before either can say that
`cpus_per_task=0`, a partition that does not exist or a read-only disk cannot work; they then
fail in a 40-line traceback with a folder left behind. These checks ask the same questions first
(`sinfo` for the cluster's partitions, `os.access` for the disk) and refuse in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from experiments.cli.config import ConfigError

SLURM_LAUNCHERS = ("gatelab_slurm", "submitit_slurm")
SINFO_TIMEOUT_S = 20  # `sinfo` waits this long for an unreachable controller at most
# `sinfo -h -o`: partition (a `*` marks the default), memory per node (MB), CPUs per node.
SINFO_FORMAT = "%P %m %c"


@dataclass(frozen=True)
class Partition:
    """What one Slurm partition offers a single job: the largest node's memory and CPUs."""

    name: str
    default: bool
    mem_mb: int
    cpus: int


def _launcher(config: DictConfig) -> str | None:
    """The `hydra/launcher` option a composed config chose."""
    return (OmegaConf.select(config, "hydra.runtime.choices") or {}).get("hydra/launcher")


def _number(text: str) -> int:
    """`sinfo`'s `20000`, `20000+` (nodes differ: the smallest) or `1-4` as an int."""
    return int(text.rstrip("+").split("-")[-1])


def partitions() -> list[Partition]:
    """The partitions `sinfo` lists, one entry per partition with its largest node.

    Raises:
        ConfigError: `sinfo` is missing or cannot reach the Slurm controller.
    """
    if shutil.which("sinfo") is None:
        raise ConfigError(
            "launcher=slurm: `sinfo` is not on PATH: this machine is no Slurm client; run the "
            "sweep where Slurm's commands work, or use launcher=local or launcher=parallel"
        )
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", SINFO_FORMAT],
            capture_output=True,
            text=True,
            timeout=SINFO_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        done = None
    if done is None or done.returncode != 0:
        why = "no answer" if done is None else (done.stderr.strip().splitlines() or ["?"])[-1]
        raise ConfigError(
            f"launcher=slurm: the Slurm controller cannot be reached (`sinfo`: {why}); "
            "start it or run the sweep with launcher=local"
        )
    found: dict[str, Partition] = {}
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) != 3:
            continue
        name, default = fields[0].rstrip("*"), fields[0].endswith("*")
        mem, cpus = _number(fields[1]), _number(fields[2])
        old = found.get(name)
        if old is None or (mem, cpus) > (old.mem_mb, old.cpus):
            found[name] = Partition(name, default or (old is not None and old.default), mem, cpus)
    return list(found.values())


def check_slurm_settings(config: DictConfig) -> None:
    """Refuse Slurm settings that cannot give a working job, before anything is submitted.

    Raises:
        ConfigError: naming the `hydra.launcher.<key>`, its value and what is allowed.
    """
    launcher = config.hydra.launcher
    key = "hydra.launcher"
    positive = {"cpus_per_task": 1, "timeout_min": 1, "array_parallelism": 1}
    for name, minimum in positive.items():
        value = launcher.get(name)
        if value is not None and (isinstance(value, bool) or value < minimum):
            raise ConfigError(f"{key}.{name}={value!r}: expected an integer >= {minimum}")
    mem_gb = launcher.get("mem_gb")
    if mem_gb is not None and not mem_gb > 0:
        raise ConfigError(f"{key}.mem_gb={mem_gb!r}: expected a positive number of GB")
    for name in ("signal_delay_s", "max_num_timeout"):
        value = launcher.get(name)
        if value is not None and value < 0:
            raise ConfigError(f"{key}.{name}={value!r}: expected an integer >= 0")
    timeout_s, delay = launcher.get("timeout_min", 0) * 60, launcher.get("signal_delay_s") or 0
    if timeout_s and delay >= timeout_s:
        raise ConfigError(
            f"{key}.signal_delay_s={delay}: the requeue signal would come at once, with "
            f"{key}.timeout_min={launcher.timeout_min} ({timeout_s} s); expected fewer seconds "
            "than the time limit (about a tenth of it)"
        )
    _check_partition(launcher)


def _check_partition(launcher: DictConfig) -> None:
    """The partition exists and one of its nodes has the CPUs and memory a job asks for."""
    available = partitions()
    name = launcher.get("partition")
    if name is None:
        chosen = next((p for p in available if p.default), None)
        if chosen is None:
            names = ", ".join(p.name for p in available) or "none"
            raise ConfigError(
                f"hydra.launcher.partition=null: the cluster has no default partition; "
                f"allowed: {names}"
            )
    else:
        chosen = next((p for p in available if p.name == name), None)
        if chosen is None:
            names = ", ".join(p.name for p in available) or "none"
            raise ConfigError(
                f"hydra.launcher.partition={name}: no such partition; allowed: {names}"
            )
    cpus, mem_gb = launcher.get("cpus_per_task"), launcher.get("mem_gb")
    if cpus is not None and cpus > chosen.cpus:
        raise ConfigError(
            f"hydra.launcher.cpus_per_task={cpus}: partition {chosen.name}'s nodes have at most "
            f"{chosen.cpus} CPUs"
        )
    if mem_gb is not None and mem_gb * 1024 > chosen.mem_mb:
        raise ConfigError(
            f"hydra.launcher.mem_gb={mem_gb}: partition {chosen.name}'s nodes have at most "
            f"{chosen.mem_mb / 1024:g} GB"
        )


def check_output_folder(config: DictConfig, multirun: bool) -> None:
    """Refuse a `hydra.run.dir` / `hydra.sweep.dir` this process cannot write into (a read-only
    disk), before Hydra creates it. The nearest existing folder decides.

    Raises:
        ConfigError: naming the key, the folder and why.
    """
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    try:
        folder = Path(str(OmegaConf.select(config, key))).absolute()
    except Exception:  # an interpolation only a running job resolves (`${hydra:job.num}`)
        return
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"{key}={folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        readonly = _read_only(existing)
        why = "a read-only file system" if readonly else "no permission to write"
        raise ConfigError(
            f"{key}={folder}: cannot write there ({why} at {existing}); allowed: a folder "
            "you can write to"
        )


def _read_only(folder: Path) -> bool:
    """Whether `folder` is on a file system mounted read-only."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def check_launch(config: DictConfig, multirun: bool) -> None:
    """Every check of this module that applies to the composed `config`."""
    check_output_folder(config, multirun)
    if multirun and _launcher(config) in SLURM_LAUNCHERS:
        check_slurm_settings(config)
