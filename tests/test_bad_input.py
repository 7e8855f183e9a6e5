"""Bad input gets a clear error naming the problem, never a traceback, a silent wrong result or a hang.

One table per outcome, so adding a case is one line:

* ``CASES``: a bad input → the error class it must raise (or ``CLI``: the command exits with status 2) and a
  phrase of the message;
* ``AS_WRITTEN``: unusual but valid training data → the answers it must load as.

Each case builds its input in ``tmp_path`` (helpers below); the numbers are those of issue 10.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from roma.cli import main as roma_main
from roma.data.loading import DatasetLoadingError, load_training_dataset
from roma.evaluation.errors import EvaluationError, RunConfigMismatchError
from roma.evaluation.records import RecordStore
from roma.evaluation.reports import write_reports
from roma.evaluation.run_lock import RunLockedError, run_lock
from roma.evaluation.sweep import SweepConfig, run_sweep
from roma.rewards import accuracy_reward

CLI = "exit status 2"  # the expected outcome of a command-line case: status 2, the phrase on stderr


@dataclasses.dataclass
class Context:
    tmp_path: Path
    request: pytest.FixtureRequest

    @property
    def model(self) -> str:
        return str(self.request.getfixturevalue("tiny_qwen3_vl_path"))

    def image(self, name: str = "a.png") -> Path:
        path = self.tmp_path / name
        Image.new("RGB", (8, 8), (10, 20, 30)).save(path)
        return path

    def jsonl(self, rows: list[dict[str, Any]], name: str = "data.jsonl") -> Path:
        self.image()
        path = self.tmp_path / name
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return path

    def sweep(self, **changes: Any) -> SweepConfig:
        settings = dict(
            model=self.model,
            out=str(self.tmp_path / "run"),
            benchmarks="synthetic",
            conditions="clean",
            max_samples=1,
            max_new_tokens=2,
            cache_dir=str(self.tmp_path / "cache"),
            device="cpu",
            dtype="float32",
            progress=False,
            report=False,
        )
        return SweepConfig(**(settings | changes))

    def eval_args(self, *extra: str, model: str | None = None) -> list[str]:
        return [
            "eval",
            "--model", model or self.model, "--out", str(self.tmp_path / "run"), "--benchmarks", "synthetic",
            "--conditions", "clean", "--max_samples", "1", "--max_new_tokens", "2",
            "--cache_dir", str(self.tmp_path / "cache"), "--progress", "false", "--report", "false",
            *extra,
        ]  # fmt: skip


def row(answer: Any = "1", **more: Any) -> dict[str, Any]:
    return {"question": "How many?", "image": "a.png", "answer": answer, **more}


# ------------------------------------------------------------------------------------------------ the cases
def _load_after_image_deleted(ctx: Context) -> None:
    ctx.image("b.png")
    path = ctx.jsonl([row(), row(image="b.png")])
    assert len(load_training_dataset(str(path))) == 2  # checked, and the check cached by `datasets`
    (ctx.tmp_path / "b.png").unlink()
    load_training_dataset(str(path))


def _zero_row_saved_dataset(ctx: Context) -> None:
    from datasets import Dataset

    Dataset.from_dict({"question": [], "image": [], "answer": []}).save_to_disk(str(ctx.tmp_path / "saved"))
    load_training_dataset(str(ctx.tmp_path / "saved"))


def _malformed_jsonl(ctx: Context) -> None:
    path = ctx.jsonl([row()])
    path.write_text(path.read_text() + "{not json\n")
    load_training_dataset(str(path))


def _resume_with(ctx: Context, **changes: Any) -> None:
    run_sweep(ctx.sweep())
    run_sweep(ctx.sweep(**changes))


def _resume_local_with(ctx: Context, **changes: Any) -> None:
    """A sweep of a local dataset resumed with another data-defining flag (issue 21, item 3)."""
    data = ctx.jsonl([{**row("1"), "gold": "2", "prompt_text": "How many?", "picture": "a.png"}] * 2)
    other = ctx.tmp_path / "other" / "data.jsonl"
    other.parent.mkdir()
    other.write_text(data.read_text())
    ctx.image("other/a.png")
    changes = {"benchmarks": str(other)} if changes.get("benchmarks") == "same name elsewhere" else changes
    run_sweep(ctx.sweep(benchmarks=str(data)))
    run_sweep(ctx.sweep(**{"benchmarks": str(data), **changes}))


def _resume_after_run_file_cut_short(ctx: Context, content: str) -> None:
    run_sweep(ctx.sweep())
    (ctx.tmp_path / "run" / "run.json").write_text(content)  # what a kill during a non-atomic write left
    run_sweep(ctx.sweep(dtype="bfloat16"))


def _truncated_jpeg(ctx: Context, name: str) -> None:
    """A JPEG cut short (a copy interrupted): PIL opens it, only decoding fails."""
    path = ctx.tmp_path / name
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path, format="JPEG")
    path.write_bytes(path.read_bytes()[:300])


def _png_with_bad_pixel_data(ctx: Context, name: str) -> None:
    """A PNG whose chunks and checksums are whole but whose compressed pixels are not: the check at load
    (which reads the chunks, not the pixels) lets it through, the decode while the sweep runs fails."""
    buffer = ctx.tmp_path / "whole.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer)
    data = buffer.read_bytes()
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    pixels = bytes(b ^ 0x5A for b in data[start : start + length])
    crc = struct.pack(">I", zlib.crc32(b"IDAT" + pixels))
    (ctx.tmp_path / name).write_bytes(data[:start] + pixels + crc + data[start + length + 4 :])


def _sweep_with_undecodable_image(ctx: Context, make_bad: Any, **changes: Any) -> Path:
    ctx.image("good.png")
    make_bad(ctx, "bad.img")
    rows = [
        row("1", image="good.png", id="g1"),
        row("1", image="bad.img", id="bad"),
        row("1", image="good.png", id="g2"),
    ]
    data = ctx.jsonl(rows)
    run_sweep(ctx.sweep(benchmarks=str(data), max_samples=None, batch_size=2, **changes))
    return ctx.tmp_path / "run"


def _second_sweep_while_one_runs(ctx: Context) -> None:
    config = ctx.sweep()
    with run_lock(config.out):  # what a running sweep holds
        run_sweep(config)


def _records_line(ctx: Context, line: dict[str, Any]) -> None:
    good = {"benchmark": "b", "sample_id": "1", "condition": "clean", "correct": 1.0}
    path = ctx.tmp_path / "records.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(line) + "\n")
    RecordStore(path)


def _bomb_png(ctx: Context) -> Path:
    """A PNG whose header declares 20000 × 20000 pixels (over PIL's decompression-bomb limit): 60 bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = ctx.tmp_path / "bomb.png"
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")
    )
    return path


