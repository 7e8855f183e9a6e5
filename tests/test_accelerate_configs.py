"""The accelerate configs in recipes/accelerate load and resolve through accelerate's own launcher code.

`accelerate launch --config_file X` runs `load_config_from_file`, then `_validate_launch_command` copies the
file's values onto the command line arguments, then a `prepare_*` function builds the launcher's environment.
These tests run the same three steps (without starting processes), so a misspelt key, a wrong distributed type
or a DeepSpeed option that accelerate ignores fails here, not on a cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DistributedType, prepare_deepspeed_cmd_env, prepare_multi_gpu_env

CONFIG_DIR = Path(__file__).resolve().parents[1] / "recipes" / "accelerate"

# file -> (distributed type, processes, mixed precision, use_cpu)
EXPECTED = {
    "single_gpu.yaml": (DistributedType.NO, 1, "bf16", False),
    "multi_gpu.yaml": (DistributedType.MULTI_GPU, 8, "bf16", False),
    "deepspeed_zero2.yaml": (DistributedType.DEEPSPEED, 8, "bf16", False),
    "deepspeed_zero3.yaml": (DistributedType.DEEPSPEED, 8, "bf16", False),
    "cpu.yaml": (DistributedType.NO, 1, "no", True),
}


def _launch_args(config_name: str, *flags: str):
    """Parse ``accelerate launch --config_file <config> <flags> train.py`` as `accelerate launch` does."""
    parser = launch_command_parser()
    args = parser.parse_args(["--config_file", str(CONFIG_DIR / config_name), *flags, "train.py"])
    args, _, _ = _validate_launch_command(args)
    return args


def _rendezvous(args) -> str:
    """The main node's address as torchrun gets it: master address and port, or a rendezvous endpoint."""
    if getattr(args, "master_addr", None):
        return f"{args.master_addr}:{args.master_port}"
    return args.rdzv_endpoint


def test_every_config_file_is_checked():
    assert sorted(path.name for path in CONFIG_DIR.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("config_name", sorted(EXPECTED))
def test_config_loads_with_accelerate_and_has_expected_setup(config_name):
    distributed_type, num_processes, mixed_precision, use_cpu = EXPECTED[config_name]
    # from_yaml_file raises on any key ClusterConfig does not know.
    config = load_config_from_file(str(CONFIG_DIR / config_name))
    assert isinstance(config, ClusterConfig)
    assert config.distributed_type == distributed_type
    assert config.num_processes == num_processes
    assert config.num_machines == 1
    assert config.mixed_precision == mixed_precision
    assert config.use_cpu is use_cpu


@pytest.mark.parametrize("config_name", sorted(EXPECTED))
def test_launcher_resolves_config(config_name):
    distributed_type, num_processes, mixed_precision, use_cpu = EXPECTED[config_name]
    args = _launch_args(config_name)
    assert args.num_processes == num_processes
    assert args.mixed_precision == mixed_precision
    assert args.use_cpu is use_cpu
    assert args.multi_gpu is (distributed_type == DistributedType.MULTI_GPU)
    assert args.use_deepspeed is (distributed_type == DistributedType.DEEPSPEED)
    assert not args.use_fsdp


@pytest.mark.parametrize("config_name", ["deepspeed_zero2.yaml", "deepspeed_zero3.yaml"])
def test_deepspeed_keys_are_launch_options(config_name):
    # accelerate copies every deepspeed_config key onto the parsed arguments with setattr, so an unknown key
    # would be silently ignored: each key must name a real `accelerate launch` option.
    launch_options = vars(launch_command_parser().parse_args(["train.py"]))
    config = load_config_from_file(str(CONFIG_DIR / config_name))
    assert set(config.deepspeed_config) <= set(launch_options)


def test_zero2_environment():
    args = _launch_args("deepspeed_zero2.yaml")
    args.deepspeed_fields_from_accelerate_config = "zero_stage"
    cmd, env = prepare_deepspeed_cmd_env(args)
    assert cmd is None  # single node: torchrun-style launch, no `deepspeed` runner
    assert args.nproc_per_node == "8"
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
    assert env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == "2"
    assert env["ACCELERATE_DEEPSPEED_ZERO3_INIT"] == "false"
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"


def test_zero3_environment_on_two_nodes():
    args = _launch_args(
        "deepspeed_zero3.yaml",
        *("--num_machines", "2", "--num_processes", "16", "--machine_rank", "1"),
        *("--main_process_ip", "10.0.0.1", "--main_process_port", "29555"),
    )
    args.deepspeed_fields_from_accelerate_config = "zero_stage"
    cmd, env = prepare_deepspeed_cmd_env(args)
    # The "standard" multi-node launcher runs one torchrun per node: no pdsh, no hostfile.
    assert cmd is None
    assert (args.nnodes, args.node_rank, args.nproc_per_node) == ("2", 1, "8")
    assert _rendezvous(args) == "10.0.0.1:29555"
    assert env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == "3"
    assert env["ACCELERATE_DEEPSPEED_ZERO3_INIT"] == "true"
    assert env["ACCELERATE_DEEPSPEED_ZERO3_SAVE_16BIT_MODEL"] == "true"
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"


def test_multi_gpu_on_two_nodes_with_accelerate_flags():
    args = _launch_args(
        "multi_gpu.yaml",
        *("--num_machines", "2", "--num_processes", "16", "--machine_rank", "1"),
        *("--main_process_ip", "10.0.0.1", "--main_process_port", "29555"),
    )
    env = prepare_multi_gpu_env(args)
    assert (args.nnodes, args.node_rank, args.nproc_per_node) == ("2", 1, "8")
    assert _rendezvous(args) == "10.0.0.1:29555"
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"


def test_the_main_jobs_launch_line_leaves_accelerate_nothing_to_choose(caplog):
    """`bash scripts/train_tiny.sh` printed accelerate's notice that it chose the CPU threads itself (and DeepSpeed's
    that it guessed the accelerator): the launch line passes what accelerate would otherwise pick."""
    import logging
    import shlex

    script = (CONFIG_DIR.parents[1] / "scripts" / "train_tiny.sh").read_text()
    assert "\nexport DS_ACCELERATOR=cpu\n" in script
    launch = script.split("exec accelerate launch ", 1)[1].split('"$@"')[0].replace("\\\n", " ")
    words = shlex.split(launch)
    script_at = next(i for i, word in enumerate(words) if word.endswith(".py"))
    parser = launch_command_parser()
    with caplog.at_level(logging.WARNING, logger="accelerate.commands.launch"):
        args, _, _ = _validate_launch_command(parser.parse_args(words[: script_at + 1]))
    assert args.use_cpu and args.num_cpu_threads_per_process == 1
    assert not caplog.records, [record.getMessage() for record in caplog.records]
