"""The sweep, compare and probe end to end on tiny Qwen-VL checkpoints and benchmark fixtures."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures_benchmarks import write_all_benchmarks
from PIL import Image

from roma.cli import main as roma_main
from roma.evaluation.backends import GenerationRequest, TransformersBackend
from roma.evaluation.conditions import Condition
from roma.evaluation.probe import ProbeConfig, _Prober, run_probe, token_kl_and_logprob_drop
from roma.evaluation.records import read_records
from roma.evaluation.sweep import SweepConfig, run_sweep

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = "mathvista,mmmu_pro,dynamath"
CONDITIONS = "clean,gaussian_blur,motion_blur"


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a busy machine spinning OpenMP threads cost 10x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_all_benchmarks(tmp_path_factory.mktemp("bench_data"), ["mathvista", "mmmu_pro", "dynamath"])


@pytest.fixture(scope="module")
def backend(tiny_qwen3_vl_path) -> TransformersBackend:
    return TransformersBackend(tiny_qwen3_vl_path, max_new_tokens=8, device="cpu", dtype="float32")


def sweep_args(model: Path, out: Path, data_dir: Path, cache: Path, *extra: str) -> list[str]:
    return [
        "--model",
        str(model),
        "--out",
        str(out),
        "--benchmarks",
        BENCHMARKS,
        "--conditions",
        CONDITIONS,
        "--severities",
        "1,5",
        "--data_dir",
        str(data_dir),
        "--max_samples",
        "2",
        "--batch_size",
        "2",
        "--max_new_tokens",
        "8",
        "--cache_dir",
        str(cache),
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--progress",
        "false",
        *extra,
    ]


def test_sweep_end_to_end_reports_and_rerun_is_a_no_op(tiny_qwen3_vl_path, data_dir, tmp_path, capsys):
    out, cache = tmp_path / "run", tmp_path / "cache"
    assert roma_main(["eval", *sweep_args(tiny_qwen3_vl_path, out, data_dir, cache)]) == 0
    assert "| mathvista | 2 |" in capsys.readouterr().out
    records = read_records(out / "records.jsonl")
    # mathvista 2 + mmmu_pro 2 + dynamath 2 seed questions × 10 variants = 24 samples, × 5 conditions.
    assert len(records) == 24 * 5
    assert {r.condition for r in records} == {
        "clean",
        "gaussian_blur@1",
        "gaussian_blur@5",
        "motion_blur@1",
        "motion_blur@5",
    }
    record = next(r for r in records if r.benchmark == "mathvista" and r.condition == "motion_blur@5")
    assert (record.corruption, record.severity, record.group, record.gold) == (
        "motion_blur",
        5,
        "unseen",
        "B",
    )
    assert (
        len(record.responses) == 1 and isinstance(record.responses[0], str) and len(record.prompt_hash) == 16
    )
    assert record.correct in (0.0, 1.0) and len(record.reasons) == 1
    assert all(r.group_id is not None for r in records if r.benchmark == "dynamath")
    # Every corrupted image was computed once: 25 images (the second MMMU-Pro row has two) × 4 conditions.
    assert len(list(cache.rglob("*.npy"))) == 25 * 4
    results = json.loads((out / "results.json").read_text())
    assert set(results["benchmarks"]) == {"mathvista", "mmmu_pro", "dynamath"}
    assert "worst_case" in results["benchmarks"]["dynamath"]
    for name in ("summary.csv", "summary.md", "conditions.csv", "run.json"):
        assert (out / name).is_file()
    for plot in ("severity_mathvista.png", "severity_dynamath.png", "clean_seen_unseen.png"):
        with Image.open(out / "plots" / plot) as image:
            assert image.format == "PNG"
    before = (out / "records.jsonl").read_bytes()
    # Rerunning finds everything done: nothing generated, the file untouched.
    assert roma_main(["eval", *sweep_args(tiny_qwen3_vl_path, out, data_dir, cache)]) == 0
    assert (out / "records.jsonl").read_bytes() == before


# `roma eval ARGS` in a process that kills itself (SIGKILL: no clean-up, no flush) as soon as the batch that
# brings its records to at least LIMIT is on disk.
SWEEP_KILLED_AFTER_RECORDS = """
import os, signal, sys
from roma.evaluation.cli import build_parser
from roma.evaluation.sweep import run_sweep