def _file(ctx: Context, name: str = "taken") -> str:
    path = ctx.tmp_path / name
    path.write_text("not a folder")
    return str(path)


def _foreign_folder(ctx: Context) -> str:
    path = ctx.tmp_path / "notes"
    path.mkdir()
    (path / "todo.txt").write_text("mine")
    return str(path)


def _no_gpu_device(ctx: Context) -> list[str]:
    # One past the last visible GPU: no GPU at all on a CPU machine, an absent index on a GPU one.
    return ctx.eval_args("--device", f"cuda:{torch.cuda.device_count()}")


ONE_ROW_PROBE = ["probe", "--model", "m", "--out", "o"]


def _train_config(ctx: Context, text: str) -> list[str]:
    """``roma train --config FILE`` with ``text`` after the output settings (parsing fails before anything is
    loaded); a ``text`` starting with ``-`` is the whole file."""
    path = ctx.tmp_path / "c.yaml"
    settings = (
        "" if text.startswith("-") else f"output_dir: {ctx.tmp_path / 'o'}\nuse_cpu: true\nbf16: false\n"
    )
    path.write_text(settings + text)
    return ["train", "--config", str(path)]


def _eval_config(ctx: Context, text: str) -> list[str]:
    path = ctx.tmp_path / "e.yaml"
    path.write_text(text)
    return ["eval", "--config", str(path), "--model", "m", "--out", str(ctx.tmp_path / "run")]


