"""Every config group composes and instantiates; bad values are refused before any training."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from hydra.utils import get_class, instantiate
from omegaconf.errors import OmegaConfBaseException

from data.base import Task
from experiments.cli.config import ConfigError, register_schemas, validate_config
from experiments.cli.preflight import sweep_jobs
from experiments.tensorboard.logger import RunLogger
from tests.conftest import CONF, TINY, run_cli


def options(group: str) -> list[str]:
    """The option names of a config group (`conf/<group>/*.yaml`)."""
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


def test_groups_have_the_options_the_readme_names():
    named = {"gru", "keras_gru", "keras_lstm", "keras_rnn", "lstm", "rnn"}  # and the cell zoo's
    assert named <= set(options("model"))
    assert {"local", "parallel", "slurm", "submitit_local"} <= set(options("launcher"))
    assert {"none", "tensorboard"} <= set(options("logger"))
    assert "context_switch" in options("experiment")


@pytest.mark.parametrize("name", options("model"))
def test_model_option_instantiates_its_layer(compose_cfg, name):
    import keras

    cfg = compose_cfg([f"model={name}", "model.units=5"])
    factory = instantiate(cfg.model.layer)
    assert isinstance(factory, functools.partial)
    layer = factory(return_sequences=True, name="rnn_0")
    assert isinstance(layer, keras.layers.Layer)
    assert layer.units == 5 and layer.return_sequences
    expected_module = "keras" if name.startswith("keras_") else "layers"
    assert type(layer).__module__.split(".")[0] == expected_module
    assert cfg.model.name == name


# `table` needs a file of the user's: tests/data/test_own_data.py instantiates it.
@pytest.mark.parametrize("name", [n for n in options("data") if n != "table"])
def test_data_option_instantiates_a_task(compose_cfg, name):
    cfg = compose_cfg([f"data={name}", "seed=3"])
    task = instantiate(cfg.data)
    assert isinstance(task, Task)
    assert task.spec.name == name
    assert cfg.data.seed == 3  # `seed: ${seed}` follows the top-level seed


@pytest.mark.parametrize("name", options("trainer"))
def test_trainer_option_instantiates_its_optimizer(compose_cfg, name):
    cfg = compose_cfg([f"trainer={name}", "trainer.learning_rate=0.01", "trainer.clipnorm=0.5"])
    optimizer = instantiate(cfg.trainer.optimizer)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert optimizer.clipnorm == 0.5
    assert cfg.trainer.jit_compile is False


@pytest.mark.parametrize("name", options("logger"))
def test_logger_option_instantiates_a_run_logger(compose_cfg, name):
    cfg = compose_cfg([f"logger={name}"])
    if name == "tensorboard":
        pytest.importorskip("experiments.tensorboard.writer")
    assert isinstance(instantiate(cfg.logger), RunLogger)


@pytest.mark.parametrize("name", options("launcher"))
def test_launcher_option_selects_an_installed_launcher(compose_cfg, name):
    cfg = compose_cfg([f"launcher={name}"], hydra=True)
    get_class(cfg.hydra.launcher._target_)  # the plugin is installed and importable
    if name == "parallel":  # two jobs on two cores: one TensorFlow thread each
        assert cfg.hydra.launcher.n_jobs == 2
        assert (cfg.threads.intra_op, cfg.threads.inter_op) == (1, 1)


@pytest.mark.parametrize("name", options("experiment"))
def test_experiment_preset_is_a_valid_sweep(name):
    register_schemas()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={name}"], return_hydra_config=True)
        jobs = sweep_jobs(cfg)
    assert len(jobs) >= 2
    assert all(any(o.startswith("model=") for o in job) for job in jobs)


def test_default_preset_has_the_values_the_readme_states():
    """`make sweep`'s preset against the README's "What `make sweep` shows" sentence."""
    readme = (CONF.parent / "README.md").read_text()
    sizes = re.search(
        r"\((\d+) units, ([\d,]+) sentences, (\d+) epochs, two jobs at a time\)", readme
    )
    lengths = re.search(r"with (\d+), (\d+) and (\d+) filler words\s+\((\d+)% of them", readme)
    assert sizes and lengths, "the README no longer states the preset's values"
    register_schemas()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=context_switch"], return_hydra_config=True)
        jobs = sweep_jobs(cfg)
        runs = [compose("train", overrides=["experiment=context_switch", *job]) for job in jobs]
    assert cfg.hydra.mode.name == "MULTIRUN" and cfg.hydra.launcher.n_jobs == 2
    assert sorted((run.model.name, run.data.seq_len) for run in runs) == sorted(
        (model, int(n)) for model in ("rnn", "lstm", "gru") for n in lengths.groups()[:3]
    )
    for run in runs:
        assert run.model.units == int(sizes.group(1))
        assert run.data.n_train == int(sizes.group(2).replace(",", ""))
        assert run.trainer.epochs == int(sizes.group(3))
        assert run.data.distractor_frac == int(lengths.group(4)) / 100
        assert run.data._target_.endswith("ContextSwitchTask") and run.seed == 0
        assert run.export and run.logger._target_.endswith("TensorBoardLogger")  # as measured


def test_sweep_run_directories_are_named_from_the_overrides(compose_cfg):
    cfg = compose_cfg(["model=gru", "data.seq_len=50", "launcher=parallel"], hydra=True)
    assert cfg.hydra.job.override_dirname == "data.seq_len=50,model=gru"
    assert re.fullmatch(r"outputs/runs/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-\d{6}", cfg.hydra.run.dir)


@pytest.mark.parametrize(
    "override, key",
    [
        ("trainer.batch_size=-1", "trainer.batch_size"),
        ("trainer.epochs=0", "trainer.epochs"),
        ("trainer.learning_rate=0", "trainer.learning_rate"),
        ("model.units=0", "model.units"),
        ("model.num_layers=0", "model.num_layers"),
        ("model.dropout=1.0", "model.dropout"),
        ("seed=-1", "seed"),
        ("data.seq_len=0", "seq_len"),
        ("data.seq_len=abc", "seq_len"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(compose_cfg, override, key):
    cfg = compose_cfg([override])
    with pytest.raises(ConfigError, match=key):
        validate_config(cfg)


@pytest.mark.parametrize(
    "override",
    ["model=transformer", "data=imagenet", "no_such_key=1", "trainer.batch_size=abc", "seed=x"],
)
def test_unknown_names_keys_and_types_are_refused_when_composing(compose_cfg, override):
    with pytest.raises((HydraException, OmegaConfBaseException)):
        compose_cfg([override])


def test_a_valid_tiny_config_passes_validation(compose_cfg, tmp_path):
    task = validate_config(compose_cfg([*TINY, f"output_dir={tmp_path}"]))
    assert task.spec.seq_len == 5


BAD_COMMAND_LINES = [  # (flags, overrides, what the one line must say)
    ([], ["model=transformer"], r"^error: model=transformer: .*allowed: .*\blstm\b.*\brnn\b"),
    ([], ["data=imagenet"], r"^error: data=imagenet: .*allowed: adding, context_switch"),
    ([], ["data.seq_len=abc"], r"^error: data=context_switch: .*`seq_len`.*got 'abc'"),
    ([], ["trainer.batch_size=abc"], r"^error: trainer\.batch_size: Value 'abc' .* Integer"),
    ([], ["data.seq_len=0"], r"^error: data=context_switch: .*`seq_len`.*got 0"),
    ([], ["data.seq_len=="], r"^error: .*'data\.seq_len=='"),
    ([], ["no_such_key=1"], r"^error: no_such_key: no such key"),
    ([], ["trainer.batch_size=-5"], r"^error: trainer\.batch_size=-5: expected a positive"),
    ([], ["trainer.learning_rate=inf"], r"^error: trainer\.learning_rate=inf: expected .*finite"),
    ([], ["seed=4294967296"], r"^error: seed=4294967296: expected an integer in \[0, 2\*\*32"),
    ([], ["data.seq_len=1000000000"], r"^error: data\.seq_len=1000000000, .*needs at least .*TiB"),
    ([], ["model.units=1000000000"], r"^error: .*model\.units=1000000000, .*needs at least .*EiB"),
    (
        ["-m"],
        ["launcher=parallel", "hydra.launcher.n_jobs=0", "model=rnn,gru"],
        r"^error: hydra\.launcher\.n_jobs=0: expected an integer >= 1$",
    ),
    (["-m"], ["model=rnn,transformer"], r"^error: model=transformer: no such option.*allowed: "),
    (
        ["-m"],
        ["model=rnn,gru", "data.seq_len=10,0"],
        r"^error: model=rnn data\.seq_len=0: .*`seq_len`",
    ),
    (
        ["-m"],
        ["model=lstm,mingru", "+model.layer.unroll=true"],
        r"^error: model=mingru: model\.layer\.unroll=True: .*expected False for MinGRU",
    ),
]


def test_bad_command_lines_exit_nonzero_before_training(tmp_path: Path):
    """Each bad input: exit status 2, exactly one line of output naming the key and what is
    allowed (no usage block, no traceback), and nothing created."""
    for flags, overrides, message in BAD_COMMAND_LINES:
        args = ["-m", "experiments.train", *flags, "logger=none", *overrides]
        result = run_cli(args, cwd=tmp_path, timeout=60)
        lines = (result.stdout + result.stderr).strip().splitlines()
        assert result.returncode == 2, (overrides, lines)
        assert len(lines) == 1 and re.search(message, lines[0]), (overrides, lines)
        assert not (tmp_path / "outputs").exists(), overrides


LAYER_ARGUMENTS = [  # (command line, what the one line must say): the layer's own words
    (
        ["+model.layer.activation=relux"],
        r"^error: model\.layer\.activation='relux': .*`activation`, expected the name of a Keras "
        r"activation .*got 'relux'\.$",
    ),
    (
        ["model.layer.dropout=1.5"],  # `dropout: ${model.dropout}` replaced: no range check
        r"^error: model\.layer\.dropout=1\.5: .*`dropout`, expected a float in \[0, 1\)",
    ),
    (
        ["+model.layer.recurrent_dropout=-0.1"],
        r"^error: model\.layer\.recurrent_dropout=-0\.1: .*expected a float in \[0, 1\)",
    ),
    (
        ["+model.layer.use_cudnn=maybe"],
        r"^error: model\.layer\.use_cudnn='maybe': .*expected one of \{'auto', True, False\}",
    ),
    (
        ["+model.layer.nonsense=1"],
        r"^error: model\.layer\.nonsense=1: Unrecognized keyword arguments passed to LSTM",
    ),
    (
        ["model=mingru", "+model.layer.unroll=true"],
        r"^error: model\.layer\.unroll=True: .*`unroll`, expected False for MinGRU",
    ),
    (
        ["model=keras_lstm", "+model.layer.activation=relux"],  # names the value, not the key
        r"^error: model\.layer\.activation='relux': Could not interpret activation function",
    ),
    (
        ["model.layer._target_=keras.layers.NoSuchLayer"],
        r"^error: model\.layer\._target_='keras\.layers\.NoSuchLayer': cannot be imported",
    ),
    (  # LSTM and GRU take Keras's `implementation`, SimpleRNN does not
        ["-m", "model=lstm,rnn", "+model.layer.implementation=1"],
        r"^error: model=rnn: model\.layer\.implementation=1: Unrecognized keyword arguments "
        r"passed to SimpleRNN",
    ),
]


@pytest.mark.parametrize(
    "args, message", LAYER_ARGUMENTS, ids=[" ".join(args) for args, _ in LAYER_ARGUMENTS]
)
def test_layer_arguments_are_refused_before_anything_runs(tmp_path, capsys, args, message):
    """An argument the recurrent layer's constructor refuses: exit status 2 and one line with the
    key and the layer's message, before any run or sweep folder exists (in this process, as the
    command line's first step; `BAD_COMMAND_LINES` runs one through the real command line)."""
    from experiments.cli.preflight import check_command_line

    register_schemas()
    folders = [f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    with pytest.raises(SystemExit) as exited:
        check_command_line([*args, *TINY, *folders], CONF)
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error.count("\n") == 1, error
    assert re.search(message, error.strip()), error
    assert not list(tmp_path.iterdir())


def test_the_launching_process_composes_each_job_of_a_sweep_once(monkeypatch):
    """The preflight and then the sweep callback both need the composed jobs (a tenth of a
    second each with Hydra): `make sweep` composes its 9 jobs once, not twice, before starting."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    from experiments.cli.preflight import compose_jobs

    composed = []
    load_sweep_config = ConfigLoaderImpl.load_sweep_config

    def counting(self, config, overrides):
        composed.append(overrides)
        return load_sweep_config(self, config, overrides)

    monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", counting)
    register_schemas()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        preflight = compose("train", ["experiment=context_switch"], return_hydra_config=True)
        callback = compose("train", ["experiment=context_switch"], return_hydra_config=True)
        jobs = compose_jobs(preflight)
        assert compose_jobs(callback) is jobs
    assert len(composed) == len(jobs) == 9