limit = int(sys.argv[1])
config = build_parser().parse_args_into_dataclasses(args=sys.argv[2:])[0]


def kill_at_limit(written):
    if written >= limit:
        os.kill(os.getpid(), signal.SIGKILL)


run_sweep(config, on_records_written=kill_at_limit)
"""


def test_killed_sweep_resumes_to_exactly_the_uninterrupted_records(
    tiny_qwen3_vl_path, backend, data_dir, tmp_path
):
    cache = tmp_path / "cache"
    # avg@2 with sampling: responses vary per sample, so any mix-up or reseeding on resume would show.
    extra = ("--num_samples_per_prompt", "2", "--temperature", "1.0", "--benchmarks", "mathvista,mmmu_pro")
    killed = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SWEEP_KILLED_AFTER_RECORDS,
            "3",
            *sweep_args(tiny_qwen3_vl_path, killed, data_dir, cache, *extra),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    assert len(read_records(killed / "records.jsonl")) == 4  # two batches of two made it to disk
    with open(killed / "records.jsonl", "a") as stream:
        stream.write(
            '{"benchmark": "mathvista", "sample_id": "1", "cond'
        )  # and a third batch was cut mid-write

    def config(out: Path) -> SweepConfig:
        return SweepConfig(
            model=str(tiny_qwen3_vl_path),
            out=str(out),
            benchmarks="mathvista,mmmu_pro",
            conditions=CONDITIONS,
            severities="1,5",
            data_dir=str(data_dir),
            max_samples=2,
            batch_size=2,
            max_new_tokens=8,
            cache_dir=str(cache),
            num_samples_per_prompt=2,
            temperature=1.0,
            dtype="float32",  # as the killed run's: a resume with another dtype is refused
            progress=False,
        )

    run_sweep(config(killed), backend=backend)
    run_sweep(config(tmp_path / "straight"), backend=backend)
    resumed = read_records(killed / "records.jsonl")
    straight = read_records(tmp_path / "straight" / "records.jsonl")
    lines = (killed / "records.jsonl").read_text().splitlines()
    assert len(lines) == len(resumed) == len(straight) == 4 * 5  # no record lost, none twice
    assert sorted(resumed, key=lambda r: r.key) == sorted(straight, key=lambda r: r.key)
    assert any(len(set(r.responses)) == 2 for r in resumed)  # sampling really happened


def test_bad_input_gives_a_clear_message_and_exit_code_2(tiny_qwen3_vl_path, data_dir, tmp_path, capsys):
    def run(*args: str) -> str:
        assert roma_main(["eval", *args]) == 2
        return capsys.readouterr().err

    base = sweep_args(tiny_qwen3_vl_path, tmp_path / "out", data_dir, tmp_path / "cache")
    err = run(*base, "--benchmarks", "mathvista,mmmupro2")
    assert (
        "unknown benchmark 'mmmupro2'" in err and "Did you mean 'mmmu_pro'?" in err and "Traceback" not in err
    )
    assert "unknown corruption or group 'blurr'" in run(*base, "--conditions", "clean,blurr")
    assert "temperature 0 (greedy) would repeat one answer" in run(*base, "--num_samples_per_prompt", "4")
    # A benchmark whose every row is unusable (here: image files missing) stops the sweep before
    # generation, naming sample, column and file (one bad row among good ones is skipped and listed).
    broken = tmp_path / "broken"
    write_all_benchmarks(broken, ["mathvision"])
    (broken / "MathVision" / "images" / "1.jpg").unlink()
    (broken / "MathVision" / "images" / "2.jpg").unlink()
    err = run(
        *sweep_args(tiny_qwen3_vl_path, tmp_path / "out2", broken, tmp_path / "cache"),
        "--benchmarks",
        "mathvision",
    )
    assert "mathvision sample '1'" in err and "images/1.jpg' not found" in err
    # So does a malformed gold answer in the only row, naming the field and its value.
    (broken / "logicvista").mkdir()
    Image.new("RGB", (32, 32)).save(broken / "logicvista" / "q.png")
    rows = [{"id": "q1", "question": "Which?", "answer": "maybe B", "image": "q.png"}]
    (broken / "logicvista" / "data.json").write_text(json.dumps(rows))
    err = run(
        *sweep_args(tiny_qwen3_vl_path, tmp_path / "out2", broken, tmp_path / "cache"),
        "--benchmarks",
        "logicvista",
    )
    assert "logicvista sample 'q1'" in err and "field 'answer' = 'maybe B' is not an option letter" in err
    if importlib.util.find_spec("vllm") is None:
        assert "--backend vllm needs vLLM" in run(*base, "--benchmarks", "mathvista", "--backend", "vllm")
    # Resuming into a folder made with other settings is refused.
    (tmp_path / "out3").mkdir()
    (tmp_path / "out3" / "run.json").write_text(json.dumps({"model": "another-model"}))
    err = run(
        *sweep_args(tiny_qwen3_vl_path, tmp_path / "out3", data_dir, tmp_path / "cache"),
        "--benchmarks",
        "mathvista",
    )
    assert "model='another-model'" in err and "--overwrite" in err


def test_list_benchmarks_through_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "roma.cli", "eval", "--list_benchmarks"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "* mathvista" in result.stdout and "  chartqa" in result.stdout


def test_the_seven_benchmark_config_file_is_the_protocol_and_the_command_line_overrides_it():
    from roma.evaluation.benchmarks import DEFAULT_BENCHMARKS
    from roma.evaluation.cli import parse_config

    path = str(REPO / "eval" / "configs" / "seven_benchmarks.yaml")
    config, _ = parse_config(["--config", path, "--model", "m", "--out", "o", "--severities", "3"])
    assert config.benchmark_names == list(DEFAULT_BENCHMARKS)
    assert (config.conditions, config.severities) == ("clean,seen,unseen", "3")  # the command line wins
    assert (config.num_samples_per_prompt, config.temperature, config.model) == (1, 0.0, "m")


def test_a_bad_config_file_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("benchmarks: [mathvista]\nseverity: 3\n")
    assert roma_main(["eval", "--config", str(bad), "--model", "m", "--out", str(tmp_path / "o")]) == 2
    assert (
        f"--config {bad}: unknown option(s) 'severity' (did you mean 'severities'?)"
        in capsys.readouterr().err
    )
    assert roma_main(["eval", "--config", str(tmp_path / "missing.yaml"), "--model", "m", "--out", "o"]) == 2
    assert "missing.yaml: cannot read it" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- probe
def test_token_kl_and_logprob_drop_match_a_direct_computation():
    generator = torch.Generator().manual_seed(0)
    lm_head = torch.nn.Linear(4, 11, bias=True)
    clean_hidden = torch.randn(5, 4, generator=generator)
    view_hidden = torch.randn(3, 5, 4, generator=generator)
    tokens = torch.tensor([1, 4, 0, 10, 3])
    with torch.no_grad():
        kl, drop = token_kl_and_logprob_drop(clean_hidden, view_hidden, tokens, lm_head)
        clean, views = lm_head(clean_hidden), lm_head(view_hidden)  # the logits, for the direct computation
    p = clean.softmax(-1)
    expected_kl = (p * (clean.log_softmax(-1) - views.log_softmax(-1))).sum(-1)
    assert torch.allclose(kl, expected_kl, atol=1e-5)
    expected_drop = (
        clean.log_softmax(-1)[torch.arange(5), tokens] - views.log_softmax(-1)[:, torch.arange(5), tokens]
    )
    assert torch.allclose(drop, expected_drop, atol=1e-5)
    same_kl, same_drop = token_kl_and_logprob_drop(clean_hidden, clean_hidden.unsqueeze(0), tokens, lm_head)
    assert torch.allclose(same_kl, torch.zeros(1, 5), atol=1e-6) and torch.allclose(
        same_drop, torch.zeros(1, 5)
    )


def test_probe_teacher_forces_the_greedy_answer_at_the_right_positions(tiny_qwen3_vl_path, tmp_path):
    config = ProbeConfig(
        model=str(tiny_qwen3_vl_path),
        out=str(tmp_path),
        benchmarks="synthetic",
        conditions="gaussian_blur",
        severities="5",
        max_samples=1,
        max_new_tokens=6,
        cache_dir=str(tmp_path / "cache"),
        device="cpu",
        progress=False,
    )
    prober = _Prober(config)
    data = prober.benchmarks[0].load(1)
    sample = data[0]
    conversation = prober.build_conversation(sample.question, 1)
    request = GenerationRequest(conversation, data.load_images(sample))
    answer = prober.backend.generate_ids([request])[0]
    batch = prober.backend.encode([request])
    hidden = prober.forward_hidden(batch, torch.tensor(answer), [dict(batch)])[0]
    with torch.inference_mode():
        logits = prober.backend.model.get_output_embeddings()(hidden)
    # Greedy decoding picked each answer token as the arg-max: the teacher-forced logits must agree.
    assert logits.argmax(-1).tolist() == answer
    cell = prober.probe_sample(data, sample, answer)["gaussian_blur@5"]
    assert cell[0] > 0 and cell[2] == len(answer)
    blurred = prober.cache.get(
        data.load_images(sample)[0],
        "synthetic",
        sample.sample_id,
        0,
        Condition.corrupted("gaussian_blur", 5, "seen"),
    )
    assert blurred.size == data.load_images(sample)[0].size


def test_probe_and_compare_on_two_tiny_checkpoints(
    tiny_qwen3_vl_path, tiny_qwen2_5_vl_path, data_dir, tmp_path, capsys
):
    cache = tmp_path / "cache"
    for name, model in (("qwen3", tiny_qwen3_vl_path), ("qwen25", tiny_qwen2_5_vl_path)):
        result = run_probe(
            ProbeConfig(
                model=str(model),
                out=str(tmp_path / f"probe_{name}"),
                benchmarks="synthetic,mmmu_pro",
                data_dir=str(data_dir),
                conditions="gaussian_blur,contrast",
                severities="1,5",
                max_samples=2,
                max_new_tokens=6,
                cache_dir=str(cache),
                device="cpu",
                progress=False,
            )
        )
        assert [entry["rank"] for entry in result["ranking"]] == [1, 2]
        assert {entry["corruption"] for entry in result["ranking"]} == {"gaussian_blur", "contrast"}
        assert result["ranking"][0]["mean_kl"] >= result["ranking"][1]["mean_kl"] >= 0
        assert [c["condition"] for c in result["conditions"]] == [
            "gaussian_blur@1",
            "gaussian_blur@5",
            "contrast@1",
            "contrast@5",
        ]
        assert all(
            c["samples"] == 4 for c in result["conditions"]
        )  # 2 synthetic + 2 MMMU-Pro (one with two images)
        assert set(result["benchmarks"]) == {"synthetic", "mmmu_pro"}
        assert "ranked by mean KL" in (tmp_path / f"probe_{name}" / "probe.md").read_text()

        args = sweep_args(
            model,
            tmp_path / name,
            data_dir,
            cache,
            "--benchmarks",
            "mathvista,synthetic",
            "--conditions",
            "clean,gaussian_blur",
            "--severities",
            "3",
        )
        assert roma_main(["eval", *args]) == 0
    capsys.readouterr()
    assert (
        roma_main(
            ["compare", str(tmp_path / "qwen3"), str(tmp_path / "qwen25"), "--out", str(tmp_path / "cmp")]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert (
        "Comparison (baseline: qwen3)" in printed
        and "| synthetic |" in printed
        and "Δclean qwen25" in printed
    )
    comparison = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [row["benchmark"] for row in comparison["rows"]] == ["mathvista", "synthetic", "average"]


class _ThreadRecordingBackend:
    """The real backend, noting PyTorch's thread count each time it generates."""

    def __init__(self, inner: TransformersBackend):
        self.inner = inner
        self.threads: set[int] = set()

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def generate(self, *args, **kwargs):
        self.threads.add(torch.get_num_threads())
        return self.inner.generate(*args, **kwargs)


def test_cpu_threads_holds_while_the_sweep_generates_and_is_restored(
    tiny_qwen3_vl_path, data_dir, backend, tmp_path
):
    recording = _ThreadRecordingBackend(backend)
    config = SweepConfig(
        model=str(tiny_qwen3_vl_path), out=str(tmp_path / "run"), benchmarks="mathvista", conditions="clean",
        data_dir=str(data_dir), max_samples=2, batch_size=1, max_new_tokens=4, cache_dir=str(tmp_path / "cache"),
        cpu_threads=3, progress=False,
    )  # fmt: skip
    assert torch.get_num_threads() == 1  # the module's fixture
    run_sweep(config, backend=recording)
    assert recording.threads == {3} and torch.get_num_threads() == 1
    assert (
        json.loads((tmp_path / "run" / "run.json").read_text())["cpu_threads"] == 3
    )  # kept with the settings
    with pytest.raises(ValueError, match="cpu_threads must be >= 1"):
        SweepConfig(model="m", out=str(tmp_path / "other"), cpu_threads=0)