CASES = [
    # item 4: a resumed sweep whose settings change the records
    pytest.param(lambda c: _resume_with(c, dtype="bfloat16"), RunConfigMismatchError, "dtype='float32'", id="4-dtype"),
    pytest.param(lambda c: _resume_with(c, batch_size=4), RunConfigMismatchError, "batch_size=8", id="4-batch_size"),
    # issue 21 item 2: a state file cut short is an error naming it, never "no previous settings"
    pytest.param(lambda c: _resume_after_run_file_cut_short(c, ""), RunConfigMismatchError, "run.json is empty", id="21.2-empty-run-json"),
    pytest.param(lambda c: _resume_after_run_file_cut_short(c, '{"model": "x", "dt'), RunConfigMismatchError, "run.json is not valid JSON", id="21.2-truncated-run-json"),
    # issue 21 item 3: every data-defining flag is part of the run's identity
    pytest.param(lambda c: _resume_local_with(c, answer_column="gold"), RunConfigMismatchError, "answer_column='answer', this one has answer_column='gold'", id="21.3-answer-column"),
    pytest.param(lambda c: _resume_local_with(c, question_column="prompt_text"), RunConfigMismatchError, "question_column='question'", id="21.3-question-column"),
    pytest.param(lambda c: _resume_local_with(c, image_column="picture"), RunConfigMismatchError, "image_column='image'", id="21.3-image-column"),
    pytest.param(lambda c: _resume_local_with(c, data_dir=str(c.tmp_path)), RunConfigMismatchError, "data_dir=None", id="21.3-data-dir"),
    pytest.param(lambda c: _resume_local_with(c, benchmarks="same name elsewhere"), RunConfigMismatchError, "datasets['data']=", id="21.3-dataset-location"),
    # issue 21 item 5: `roma train --config` / `roma eval --config`: one line naming the problem, status 2
    pytest.param(lambda c: _train_config(c, "roma_num_veiws: 4\n"), CLI, "'roma_num_veiws' (did you mean 'roma_num_views'?)", id="21.5-train-config-misspelt-key"),
    pytest.param(lambda c: _train_config(c, "roma_num_views: 0\n"), CLI, "roma_num_views must be >= 1, got 0", id="21.5-train-config-zero-views"),
    pytest.param(lambda c: _train_config(c, "roma_kl_coef: .nan\n"), CLI, "roma_kl_coef must be a finite number", id="21.5-train-config-nan"),
    pytest.param(lambda c: _train_config(c, "- a\n"), CLI, "must contain a YAML mapping", id="21.5-train-config-list"),
    pytest.param(lambda c: [*_train_config(c, ""), "--roma_num_veiws", "4"], CLI, "'roma_num_veiws' (did you mean 'roma_num_views'?)", id="21.5-train-cli-misspelt-option"),
    pytest.param(lambda c: _eval_config(c, "severites: 3\n"), CLI, "'severites' (did you mean 'severities'?)", id="21.5-eval-config-misspelt-key"),
    pytest.param(lambda c: _eval_config(c, "batch_size: 0\n"), CLI, "batch_size must be >= 1, got 0", id="21.5-eval-config-bad-value"),
    pytest.param(lambda c: _eval_config(c, "- a\n"), CLI, "expected a mapping", id="21.5-eval-config-list"),
    # issue 21 item 6: --strict stops at an undecodable image, at load where the check finds it, naming the row
    pytest.param(lambda c: _sweep_with_undecodable_image(c, _truncated_jpeg, strict=True), EvaluationError, "data: 1 row(s) cannot be evaluated (--strict stops here", id="21.6-strict-truncated-jpeg"),
    pytest.param(lambda c: _sweep_with_undecodable_image(c, _png_with_bad_pixel_data, strict=True), EvaluationError, "cannot decode image", id="21.6-strict-bad-png-pixels"),
    # issue 21 item 8: residuals
    pytest.param(lambda c: load_training_dataset(str(c.jsonl([row(None), row(None)])), skip_bad_samples=True), DatasetLoadingError, "Check the answer column ('answer', --answer_column)", id="21.8-all-answers-empty"),
    pytest.param(lambda c: ["degrade", str(c.image()), "--out", str(c.tmp_path / "sheet.png"), "--tile", "20000"], CLI, "over the limit of 89,478,485", id="21.8-degrade-huge-tile"),
    pytest.param(lambda c: c.eval_args("--severities", "9" * 500), CLI, "9" * 76 + "... is outside [1, 5]", id="21.8-over-long-severity"),
    pytest.param(lambda c: c.eval_args("--cache_max_gb", "nan"), CLI, "cache_max_gb must be a finite number of GB >= 0", id="21.8-cache-max-gb-nan"),
    pytest.param(lambda c: c.eval_args("--cache_max_gb", "inf"), CLI, "cache_max_gb must be a finite number of GB >= 0", id="21.8-cache-max-gb-inf"),
    pytest.param(lambda c: ["cache", "prune", "--max_gb", "nan"], CLI, "--max_gb must be a finite number of GB >= 0, got nan", id="21.8-cache-prune-nan"),
    # item 5: an image deleted after a successful (cached) load
    pytest.param(_load_after_image_deleted, DatasetLoadingError, "b.png' does not exist", id="5-deleted-image"),
    # item 7: gold answers the grader cannot use
    pytest.param(lambda c: load_training_dataset(str(c.jsonl([row("three", answer_type="float")])), extra_columns=["answer_type"]), DatasetLoadingError, "gold answer 'three' cannot be graded", id="7-word-as-float"),
    pytest.param(lambda c: load_training_dataset(str(c.jsonl([row("")]))), DatasetLoadingError, "Sample 0 (id '0'): gold answer '' cannot be graded", id="7-empty-gold"),
    pytest.param(lambda c: accuracy_reward(["\\boxed{3}"], answer=["three"], answer_type=["float"]), ValueError, "row 0 of the batch: gold 'three'", id="7-reward-names-the-row"),
    # item 11: a second sweep into a folder another one is writing
    pytest.param(_second_sweep_while_one_runs, RunLockedError, "another roma eval is writing", id="11-concurrent-sweep"),
    # item 12
    pytest.param(_zero_row_saved_dataset, DatasetLoadingError, "has no rows", id="12-zero-row-saved-dataset"),
    pytest.param(_malformed_jsonl, DatasetLoadingError, "data.jsonl line 2 is not valid JSON", id="12-malformed-jsonl"),
    pytest.param(lambda c: ["synthetic", "--out", str(c.tmp_path / "s"), "--num_samples", "0"], CLI, "--num_samples must be >= 1", id="12-synthetic-zero-rows"),
    # item 13
    pytest.param(_no_gpu_device, CLI, "CUDA GPU", id="13-device-without-gpu"),
    # item 14
    pytest.param(lambda c: [*ONE_ROW_PROBE, "--max_new_tokens", "0"], CLI, "max_new_tokens must be >= 1", id="14-probe-max-new-tokens-0"),
    # item 15: --out that is an existing file or folder, or the input itself; a decompression bomb
    pytest.param(lambda c: ["degrade", str(c.image()), "--out", str(c.tmp_path)], CLI, "is a folder", id="15-degrade-out-folder"),
    pytest.param(lambda c: ["degrade", str(c.image()), "--out", str(c.image())], CLI, "is the input image", id="15-degrade-out-is-input"),
    pytest.param(lambda c: ["degrade", str(_bomb_png(c)), "--out", str(c.tmp_path / "sheet.png")], CLI, "decompression bomb", id="15-degrade-bomb"),
    pytest.param(lambda c: ["synthetic", "--out", _file(c), "--num_samples", "1"], CLI, "is an existing file", id="15-synthetic-out-file"),
    pytest.param(lambda c: ["synthetic", "--out", _foreign_folder(c), "--num_samples", "1"], CLI, "holds other files", id="15-synthetic-out-foreign-folder"),
    pytest.param(lambda c: ["tiny-model", "--out", _file(c)], CLI, "is an existing file", id="15-tiny-model-out-file"),
    pytest.param(lambda c: ["tiny-model", "--out", _foreign_folder(c)], CLI, "holds other files", id="15-tiny-model-out-foreign-folder"),
    pytest.param(lambda c: ["eval", "--model", "m", "--out", _file(c)], CLI, "is an existing file", id="15-eval-out-file"),
    pytest.param(lambda c: ["eval", "--model", "m", "--out", _foreign_folder(c)], CLI, "holds other files", id="15-eval-out-foreign-folder"),
    # item 17: a records.jsonl line that is not a record names its line
    pytest.param(lambda c: _records_line(c, {"benchmark": "b", "sample_id": "2", "condition": "clean"}), EvaluationError, "line 2 is not a sweep record (KeyError: 'missing correct')", id="17-record-without-correct"),
    pytest.param(lambda c: _records_line(c, {"benchmark": "b", "sample_id": "2", "condition": "clean", "correct": None}), EvaluationError, "line 2 is not a sweep record (ValueError: correct must be a number", id="17-record-correct-null"),
    pytest.param(lambda c: _records_line(c, {"benchmark": "b", "sample_id": 2, "condition": "clean", "correct": 1}), EvaluationError, "line 2 is not a sweep record (TypeError: sample_id must be a string", id="17-record-id-not-a-string"),
]  # fmt: skip


