"""Check a command line before Hydra runs it: bad input exits with status 2 and one line.

Hydra reports its own composition errors (an unknown option, key or type, a malformed override)
in several lines and with status 1, before any callback can run. `check_command_line` composes
the run, or every job of a sweep, the way Hydra will, and validates each
(`experiments.cli.config.validate_config`: ranges, the task's, the recurrent layer's and the
logger's checks, a memory estimate), and the memory of the jobs a launcher runs at the same time
(`check_memory_at_once`), so that every refusal reads `error: <key and value>: <what is
allowed>` and nothing is created.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

from hydra import initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from experiments.cli.config import (
    ConfigError,
    _size,
    machine_memory,
    memory_estimate,
    validate_config,
)
from experiments.cli.launchers import check_launch

CONFIG_NAME = "train"
HYDRA_FLAGS = ("help", "hydra_help", "cfg", "info", "shell_completion", "experimental_rerun")
HYDRA_FLAGS += ("config_path", "config_name", "config_dir")  # Hydra answers these itself


def one_line(exc: BaseException) -> str:
    """A Hydra/OmegaConf/config error as one line naming the key and what is allowed."""
    if isinstance(exc, MissingConfigException) and exc.options and exc.missing_cfg_file:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        return f"{group}={name}: no such option in conf/{group}/; allowed: {', '.join(exc.options)}"
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.full_key:
        return f"{cause.full_key}: {str(cause).splitlines()[0]}"
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        key = cause.full_key
        return f"{key}: no such key in the config (to add one anyway: +{key}=...)"
    lines = [line.strip() for line in str(exc).splitlines()]
    message = " ".join(line for line in lines if line and not line.startswith("See https://"))
    if isinstance(exc, OverrideParseException):
        message += _quoting_hint(exc.override)
    return message


def _quoting_hint(override: str) -> str:
    """How to write a value Hydra's grammar refused (a path with `é`, `( )`, `~`, …): quoted."""
    key, _, value = override.partition("=")
    if not value or value[0] in "'\"[" or not key.lstrip("+~").replace(".", "_").isidentifier():
        return ""
    return (
        "; allowed: a value of ASCII letters, digits and . / _ - : as it is, anything else in "
        f"quotes, e.g. '{key}=\"{value}\"' (with the single quotes, for the shell)"
    )


def sweep_jobs(config: DictConfig) -> list[list[str]]:
    """The override list of every job of the multirun `config`, as Hydra's basic sweeper makes
    them: `hydra.sweeper.params` first, command-line overrides replacing a key they share."""
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(config.hydra.overrides.task)
    loader = GlobalHydra.instance().config_loader()
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


_COMPOSED: dict[tuple[tuple[str, ...], ...], list[tuple[list[str], DictConfig, Any]]] = {}


def compose_jobs(config: DictConfig) -> list[tuple[list[str], DictConfig, Any]]:
    """`(overrides, job config, task)` for every job of the multirun `config`.

    The launching process needs them twice, here and in the sweep callback; Hydra composes a
    job in a tenth of a second, so the latest sweep's jobs are composed once and kept.

    Raises:
        ConfigError: a job does not compose or does not validate; the message names the job by
            the overrides that set it apart from the others (`model=rnn data.seq_len=0: ...`).
    """
    key = tuple(tuple(overrides) for overrides in sweep_jobs(config))
    if key in _COMPOSED:
        return _COMPOSED[key]
    loader = GlobalHydra.instance().config_loader()
    shared = set.intersection(*map(set, key)) if key else set()
    jobs = []
    for overrides in key:
        try:
            job_cfg = loader.load_sweep_config(config, list(overrides))
            jobs.append((list(overrides), job_cfg, validate_config(job_cfg)))
        except (HydraException, OmegaConfBaseException, ConfigError) as exc:
            job, message = " ".join(o for o in overrides if o not in shared), one_line(exc)
            raise ConfigError(
                f"{job}: {message}" if job and not message.startswith(job) else message
            ) from exc
    _COMPOSED.clear()
    _COMPOSED[key] = jobs
    return jobs


