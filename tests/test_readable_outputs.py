"""Plots and numbers people read: distinct severity lines, labelled contact sheets, no float noise in results,
honest option help, per-corruption training metrics on every step."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from roma.degrade import contact_sheet
from roma.degrade.corruptions import parameter_label
from roma.evaluation import formatting, plots, reports
from roma.evaluation.records import RecordStore, SweepRecord
from roma.trainer.trainer import decay_kl_sums


def test_eleven_unseen_severity_lines_get_distinct_colours_and_markers(tmp_path, monkeypatch):
    figures = []
    make_figure = plots._figure
    monkeypatch.setattr(plots, "_figure", lambda *a: figures.append(make_figure(*a)) or figures[-1])
    names = [f"corruption_{i:02d}" for i in range(11)]
    entry = {"clean": 80.0, "corruptions": {n: {"group": "unseen", "severities": {"1": 70.0}} for n in names}}
    plots.plot_severity_curves("bench", entry, tmp_path / "curves.png")
    (axes,) = figures[0].axes
    # Each line is an error-bar container (the 95 % intervals): its data line carries colour and marker.
    lines = [container.lines[0] for container in axes.containers if container.get_label() in names]
    assert len(lines) == 11
    assert len({line.get_color() for line in lines}) == 11
    assert len({line.get_marker() for line in lines}) == 11
    styles = plots.line_styles(16)
    assert len({colour for colour, _ in styles}) == 16 and len(set(styles)) == 16


@pytest.mark.parametrize(
    ("name", "severity", "label"),
    [
        ("gaussian_blur", 3, "σ 3 px"),
        ("jpeg_compression", 5, "quality 7"),
        ("jpeg_compression", 1.5, "quality 22"),  # 25 + (18 - 25) / 2 = 21.5, rounded as the kernel rounds it
        ("low_resolution", 4, "scale 1/6"),
        ("defocus_blur", 1, "r 3, σ 0.1"),
        ("impulse_noise", 2, "6% s&p"),
    ],
)
def test_each_severity_names_its_parameter(name, severity, label):
    assert parameter_label(name, severity) == label


def test_contact_sheet_captions_each_corrupted_tile_with_its_parameter():
    image = Image.fromarray(np.full((48, 48, 3), 200, dtype=np.uint8))
    sheet = np.asarray(contact_sheet(image, ["gaussian_blur"], [1, 5], seed=0, tile=48))
    tiles_bottom = sheet.shape[0] - 6 - 1  # the caption band sits between the tile and the row gap
    band = sheet[tiles_bottom - 12 : tiles_bottom, :]
    assert sheet.shape[0] > 48 + 30  # header + tile + caption
    assert (band < 200).any(), "no caption under the tiles"


def test_results_json_rounds_float_noise_to_zero(tmp_path):
    def rows(condition, corruption, severity, correct):
        return [
            SweepRecord(
                benchmark="b",
                sample_id=str(i),
                condition=condition,
                group="clean" if corruption is None else "seen",
                corruption=corruption,
                severity=severity,
                correct=float(value),
            )
            for i, value in enumerate(correct)
        ]

    # clean 1/3; the seen conditions 0/3, 0/3, 3/3: the same mean, summed in another order (drop -7.1e-15).
    records = rows("clean", None, None, [1, 0, 0])
    records += rows("gaussian_blur@1", "gaussian_blur", 1, [0, 0, 0])
    records += rows("gaussian_blur@3", "gaussian_blur", 3, [0, 0, 0])
    records += rows("gaussian_blur@5", "gaussian_blur", 5, [1, 1, 1])
    assert reports.summarize(records)["benchmarks"]["b"]["seen_drop"] != 0.0  # the noise being fixed
    RecordStore(tmp_path / "records.jsonl").append(records)
    reports.write_reports(tmp_path, plots=False)
    written = json.loads((tmp_path / "results.json").read_text())["benchmarks"]["b"]
    assert written["seen_drop"] == 0.0 and written["clean"] == 33.333333
    assert formatting.round_floats({"a": [-1e-12, 2.0000004], "b": "x"}) == {"a": [0.0, 2.0], "b": "x"}


def test_no_progress_has_its_own_help_and_still_turns_progress_off():
    from roma.evaluation.cli import build_parser

    parser = build_parser()
    help_text = parser.format_help()
    assert "Turn --progress (show tqdm progress bars) off." in help_text
    (config, *_) = parser.parse_args_into_dataclasses(args=["--model", "m", "--out", "o", "--no_progress"])
    assert config.progress is False
    (config, *_) = parser.parse_args_into_dataclasses(args=["--model", "m", "--out", "o"])
    assert config.progress is True


def test_per_corruption_kl_is_reported_every_step_with_decayed_weights():
    running: dict[str, list[float]] = {}
    # step 1 draws blur (KL sum 2 over 4 tokens) and jpeg (3 over 3); step 2 only blur (6 over 2).
    assert decay_kl_sums(running, {"blur": [2.0, 4.0], "jpeg": [3.0, 3.0]}, 0.5) == {"blur": 0.5, "jpeg": 1.0}
    after = decay_kl_sums(running, {"blur": [6.0, 2.0]}, 0.5)
    # blur: (0.5·2 + 6) / (0.5·4 + 2) = 7 / 4; jpeg, not drawn: (0.5·3) / (0.5·3) = 1, still reported
    assert after == {"blur": 1.75, "jpeg": 1.0}


def test_severity_curves_and_group_bars_draw_the_95_percent_intervals(tmp_path, monkeypatch):
    figures = []
    make_figure = plots._figure
    monkeypatch.setattr(plots, "_figure", lambda *a: figures.append(make_figure(*a)) or figures[-1])
    entry = {
        "clean": 80.0,
        "clean_ci95": [75.0, 84.0],
        "seen": 60.0,
        "seen_ci95": [55.0, 66.0],
        "corruptions": {
            "gaussian_blur": {"group": "seen", "severities": {"3": 60.0}, "ci95": {"3": [55.0, 66.0]}}
        },
    }
    plots.plot_severity_curves("bench", entry, tmp_path / "curves.png")
    (container,) = figures[0].axes[0].containers
    (bars,) = container.lines[2]  # the vertical error segments: clean at x = 0, severity 3
    assert [segment[:, 1].tolist() for segment in bars.get_segments()] == [[75.0, 84.0], [55.0, 66.0]]
    plots.plot_group_bars({"run": {"bench": entry}}, tmp_path / "bars.png")
    ranges = [
        np.asarray(segment)[:, 1].tolist()
        for container in figures[1].axes[0].containers
        if getattr(container, "errorbar", None) is not None
        for segment in container.errorbar.lines[2][0].get_segments()
        if np.asarray(segment).ndim == 2  # a bar without a figure (unseen here) has no segment
    ]
    assert [75.0, 84.0] in ranges and [55.0, 66.0] in ranges