@pytest.mark.parametrize("case, expected, phrase", CASES)
def test_bad_input_is_refused_with_a_message_naming_it(case, expected, phrase, tmp_path, request, capsys):
    ctx = Context(tmp_path, request)
    if expected is CLI:
        argv = case(ctx)
        try:
            status = roma_main(argv)
        except SystemExit as exit_:  # argparse's parser.error
            status = exit_.code
        assert status == 2
        assert phrase in capsys.readouterr().err
    else:
        with pytest.raises(expected) as raised:
            case(ctx)
        assert phrase in str(raised.value)


# ------------------------------------------------------------------------- valid data that must load as written
def _mixed_numbers_jsonl(ctx: Context) -> Path:
    return ctx.jsonl([row(3), row(2.5), row(12345678901234567), row(1.50)])


def _mixed_numbers_csv(ctx: Context) -> Path:
    ctx.image()
    path = ctx.tmp_path / "data.csv"
    path.write_text("question,image,answer\nq,a.png,3\nq,a.png,2.5\nq,a.png,12345678901234567\n")
    return path


# Golds as a user writes them: each must come back as exactly this text, whatever the container (issue 21, item 1).
GOLDS = ["7", "3.10", "12345678901234567", "1e3", "-0", "007"]
JSON_GOLDS = GOLDS[:-1]  # 007 is not a JSON number