def check_launcher(config: DictConfig) -> None:
    """Refuse a worker count the launcher would only reject once the sweep folder exists.

    Raises:
        ConfigError: `hydra.launcher.n_jobs` below 1.
    """
    n_jobs = OmegaConf.select(config, "hydra.launcher.n_jobs")
    if n_jobs is not None and n_jobs < 1:
        raise ConfigError(f"hydra.launcher.n_jobs={n_jobs}: expected an integer >= 1")


def jobs_at_once(config: DictConfig, n_jobs: int) -> tuple[int, str]:
    """How many of a sweep's `n_jobs` jobs share this machine's memory at the same time, and the
    setting that decides it: 1 with `launcher=local` (one after another) and with
    `launcher=slurm` (each job on the node Slurm gives it, checked on its own), the worker
    count with `launcher=parallel`, every job with `launcher=submitit_local`."""
    launcher = (OmegaConf.select(config, "hydra.runtime.choices") or {}).get("hydra/launcher")
    if launcher == "process_pool":
        workers = OmegaConf.select(config, "hydra.launcher.n_jobs")
        return min(workers, n_jobs), f"launcher=parallel, hydra.launcher.n_jobs={workers}"
    if launcher == "submitit_local":
        return n_jobs, "launcher=submitit_local starts every job at once"
    return 1, f"hydra/launcher={launcher}"


def check_memory_at_once(config: DictConfig, jobs: list[tuple[list[str], DictConfig, Any]]) -> None:
    """Refuse a sweep whose largest jobs, run at the same time (`jobs_at_once`), need more
    memory together than this machine has; each job alone is checked by `validate_config`.

    Raises:
        ConfigError: naming the largest job, its estimate, the jobs at once and their sum.
    """
    at_once, setting = jobs_at_once(config, len(jobs))
    if at_once < 2:
        return
    shared = set.intersection(*(set(overrides) for overrides, _, _ in jobs))
    needs = sorted(
        ((sum(memory_estimate(cfg, task).values()), overrides) for overrides, cfg, task in jobs),
        key=lambda need: -need[0],
    )[:at_once]
    total, machine = sum(need for need, _ in needs), machine_memory()
    if total <= machine:
        return
    largest = " ".join(o for o in needs[0][1] if o not in shared) or "every job"
    raise ConfigError(
        f"{largest}: needs at least {_size(needs[0][0])} of memory × {at_once} jobs at once "
        f"({setting}): {_size(total)} for the {at_once} largest jobs together, more than this "
        f"machine's {_size(machine)}; choose smaller sizes or fewer jobs at once "
        "(hydra.launcher.n_jobs, or launcher=local: one after another)"
    )


def refuse(message: str) -> NoReturn:
    """Print `error: <message>` on stderr and exit with status 2 (also from Hydra's callbacks,
    which turn other exceptions into warnings)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _refuse_flags(message: str) -> NoReturn:
    """argparse's error, in one line."""
    refuse(f"{message} (flags such as -m go before the key=value overrides)")


def check_command_line(argv: list[str], config_dir: Path) -> None:
    """Compose and validate what `python -m experiments.train <argv>` would run; on bad input
    print one line and exit with status 2. Hydra's own flags (`--help`, `--cfg`, ...) are left
    to Hydra."""
    parser = get_args_parser()
    parser.error = _refuse_flags  # argparse would print its usage block and exit
    args = parser.parse_args(argv)
    if any(getattr(args, flag, None) for flag in HYDRA_FLAGS):
        return
    with initialize_config_dir(str(config_dir), version_base="1.3", job_name=CONFIG_NAME):
        loader = GlobalHydra.instance().config_loader()
        try:
            mode_cfg = loader.load_configuration(
                CONFIG_NAME, args.overrides, RunMode.MULTIRUN, validate_sweep_overrides=False
            )
            multirun = args.multirun or mode_cfg.hydra.mode == RunMode.MULTIRUN
            mode = RunMode.MULTIRUN if multirun else RunMode.RUN
            config = loader.load_configuration(CONFIG_NAME, args.overrides, mode)
            check_launch(config, multirun)
            if multirun:
                check_launcher(config)
                check_memory_at_once(config, compose_jobs(config))
            else:
                validate_config(config)
        except (HydraException, OmegaConfBaseException) as exc:
            refuse(one_line(exc))
        except ConfigError as exc:
            refuse(str(exc))
