"""The training script end to end, in-process, and every shipped YAML config against the real dataclasses."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from terminal import ctrl_c_live

from roma.models.tiny import vision_token_ids
from roma.scripts.train import RomaScriptArguments, parse_args, resolve_reward_functions, run
from roma.scripts.warm_start import WarmStartConfig

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "recipes" / "configs").glob("*.yaml"))


def _train(argv: list[str]) -> dict:
    """What `roma train ARGV` (and `recipes/roma_qwen3vl.py ARGV`) runs, returning its summary."""
    return run(*parse_args(argv))


_parse = parse_args


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_recipe_config_parses_into_the_real_dataclasses(config, tmp_path):
    # The GPU configs ask for bf16, which TrainingArguments refuses on a machine without a GPU.
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated field names (gradient_checkpointing)
        script_args, training_args, model_args = _parse(
            ["--config", str(config), "--use_cpu", "true", "--bf16", "false", "--output_dir", str(tmp_path)]
        )
    assert model_args.model_name_or_path
    assert script_args.trainer in ("roma", "grpo")
    if script_args.trainer == "grpo":
        assert not training_args.roma_enabled
    else:
        assert training_args.roma_enabled


def _tiny_recipe_without_warm_start(model_path) -> list[str]:
    """The CPU recipe on a given (tiny) model, RL straight from it, evaluated on 8 samples of 8 tokens."""
    config = str(REPO / "recipes" / "configs" / "tiny_cpu.yaml")
    return ["--config", config, "--model_name_or_path", str(model_path), "--warm_start_sft_steps", "0"] + [
        "--eval_num_samples", "8", "--eval_batch_size", "8", "--eval_max_new_tokens", "8"
    ]  # fmt: skip


def test_tiny_cpu_recipe_runs_end_to_end_with_overrides(tiny_qwen3_vl_path, tmp_path):
    from roma.evaluation.sweep import RECORDS_FILE

    out = tmp_path / "run"
    scored = []  # is the start's evaluation written when a comparison's second run would start?
    summary = run(
        *parse_args(
            [
                *_tiny_recipe_without_warm_start(tiny_qwen3_vl_path),
                "--max_steps",
                "2",
                "--max_train_samples",
                "32",
                "--logging_steps",
                "1",
                "--roma_num_views",
                "3",  # a YAML value overridden on the command line
                "--generation_kwargs",
                json.dumps({"suppress_tokens": vision_token_ids()}),
                "--output_dir",
                str(out),
            ]
        ),
        on_start_ready=lambda: scored.append((out / "eval_before" / RECORDS_FILE).is_file()),
    )
    assert scored == [False]  # ready before the evaluation of the start
    assert summary["train_steps"] == 2
    log = json.loads((out / "run_summary.json").read_text())
    assert log["checkpoint"] == str(out.resolve())
    # The trainer's logged history travels with the summary (the study's learning curves read it).
    assert [entry["step"] for entry in log["log_history"] if "rewards/accuracy/mean" in entry] == [1, 2]
    from transformers import AutoProcessor

    assert (
        AutoProcessor.from_pretrained(out).image_processor.size["longest_edge"] == 4096
    )  # min/max_pixels kept
    for table in (summary["accuracy_before"], summary["accuracy_after"]):
        conditions = table["synthetic"]
        assert (
            "clean" in conditions and len(conditions) == 4
        )  # clean + the three seen corruptions at severity 3
        assert all(0.0 <= v <= 100.0 for v in conditions.values())
    # Before, after and the paired change, each with a 95 % interval, per condition.
    rows = {row["condition"]: row for row in summary["accuracy"]}
    assert set(rows) == set(summary["accuracy_after"]["synthetic"])
    for row in rows.values():
        assert row["after"] == pytest.approx(summary["accuracy_after"]["synthetic"][row["condition"]])
        assert row["change"] == pytest.approx(row["after"] - row["before"])
        assert row["before_ci95"][0] <= row["before"] <= row["before_ci95"][1]
        assert row["change_ci95"] is None or row["change_ci95"][0] <= row["change"] <= row["change_ci95"][1]
    assert summary["roma"]["roma_num_views"] == 3  # the command line overrode the YAML's 2
    assert summary["rl_cpu_threads"] == 1  # the recipe's rl_cpu_threads, in force while the trainer ran
    from transformers import AutoModelForImageTextToText

    AutoModelForImageTextToText.from_pretrained(out)
    # The evaluation sweeps' own reports are kept next to the checkpoint.
    assert (out / "eval_before" / "summary.md").is_file() and (out / "eval_after" / "summary.md").is_file()


def test_a_warm_starts_score_is_kept_with_it_and_a_later_run_copies_it(
    tiny_qwen3_vl_path, tmp_path, monkeypatch, capsys
):
    """Every run from a cached warm start scored that same checkpoint again before training (the main job: ~3 of
    its ~8 minutes once the warm start is cached). The scores are kept with the warm start
    (`roma.scripts.start_scores`): the same evaluation copies them, another one scores and is kept beside them, and
    a scoring cut short resumes there."""
    from roma.evaluation.backends import TransformersBackend
    from roma.evaluation.sweep import RECORDS_FILE
    from roma.scripts.start_scores import KEPT_DIR

    def argv(out: str, *extra: str) -> list[str]:
        return [
            *_tiny_recipe_without_warm_start(tiny_qwen3_vl_path),
            "--warm_start_sft_steps", "2", "--warm_start_batch_size", "2", "--warm_start_target_accuracy", "None",
            "--warm_start_cache_dir", str(tmp_path / "warm_start"), "--eval_conditions", "clean",
            "--eval_batch_size", "4", "--max_steps", "1", "--max_train_samples", "32", "--output_dir", str(tmp_path / out),
            "--generation_kwargs", json.dumps({"suppress_tokens": vision_token_ids()}), *extra,
        ]  # fmt: skip

    generated = []
    generate_ids = TransformersBackend.generate_ids

    def counted(self, requests, **kwargs):
        generated.append(len(requests))
        return generate_ids(self, requests, **kwargs)

    monkeypatch.setattr(TransformersBackend, "generate_ids", counted)
    first = run(*parse_args(argv("first")))
    assert sum(generated) == 8 + 8  # before and after training
    (warm,) = (tmp_path / "warm_start").glob("sft-*")
    (kept,) = (warm / KEPT_DIR).iterdir()
    records = (kept / RECORDS_FILE).read_bytes()
    assert (tmp_path / "first" / "eval_before" / RECORDS_FILE).read_bytes() == records
    assert f"roma: the start checkpoint's scores kept in {kept}\n" in capsys.readouterr().out

    generated.clear()
    second = run(*parse_args(argv("second")))
    assert sum(generated) == 8  # after training only
    assert f"roma: the start checkpoint's scores copied from {kept}\n" in capsys.readouterr().out
    assert (tmp_path / "second" / "eval_before" / RECORDS_FILE).read_bytes() == records
    assert second["accuracy_before"] == first["accuracy_before"] and second["accuracy"] is not None

    generated.clear()
    run(*parse_args(argv("third", "--eval_num_samples", "4")))
    assert sum(generated) == 4 + 4
    assert len(list((warm / KEPT_DIR).iterdir())) == 2

    # Cut short after its first batch of 4 (what a kill leaves: records, no reports): the rest is scored.
    (kept / RECORDS_FILE).write_bytes(b"".join(records.splitlines(keepends=True)[:4]))
    (kept / "results.json").unlink()
    generated.clear()
    run(*parse_args(argv("fourth")))
    assert sum(generated) == 4 + 8
    assert f"roma: the start checkpoint's scores kept in {kept}\n" in capsys.readouterr().out
    assert (kept / RECORDS_FILE).read_bytes() == records

    # A damaged run.json in the kept folder (the sweep's resume check refuses it): scored again there, not a traceback.
    (kept / "run.json").write_text("{")
    generated.clear()
    run(*parse_args(argv("fifth")))
    assert sum(generated) == 8 + 8
    assert (kept / RECORDS_FILE).read_bytes() == records


def test_rl_cpu_threads_holds_for_the_rl_loop_only_and_is_checked():
    from roma.scripts.train import rl_threads
    from roma.trainer.config import RomaConfig

    before = torch.get_num_threads()
    config = RomaConfig(output_dir="unused", use_cpu=True)
    with rl_threads(1, config):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before  # restored for the evaluation after training
    with rl_threads(None, config):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="rl_cpu_threads must be >= 1"):
        RomaScriptArguments(rl_cpu_threads=0)


def test_compare_with_grpo_trains_both_from_one_start_and_prints_roma_minus_grpo(
    tiny_qwen3_vl_path, tmp_path, capsys
):
    from roma.scripts.train import main

    out = tmp_path / "compare"
    argv = [
        *_tiny_recipe_without_warm_start(tiny_qwen3_vl_path),
        "--compare_with_grpo",
        "true",
        "--max_steps",
        "1",
        "--max_train_samples",
        "16",
        "--eval_conditions",
        "clean,gaussian_blur,low_resolution,contrast",
        "--generation_kwargs",
        json.dumps({"suppress_tokens": vision_token_ids()}),
        "--output_dir",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    comparison = json.loads((out / "comparison.json").read_text())
    grpo, roma = (json.loads((out / name / "run_summary.json").read_text()) for name in ("grpo", "roma"))
    assert grpo["trainer"] == "grpo" and roma["trainer"] == "roma"
    assert grpo["start_checkpoint"] == roma["start_checkpoint"] == comparison["start_checkpoint"]
    # The start is scored once (by the GRPO run) and shared: ROMA's "before" is GRPO's.
    assert not (out / "roma" / "eval_before").exists()
    assert roma["accuracy_before"] == grpo["accuracy_before"]
    rows = {row["condition"]: row for row in comparison["rows"]}
    assert list(rows) == ["clean", "gaussian_blur@3", "low_resolution@3", "contrast@3", "seen (mean of 2)"]
    for name, row in rows.items():
        if "mean" not in name:
            assert row["before"] == pytest.approx(grpo["accuracy_before"]["synthetic"][name])
            assert row["grpo"] == pytest.approx(grpo["accuracy_after"]["synthetic"][name])
            assert row["roma"] == pytest.approx(roma["accuracy_after"]["synthetic"][name])
        assert row["roma_minus_grpo"] == pytest.approx(row["roma"] - row["grpo"])
    seen = rows["seen (mean of 2)"]
    assert seen["grpo"] == pytest.approx(
        (rows["gaussian_blur@3"]["grpo"] + rows["low_resolution@3"]["grpo"]) / 2
    )
    assert "ROMA − GRPO" in printed and "seen (mean of 2)" in printed

    # compare_jobs 2: ROMA trains in a second process beside GRPO, with the same numbers (the recipe pins the RL
    # and evaluation threads), its output in its own log and its summary printed at the end.
    side_by_side = tmp_path / "side_by_side"
    argv = [*argv[: argv.index("--output_dir")], "--compare_jobs", "2", "--output_dir", str(side_by_side)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "roma: training in a second process beside grpo" in printed
    assert "Finished roma training" in printed and "ROMA − GRPO" in printed
    assert "Finished roma training" in (side_by_side / "roma" / "train.log").read_text()
    assert json.loads((side_by_side / "comparison.json").read_text())["rows"] == comparison["rows"]


@pytest.mark.parametrize("warm_started", [False, True], ids=["any-start", "kept-with-its-warm-start"])
def test_the_start_scored_by_both_processes_of_a_comparison_has_a_one_process_scorings_records(
    tiny_qwen3_vl_path, tmp_path, monkeypatch, capsys, warm_started
):
    """Side by side, each process scores the start's conditions the other has not claimed, one sweep per
    condition; the first process merges them: byte for byte the records and results of one sweep. A helper that
    is gone does not hold the first process (it scores what is left), nor does a first process that is gone."""
    import dataclasses
    import shutil
    import threading

    from roma.evaluation.benchmarks.synthetic import Synthetic
    from roma.evaluation.sweep import RECORDS_FILE, SweepConfig, SweepRunner, run_sweep
    from roma.scripts.start_scores import PARTS_SUFFIX, SharedStartScore, start_folder
    from roma.scripts.warm_start import MARKER_FILE

    model = tiny_qwen3_vl_path
    if warm_started:  # a finished warm start: its scores are made in (and kept with) it, then copied
        model = shutil.copytree(tiny_qwen3_vl_path, tmp_path / "warm_start")
        (model / MARKER_FILE).touch()

    def config(out, model=model):
        return SweepConfig(
            model=str(model), out=str(out), benchmarks="synthetic", max_samples=8, batch_size=4,
            max_new_tokens=4, conditions="clean,gaussian_blur,jpeg_compression", severities="1,3", cpu_threads=1,
            overwrite=True, progress=False,
        )  # fmt: skip

    one = tmp_path / "one"
    run_sweep(config(one, model=tiny_qwen3_vl_path))
    shared_dir = tmp_path / "shared"
    parts = start_folder(config(shared_dir)).with_name(start_folder(config(shared_dir)).name + PARTS_SUFFIX)
    done_helping, scored = threading.Event(), threading.Event()
    claims = tmp_path / "claims"
    helper = SharedStartScore(
        claims, done_helping, scored, assembles=False, peer_gone=lambda: False, poll_s=0.01
    )
    assembler = SharedStartScore(
        claims, done_helping, scored, assembles=True, peer_gone=lambda: False, poll_s=0.01
    )
    # The helper finds the first three conditions taken (by a process that then died before scoring them): it
    # scores the other two; the assembler, finding nothing left to claim, scores what is missing as it merges.
    for name in ("clean", "gaussian_blur@1", "gaussian_blur@3"):
        (claims / name).mkdir(parents=True)
    # A part left by an earlier invocation with other settings (4 samples) is not taken for this one's.
    stale = parts / "clean"
    run_sweep(dataclasses.replace(config(stale), conditions="clean", max_samples=4, report=False))
    generated = []  # the conditions a sweep generated batches for, in order
    run_condition = SweepRunner.run_condition

    def spy(runner, data, condition, store, pending, prepared_batches):
        generated.extend([condition.name] if pending else [])
        return run_condition(runner, data, condition, store, pending, prepared_batches)

    monkeypatch.setattr(SweepRunner, "run_condition", spy)
    loads = []  # the test split is rendered as it loads: once per process, not once per part
    load = Synthetic.load
    monkeypatch.setattr(Synthetic, "load", lambda *args: loads.append(1) or load(*args))
    helping = threading.Thread(target=helper.score, args=(config(shared_dir),), daemon=True)
    helping.start()
    assert done_helping.wait(timeout=60)
    assert sorted(path.name for path in parts.iterdir()) == [
        "clean",
        "jpeg_compression@1",
        "jpeg_compression@3",
    ]
    assert generated == ["jpeg_compression@1", "jpeg_compression@3"] and len(loads) == 1
    assembler.score(config(shared_dir))
    assert generated[2:] == ["clean", "gaussian_blur@1", "gaussian_blur@3"]  # the helper's parts were adopted
    said = [line for line in capsys.readouterr().out.splitlines() if "of the start checkpoint's" in line]
    assert said == [  # each process says what it scored: the helper its two, the assembler none (it merged)
        "roma: this process scored 2 of the start checkpoint's 5 conditions (jpeg_compression@1, jpeg_compression@3)",
        "roma: this process scored 0 of the start checkpoint's 5 conditions",
    ]
    helping.join(timeout=60)
    assert scored.is_set() and not helping.is_alive()
    assert (shared_dir / RECORDS_FILE).read_bytes() == (one / RECORDS_FILE).read_bytes()
    results = [json.loads((folder / "results.json").read_text()) for folder in (shared_dir, one)]
    for result in results:
        settings = result["run"]  # less where it was written, from which copy of the model, and how
        del settings["out"], settings["model"], settings["identity"]["model"], settings["overwrite"]
    assert results[0] == results[1]  # every figure and setting but where and how it was written
    assert not parts.exists() and not (shared_dir / "shards").exists()
    assert warm_started == (start_folder(config(shared_dir)) != shared_dir)

    # Each side stops waiting for a process that is gone: the assembler at once, the helper with an error.
    SharedStartScore(tmp_path / "c2", threading.Event(), threading.Event(), assembles=True, peer_gone=lambda: True,
                     poll_s=0.01).score(None)  # fmt: skip
    with pytest.raises(RuntimeError, match="ended before it scored the start checkpoint"):
        SharedStartScore(tmp_path / "c3", threading.Event(), threading.Event(), assembles=False,
                         peer_gone=lambda: True, poll_s=0.01).score(None)  # fmt: skip


def _interrupt_roma_train(argv: list[str], ready, tmp_path: Path, *, whole_group: bool) -> str:
    """Run ``roma train ARGV`` in its own process group, send SIGINT once ``ready()`` (to the first process only,
    as ``kill -INT`` does, or to the whole group, as a terminal's Ctrl-C does); check it ends with status 130 and
    leaves no process of the group; return its stderr."""
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with open(stdout, "w") as out_file, open(stderr, "w") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "roma.cli", "train", *argv],
            stdout=out_file,
            stderr=err_file,
            start_new_session=True,  # its own process group: what is left of it can be looked for
            preexec_fn=ctrl_c_live,  # as from a terminal, however pytest was started
        )
    try:
        deadline = time.monotonic() + 240
        while not ready(stdout.read_text()):
            assert process.poll() is None and time.monotonic() < deadline, stderr.read_text()[-3000:]
            time.sleep(0.5)
        if whole_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 130
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:  # nothing of the process group is left
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a process of the interrupted command is still running"
        time.sleep(0.5)
    return stderr.read_text()


def _ends_with_the_interrupted_line(errors: str) -> bool:
    return "Traceback" not in errors and (
        errors.strip().splitlines()[-1].startswith("roma train: interrupted; finished warm starts are kept")
    )


def test_ctrl_c_ends_a_side_by_side_comparison_with_one_line_and_no_process_left(
    tiny_qwen3_vl_path, tmp_path
):
    out = tmp_path / "compare"
    argv = [
        *_tiny_recipe_without_warm_start(tiny_qwen3_vl_path),
        "--compare_with_grpo", "true", "--compare_jobs", "2",
        "--max_steps", "100000", "--max_train_samples", "16", "--logging_steps", "1",
        "--generation_kwargs", json.dumps({"suppress_tokens": vision_token_ids()}),
        "--output_dir", str(out),
    ]  # fmt: skip
    second_log = out / "roma" / "train.log"

    def both_training(_stdout: str) -> bool:  # the second run's log shows its first logged step
        return second_log.is_file() and "'loss'" in second_log.read_text()

    # The second run stops with the first, also when the signal reached the first process only.
    errors = _interrupt_roma_train(argv, both_training, tmp_path, whole_group=False)
    assert _ends_with_the_interrupted_line(errors)


def test_ctrl_c_during_the_warm_start_ends_its_validation_process_too(tiny_qwen3_vl_path, tmp_path):
    """The warm start validates in a second process (`roma.scripts.warm_start_validation`): a Ctrl-C ends both,
    with the one line last (no traceback from the child, no resource-tracker warning of a leaked semaphore)."""
    argv = [
        "--config", "tiny_cpu", "--model_name_or_path", str(tiny_qwen3_vl_path),
        "--warm_start_sft_steps", "1000", "--warm_start_batch_size", "2", "--warm_start_target_accuracy", "1.0",
        "--warm_start_cache_dir", str(tmp_path / "warm_start"), "--output_dir", str(tmp_path / "run"),
    ]  # fmt: skip
    errors = _interrupt_roma_train(
        argv, lambda stdout: "validation at step" in stdout, tmp_path, whole_group=True
    )
    assert _ends_with_the_interrupted_line(errors), errors[-2000:]
    assert "leaked" not in errors


def test_compare_with_grpo_needs_the_roma_trainer():
    with pytest.raises(ValueError, match="needs trainer=roma"):
        RomaScriptArguments(trainer="grpo", compare_with_grpo=True)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("compare_jobs", 3, "compare_jobs must be 1 or 2"),
        ("eval_cpu_threads", 0, "eval_cpu_threads must be >= 1"),
    ],
)
def test_comparison_and_evaluation_settings_are_checked(field, value, message):
    with pytest.raises(ValueError, match=message):
        RomaScriptArguments(**{field: value})


def test_override_takes_effect_in_the_parsed_config(tmp_path):
    script_args, training_args, _ = _parse(
        [
            "--config",
            str(REPO / "recipes" / "configs" / "tiny_cpu.yaml"),
            "--roma_num_views",
            "3",
            "--trainer",
            "grpo",
            "--output_dir",
            str(tmp_path),
        ]
    )
    assert training_args.roma_num_views == 3
    assert script_args.trainer == "grpo"


def test_grpo_baseline_runs_from_the_same_script(tiny_qwen3_vl_path, tmp_path):
    out = tmp_path / "grpo"
    summary = _train(
        [
            "--config",
            str(REPO / "recipes" / "configs" / "tiny_cpu.yaml"),
            "--model_name_or_path",
            str(tiny_qwen3_vl_path),
            "--warm_start_sft_steps",
            "0",
            "--trainer",
            "grpo",
            "--generation_kwargs",
            json.dumps({"suppress_tokens": vision_token_ids()}),
            "--max_steps",
            "2",
            "--max_train_samples",
            "16",
            "--eval_benchmarks",
            "none",
            "--output_dir",
            str(out),
        ]
    )
    assert summary["trainer"] == "grpo" and summary["train_steps"] == 2
    assert summary["accuracy_after"] is None
    assert math.isfinite(summary["wall_time_s"])


def test_unknown_trainer_and_reward_are_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _parse(
            [
                "--config",
                str(REPO / "recipes" / "configs" / "tiny_cpu.yaml"),
                "--trainer",
                "ppo",
                "--output_dir",
                str(tmp_path),
            ]
        )
    assert "argument --trainer: invalid choice: 'ppo'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="trainer='ppo' is not valid"):
        RomaScriptArguments(trainer="ppo")

    with pytest.raises(Exception, match="accuracyy"):
        resolve_reward_functions(["accuracyy"])


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("eval_conditions", "clean,foo", "unknown corruption or group 'foo'. Did you mean 'fog'?"),
        ("eval_benchmarks", "synthetc", "unknown benchmark 'synthetc'. Did you mean 'synthetic'?"),
        ("eval_benchmarks", "missing/test.parquet", "benchmark 'missing/test.parquet': no such data file"),
        ("eval_severities", "7", "severity '7' is outside [1, 5]"),
        ("eval_num_samples", 0, "eval_num_samples must be >= 1 or None, got 0"),
        ("eval_batch_size", 0, "eval_batch_size must be >= 1, got 0"),
        ("eval_max_new_tokens", 0, "eval_max_new_tokens must be >= 1, got 0"),
    ],
)
def test_the_evaluation_settings_are_checked_when_the_arguments_are_read(option, value, message):
    """A typo in the evaluation's settings is refused before the warm start, not by the sweep after it."""
    import re

    with pytest.raises(ValueError, match=re.escape(message)):
        RomaScriptArguments(**{"eval_benchmarks": "synthetic", option: value})
    RomaScriptArguments(eval_benchmarks="synthetic", eval_conditions="clean,seen,fog", eval_severities="1,5")
    RomaScriptArguments(
        eval_benchmarks="none", eval_conditions="clean,foo"
    )  # no evaluation: nothing to check


def test_a_bad_evaluation_setting_is_one_line_and_status_2(tmp_path, capsys):
    from roma.scripts.train import main

    tiny = str(REPO / "recipes" / "configs" / "tiny_cpu.yaml")
    # warm_start_sft_steps 0: were the check missing, the run would reach the sweep in seconds, not after a warm start
    argv = ["--config", tiny, "--warm_start_sft_steps", "0", "--eval_conditions", "clean,bluur"]
    assert main([*argv, "--output_dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(
        "roma train: error: eval_benchmarks / eval_conditions / eval_severities: unknown corruption or group 'bluur'"
    )
    assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "run").exists()


def test_warm_start_settings_come_from_the_script_arguments_in_one_config(tmp_path):
    script_args, _, _ = _parse(
        ["--config", str(REPO / "recipes" / "configs" / "tiny_cpu.yaml"), "--output_dir", str(tmp_path)]
    )
    # tiny_cpu.yaml: at most 1500 steps of 16 rows at 1e-3, stopped at 65 % validation accuracy, on one thread
    # (every machine sums in the same order); the seed is the fixed default.
    assert script_args.warm_start_config() == WarmStartConfig(
        steps=1500, batch_size=16, learning_rate=1e-3, seed=0, target_accuracy=0.65, cpu_threads=1
    )
    assert RomaScriptArguments(warm_start_sft_steps=0).warm_start_config() is None
    with pytest.raises(ValueError, match="batch_size"):
        RomaScriptArguments(warm_start_sft_steps=2, warm_start_batch_size=0).warm_start_config()
    # RL rows the warm start reads: one line when the arguments are read (`roma train` prints it, status 2).
    with pytest.raises(ValueError, match=r"warm start was fine-tuned on \(rows 0 to 1599999\)"):
        RomaScriptArguments(
            warm_start_sft_steps=100000, warm_start_batch_size=16, dataset_train_split="train[24000:]"
        )


def test_no_rl_scene_of_the_cpu_recipe_is_a_warm_start_scene(tmp_path):
    """The RL rows tiny_cpu trains on are train rows its warm start never read (scenes and images)."""
    import hashlib

    import numpy as np

    from roma.data.loading import load_training_dataset
    from roma.data.synthetic import generate_scenes, parse_split_range, render_scene, scene_to_json
    from roma.scripts.warm_start import synthetic_sft_dataset

    script_args, _, _ = _parse(
        ["--config", str(REPO / "recipes" / "configs" / "tiny_cpu.yaml"), "--output_dir", str(tmp_path)]
    )
    config = script_args.warm_start_config()
    name, start, _ = parse_split_range(script_args.dataset_train_split)
    warm_start_scenes = generate_scenes("train", config.train_samples, seed=config.seed)
    rl_scenes = generate_scenes(name, script_args.max_train_samples, seed=0, start=start)
    assert not {scene_to_json(s) for s in warm_start_scenes} & {scene_to_json(s) for s in rl_scenes}

    # The scenes are what the two stages really read: their images are renderings of them.
    def digest(image) -> str:
        return hashlib.sha256(np.asarray(image.convert("RGB")).tobytes()).hexdigest()

    rl_rows = load_training_dataset(
        script_args.dataset_name, split=script_args.dataset_train_split, max_samples=16
    )
    assert [digest(row["image"]) for row in rl_rows] == [digest(render_scene(s)) for s in rl_scenes[:16]]
    sft_rows = synthetic_sft_dataset(16, seed=config.seed)
    assert [digest(row["image"]) for row in sft_rows] == [
        digest(render_scene(s)) for s in warm_start_scenes[:16]
    ]


def test_rl_rows_the_warm_start_read_are_refused():
    from roma.scripts.warm_start import check_rl_rows_unseen

    config = WarmStartConfig(steps=1500, batch_size=16)
    for split in ("train", "train[0:4096]", "train[23999:]"):
        with pytest.raises(ValueError, match=r"dataset_train_split: 'train\[24000:\]'"):
            check_rl_rows_unseen("synthetic", split, config)
    for split in ("train[24000:]", "validation"):
        check_rl_rows_unseen("synthetic", split, config)
    check_rl_rows_unseen("synthetic", "train", WarmStartConfig(steps=1500, batch_size=16, seed=1))
    check_rl_rows_unseen("my_data.parquet", "train", config)


def test_the_recipe_file_is_a_thin_entry_point_of_the_training_script():
    """`accelerate launch recipes/roma_qwen3vl.py` runs `roma.scripts.train.main`, also reachable as `roma train`."""
    import ast

    from roma.cli import SUBCOMMANDS

    tree = ast.parse((REPO / "recipes" / "roma_qwen3vl.py").read_text())
    imported = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}  # fmt: skip
    assert ("roma.scripts.train", "main") in imported
    assert SUBCOMMANDS["train"][0] == "roma.scripts.train"