def _csv_text(sep: str = ",") -> str:
    return "".join(
        sep.join(cells) + "\n"
        for cells in [["question", "image", "answer"], *(["q", "a.png", g] for g in GOLDS)]
    )


def _json_lines(golds: list[str], image: str = "a.png", image_key: str = "image") -> str:
    # Numbers written as they are (json.dumps would rewrite 3.10 and 1e3).
    return "".join(f'{{"question": "q", "{image_key}": "{image}", "answer": {g}}}\n' for g in golds)


def _folder_with_train_jsonl(ctx: Context) -> Path:
    folder = ctx.tmp_path / "data"
    folder.mkdir()
    ctx.image("data/a.png")
    (folder / "train.jsonl").write_text(_json_lines(JSON_GOLDS))
    return folder


def _image_folder(ctx: Context, metadata: str) -> Path:
    folder = ctx.tmp_path / "images"
    folder.mkdir()
    golds = GOLDS if metadata == "metadata.csv" else JSON_GOLDS
    for index in range(len(golds)):
        ctx.image(f"images/{index}.png")
    if metadata == "metadata.csv":
        text = "file_name,question,answer\n" + "".join(f"{i}.png,q,{g}\n" for i, g in enumerate(golds))
    else:
        text = "".join(
            f'{{"file_name": "{i}.png", "question": "q", "answer": {g}}}\n' for i, g in enumerate(golds)
        )
    (folder / metadata).write_text(text)
    return folder


def _saved_to_disk(ctx: Context) -> Path:
    from datasets import Dataset

    ctx.image()
    rows = [{"question": "q", "image": str(ctx.tmp_path / "a.png"), "answer": g} for g in GOLDS]
    Dataset.from_list(rows).save_to_disk(str(ctx.tmp_path / "saved"))
    return ctx.tmp_path / "saved"


def _single_file(ctx: Context, name: str) -> Path:
    ctx.image()
    path = ctx.tmp_path / name
    if name.endswith((".csv", ".tsv")):
        path.write_text(_csv_text("\t" if name.endswith(".tsv") else ","))
    elif name.endswith(".jsonl"):
        path.write_text(_json_lines(JSON_GOLDS))
    else:
        path.write_text("[" + ",".join(_json_lines(JSON_GOLDS).splitlines()) + "]")
    return path


GOLD_LAYOUTS = [
    pytest.param(_folder_with_train_jsonl, JSON_GOLDS, id="folder-train-jsonl"),
    pytest.param(lambda c: _image_folder(c, "metadata.csv"), GOLDS, id="imagefolder-metadata-csv"),
    pytest.param(lambda c: _image_folder(c, "metadata.jsonl"), JSON_GOLDS, id="imagefolder-metadata-jsonl"),
    pytest.param(_saved_to_disk, GOLDS, id="saved-to-disk"),
    *(pytest.param(lambda c, n=name: _single_file(c, n), golds, id=name) for name, golds in [("data.csv", GOLDS), ("data.tsv", GOLDS), ("data.jsonl", JSON_GOLDS), ("data.json", JSON_GOLDS)]),
]  # fmt: skip


@pytest.mark.parametrize("make_source, golds", GOLD_LAYOUTS)
def test_golds_load_as_written_in_every_layout(make_source, golds, tmp_path, request):
    """Item 21.1: training and ``roma eval --benchmarks PATH`` read the golds as written, whatever the container."""
    from roma.evaluation.benchmarks.local import LocalDataset

    source = str(make_source(Context(tmp_path, request)))
    assert load_training_dataset(source)["answer"] == golds
    assert [sample.gold for sample in LocalDataset(source).load()] == golds


def _null_second_image_column(ctx: Context) -> Path:
    return ctx.jsonl([{**row(), "image_2": None}] * 2)


def _csv_answers_that_look_missing(ctx: Context) -> Path:
    ctx.image()
    path = ctx.tmp_path / "data.csv"
    path.write_text("question,image,answer\nq,a.png,None\nq,a.png,NA\nq,a.png,null\nq,a.png,n/a\n")
    return path


AS_WRITTEN = [
    # item 3: answers read as the text written, not widened to float by Arrow / pandas
    pytest.param(_mixed_numbers_jsonl, {}, ["3", "2.5", "12345678901234567", "1.5"], id="3-mixed-numbers-jsonl"),
    pytest.param(_mixed_numbers_csv, {}, ["3", "2.5", "12345678901234567"], id="3-mixed-numbers-csv"),
    # issue 21 item 8: words pandas reads as missing are answers in a CSV file
    pytest.param(_csv_answers_that_look_missing, {}, ["None", "NA", "null", "n/a"], id="21.8-csv-none-na-null"),
    # item 7: skip_bad_samples skips a gold the grader cannot use
    pytest.param(lambda c: c.jsonl([row("4"), row("three", answer_type="float")]), {"skip_bad_samples": True, "extra_columns": ["answer_type"]}, ["4"], id="7-skip-ungradable-gold"),
    # item 19: several image columns, one empty in every row
    pytest.param(_null_second_image_column, {"image_column": "image,image_2"}, ["1", "1"], id="19-all-null-image-column"),
]  # fmt: skip


@pytest.mark.parametrize("make_source, options, answers", AS_WRITTEN)
def test_training_data_loads_as_written(make_source, options, answers, tmp_path, request):
    rows = load_training_dataset(str(make_source(Context(tmp_path, request))), **options)
    assert rows["answer"] == answers


# ------------------------------------------------------------------------------------------------ the others
def _write_records(out: Path, benchmark: str, corrupted: tuple[str, str]) -> None:
    """A records.jsonl of one sample, clean and under one ``(corruption, group)`` at severity 1."""
    corruption, group = corrupted
    records = [
        {"benchmark": benchmark, "sample_id": "1", "condition": name, "correct": 1.0, "group": group,
         "corruption": corruption, "severity": severity}
        for name, group, corruption, severity in [("clean", "clean", None, None), (f"{corruption}@1", group, corruption, 1)]
    ]  # fmt: skip
    (out / "records.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))


def test_report_only_keeps_a_crafted_benchmark_name_inside_out(tmp_path, capsys):
    """Item 20: a benchmark name from records.jsonl never becomes a path outside --out."""
    out = tmp_path / "deep" / "run"
    out.mkdir(parents=True)
    _write_records(out, "../../escaped", ("gaussian_blur", "seen"))
    assert roma_main(["eval", "--report_only", "--out", str(out)]) == 0
    outside = [p for p in tmp_path.rglob("*.png") if out not in p.parents]
    assert outside == []
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert len(plots) == 2 and any(name.startswith("severity_") and "escaped-" in name for name in plots)
    assert "../../escaped" in write_reports(out)["benchmarks"]  # the report still names it as written


def test_report_only_plots_a_group_it_does_not_know(tmp_path, capsys):
    """Item 21.8: records with a group roma does not know (a newer version's, or edited) get their own panel, not
    a matplotlib crash."""
    _write_records(tmp_path, "b", ("fog", "weather"))
    assert roma_main(["eval", "--report_only", "--out", str(tmp_path)]) == 0
    assert "| fog | weather | 100.0 |" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "plots" / "severity_b.png").is_file()


def test_eval_accepts_a_roma_tiny_model_name(tmp_path, monkeypatch, capsys):
    """Item 13: ``roma-tiny/...`` names work in ``roma eval`` as wherever a model id goes (built offline)."""
    for variable in ("ROMA_CACHE", "ROMA_CACHE_DIR"):  # the tiny model is built under the roma cache
        monkeypatch.setenv(variable, str(tmp_path / "roma_cache"))
    args = Context(tmp_path, None).eval_args("--device", "cpu", model="roma-tiny/qwen3_vl-tiny")
    assert roma_main(args) == 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model"] == "roma-tiny/qwen3_vl-tiny"
    assert (tmp_path / "run" / "records.jsonl").read_text().count("\n") == 1


def test_synthetic_replaces_its_own_earlier_output(tmp_path, capsys):
    """Item 15: an earlier ``roma synthetic`` folder is replaced whole (no DatasetDict left beside a Dataset)."""
    from datasets import Dataset, load_from_disk

    out = tmp_path / "synthetic"
    assert roma_main(["synthetic", "--out", str(out), "--split", "all", "--num_samples", "2"]) == 0
    assert roma_main(["synthetic", "--out", str(out), "--num_samples", "3"]) == 0
    loaded = load_from_disk(str(out))
    assert isinstance(loaded, Dataset) and len(loaded) == 3


def test_a_state_file_write_that_fails_leaves_the_old_file_whole(tmp_path, monkeypatch):
    """Item 21.2: state files are replaced in one step (temp file in the same folder, fsync, os.replace)."""
    import os

    from roma._state_files import write_json_atomic

    path = tmp_path / "run.json"
    write_json_atomic(path, {"dtype": "float32"})
    mode = path.stat().st_mode

    def killed(*args):
        raise KeyboardInterrupt  # the process stopped between the write and the rename

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, {"dtype": "bfloat16"})
    assert json.loads(path.read_text()) == {"dtype": "float32"}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary file left behind
    monkeypatch.undo()
    write_json_atomic(path, {"dtype": "bfloat16"})
    assert json.loads(path.read_text()) == {"dtype": "bfloat16"} and path.stat().st_mode == mode


@pytest.mark.parametrize(
    "make_bad", [_truncated_jpeg, _png_with_bad_pixel_data], ids=["at-load", "while-running"]
)
def test_an_undecodable_image_is_skipped_like_a_missing_one(make_bad, tmp_path, request):
    """Item 21.6: a present but undecodable image is skipped, counted and listed in skipped.json; the other
    samples are scored. A truncated JPEG is found at load (before any generation), bad PNG pixels when its
    batch is prepared."""
    out = _sweep_with_undecodable_image(Context(tmp_path, request), make_bad)
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert sorted(record["sample_id"] for record in records) == ["g1", "g2"]
    (listed,) = json.loads((out / "skipped.json").read_text())["data"]
    assert listed["sample_id"] == "bad" and listed["row"] == 1 and "cannot decode image" in listed["reason"]


def test_ctrl_c_during_eval_says_what_was_kept_and_exits_130(tmp_path, request):
    """Item 21.7: SIGINT to a running sweep: one line naming the records kept and how to resume, status 130,
    promptly, no traceback."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from terminal import ctrl_c_live

    ctx = Context(tmp_path, request)
    argv = ctx.eval_args(
        "--max_samples", "200", "--batch_size", "1", "--max_new_tokens", "8", "--device", "cpu"
    )
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-m", "roma.cli", *argv],
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        preexec_fn=ctrl_c_live,  # as from a terminal, however pytest was started
    )
    records = tmp_path / "run" / "records.jsonl"
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if records.is_file() and records.read_text().count("\n") >= 2:
            break
        time.sleep(0.1)
    assert process.poll() is None, "the sweep ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=120)
    seconds = time.monotonic() - sent
    kept = records.read_text().count("\n")
    assert process.returncode == 130, stderr
    assert (
        f"interrupted: {kept} records kept in {tmp_path / 'run'}; rerun the same command to resume" in stderr
    )
    assert "Traceback" not in stderr
    assert seconds < 10, seconds  # a backstop on a loaded machine: 0.1-0.2 s measured


def test_grading_is_bounded_off_the_main_thread():
    """Item 21.4: math-verify runs in a worker process killed past its time limit, on every thread (math-verify's
    own timeout is a signal, armed only on the main thread: this took minutes in a thread)."""
    import threading
    import time

    from roma.grading import grade
    from roma.grading.math_equivalence import MATH_VERIFY_TIMEOUT_SECONDS

    grade(r"\boxed{2\sqrt{2}}", r"\sqrt{8}", answer_type="math")  # a worker started (its start is paid once)
    outcome: list = []

    def pathological() -> None:
        start = time.monotonic()
        outcome.append(
            (grade(r"\boxed{(x+1)^{9999}}", "x^{9999}+1", answer_type="math"), time.monotonic() - start)
        )

    thread = threading.Thread(target=pathological, daemon=True)
    thread.start()
    thread.join(timeout=60)  # a backstop so a regression fails instead of hanging the run
    assert outcome, "grading from a worker thread was still running after 60 s"
    verdict, seconds = outcome[0]
    assert not verdict.correct and "stopped after" in verdict.reason
    assert seconds < MATH_VERIFY_TIMEOUT_SECONDS + 10  # one call's bound, plus a replacement worker's start
    assert grade(r"\boxed{2\sqrt{3}}", r"\sqrt{12}", answer_type="math").correct  # the next call is served


def test_the_lock_is_released_when_the_sweep_ends(tmp_path, request):
    """Item 11: the lock never outlives its sweep (a rerun in the same process is not refused)."""
    ctx = Context(tmp_path, request)
    run_sweep(ctx.sweep())
    with run_lock(ctx.sweep().out):
        pass
