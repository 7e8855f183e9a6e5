"""The synthetic study's --quick mode: every stage end to end, the report, and resumption by stage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import roma.scripts.study
from roma.scripts.study import Study, StudyConfig, StudyError
from roma.scripts.study import main as study_main
from roma.scripts.study_report import ablations_against_roma, baselines_against_grpo, learning_curves


def test_quick_study_runs_every_stage_writes_the_report_and_resumes(tmp_path, capsys, monkeypatch):
    report = tmp_path / "synthetic_study.md"
    config = StudyConfig(out_dir=str(tmp_path / "study"), report=str(report), quick=True)
    Study(config).run()
    text = report.read_text()
    for method in (
        "grpo",
        "roma",
        "noisy_rollout",
        "augmentation",
        "roma-no-gate",
        "roma-mean-views",
        "roma-no-aux",
    ):
        assert f"| {method} | 1 |" in text, method
    assert "Selection of K, λ, μ (validation split only)" in text and "select-K2-l0.1-m0.1" in text
    # The RL settings every method trained with, read from the recipe (tiny_cpu: 8 prompts x 8 completions).
    assert "- RL settings (every method): 8 prompts × 8 completions a step (batch 64)" in text
    # Each claim is stated with its interval and a verdict, whichever way it falls.
    for figure in ("clean", "seen", "unseen"):
        if figure != "unseen":  # --quick scores clean and seen only
            assert f"- ROMA − GRPO, {figure}: **" in text and "established" in text
            assert f"- GRPO − warm start, {figure}: **" in text
    assert (
        "What each corruption costs the warm-started model" in text and "| gaussian_blur@3 | seen |" in text
    )
    assert (tmp_path / "study" / "compare" / "compare_methods.json").is_file()
    # Each ablation against ROMA, on the seeds both ran.
    assert "## Ablations against ROMA (1 seed each)" in text and "| roma-no-aux | 1 | " in text
    assert (tmp_path / "study" / "compare-ablations" / "compare_methods.json").is_file()
    # Each rollout baseline against GRPO on the seeds both ran (paired by seed), before the ablations.
    baselines = text.split("## Rollout baselines against GRPO (1 seed each)")[1].split("## Ablations")[0]
    assert "| noisy_rollout | 1 | " in baselines and "| augmentation | 1 | " in baselines
    assert (tmp_path / "study" / "compare-baselines" / "compare_methods.json").is_file()
    # The learning curves, read from each run's logged history: one row per logged step.
    assert "## Learning curves" in text and "| 2 | " in text and "Groups with zero reward spread" in text
    # The exact commands are in the report.
    assert "roma.cli train --config" in text and "roma.cli eval" in text
    assert (tmp_path / "synthetic_study.png").is_file()  # the plot travels with the report
    assert (tmp_path / "study" / "compare" / "compare.png").is_file()
    # The validation split chose the settings; the test split scored the runs.
    assert (tmp_path / "study" / "eval-validation" / "select-K2-l0.1-m0.1" / "results.json").is_file()
    assert not (tmp_path / "study" / "eval-test" / "select-K2-l0.1-m0.1").exists()
    # Every evaluation scores at the recipe's thread count (tiny_cpu: eval_cpu_threads 1), as does the warm start.
    evaluations = [line for line in text.splitlines() if "roma.cli eval" in line]
    assert len(evaluations) == 9 and all("--cpu_threads 1" in line for line in evaluations)
    # The warm start is its own stage, first, with the recipe's settings: every run found it cached.
    stages = [line for line in capsys.readouterr().out.splitlines() if line.startswith("$ ")]
    assert "roma.cli warm-start" in stages[0] and "--cpu_threads 1" in stages[0]
    assert "roma.cli warm-start" in text
    assert len(list((tmp_path / "study" / "warm_start").glob("sft-*"))) == 1
    # In submission order (one job): the selection, then GRPO, the warm start's evaluation and the baselines,
    # then ROMA and its ablations (which need the selection).
    order = [
        line.split("--output_dir ")[-1].split()[0].rsplit("/", 1)[-1]
        for line in stages
        if " train --config" in line
    ]
    assert order[:3] == ["select-K2-l0.1-m0.1", "grpo-seed0", "noisy_rollout-seed0"]
    # ROMA's training is the selection run's (the same 2 steps from the same start): linked, not trained again.
    assert order[4:] == ["roma-no-aux-seed0", "roma-no-gate-seed0", "roma-mean-views-seed0"]
    assert (tmp_path / "study" / "runs" / "roma-seed0").readlink() == Path("select-K2-l0.1-m0.1")
    # The wall time: the warm start, 7 trainings, 9 evaluations and 4 comparisons ran in this (first) invocation.
    assert "wall time of this invocation: " in text and "(21 stages run, 1 reused)." in text

    # A second invocation reuses every finished run and evaluation: nothing is trained or scored again.
    Study(StudyConfig(out_dir=str(tmp_path / "study"), report=str(report), quick=True)).run()
    out = capsys.readouterr().out
    assert out.count("[reuse]") == 8 and out.count("[link] roma-seed0 -> select-K2-l0.1-m0.1") == 1
    # Reused stages' commands stay in the report.
    assert report.read_text().count("roma.cli train --config") == 7
    assert report.read_text().count("ln -s select-K2-l0.1-m0.1 ") == 1
    assert "roma.cli train" not in out.split("compare")[0]
    # Its wall time is stated beside the first one's, which trained and scored what it reused.
    invocations = json.loads((tmp_path / "study" / "invocations.json").read_text())
    assert [(i["stages_run"], i["stages_reused"]) for i in invocations] == [(21, 1), (4, 18)]
    assert "(4 stages run, 18 reused); all 2 invocations recorded in its folder: " in report.read_text()
    assert ", 25 stages run." in report.read_text()

    # GRPO and ROMA only (other_methods=False): the same runs reused, the report without the other methods.
    config = StudyConfig(out_dir=str(tmp_path / "study"), report=str(report), quick=True, other_methods=False)
    Study(config).run()
    text = report.read_text()
    assert "| grpo | 1 |" in text and "| roma | 1 |" in text and "noisy_rollout" not in text
    assert "Rollout baselines against GRPO" not in text
    assert (
        capsys.readouterr().out.count("[reuse]") == 3
    )  # the warm start, the selection run, GRPO (ROMA: a link)

    # The baselines without the ablations (ablation_seeds=0).
    config = StudyConfig(out_dir=str(tmp_path / "study"), report=str(report), quick=True, ablation_seeds=0)
    Study(config).run()
    text = report.read_text()
    assert "| noisy_rollout | 1 |" in text and "| augmentation | 1 |" in text and "roma-no-aux" not in text
    assert "Ablations against ROMA" not in text and "## Rollout baselines against GRPO (1 seed each)" in text
    assert capsys.readouterr().out.count("[reuse]") == 5

    # Resumed on another vendor's CPU (the folder copied to another machine), whose kernels compute other numbers
    # (`roma.numerics.non_intel_cpu_vendor`): its finished runs are refused by name, not reported as this CPU's.
    with monkeypatch.context() as patch:
        patch.setattr(roma.scripts.study, "non_intel_cpu_vendor", lambda: {"cpu_vendor": "HygonGenuine"})
        with pytest.raises(
            StudyError,
            match=r"select-K2-l0.1-m0.1 was made with other settings .*cpu_vendor: .* there, 'HygonGenuine' now",
        ):
            Study(StudyConfig(out_dir=str(tmp_path / "study"), report=str(report), quick=True)).run()

    # Resumed with other settings, a finished stage is refused by name, not reported as this study's.
    study = tmp_path / "study"
    config = StudyConfig(out_dir=str(study), report=str(report), quick=True)
    config.rl_steps = 3  # (--quick pins 2 steps)
    with pytest.raises(
        StudyError, match=r"select-K2-l0.1-m0.1 was made with other settings .*max_steps: 2 there, 3 now"
    ):
        Study(config).run()
    config = StudyConfig(out_dir=str(study), report=str(report), quick=True)
    config.eval_samples = 16  # the runs are this study's, the test evaluations are not
    with pytest.raises(
        StudyError, match=r"eval-test/grpo-seed0 was made with .*--max_samples: '8' there, '16' now"
    ):
        Study(config).run()
    # From the command line: one line, status 1, every finished stage still there.
    record = study / "runs" / "grpo-seed0" / "study_stage.json"
    recorded = record.read_text()
    record.write_text(json.dumps(json.loads(recorded) | {"learning_rate": 1e-6}))
    argv = ["--quick", "--out_dir", str(study), "--report", str(report)]
    capsys.readouterr()
    assert study_main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: study: ") and "learning_rate: 1e-06 there, None now" in err
    assert "Traceback" not in err and (study / "eval-test" / "grpo-seed0" / "results.json").is_file()
    # Each invocation that ended early is recorded with its wall time; the study resumes once its settings match.
    ended = [i["ended"] for i in json.loads((study / "invocations.json").read_text())]
    assert (
        ended == ["report"] * 4 + ["failed"] * 4
    )  # another CPU vendor, other settings twice, a changed record
    record.write_text(recorded)
    Study(StudyConfig(out_dir=str(study), report=str(report), quick=True)).run()
    assert "all 9 invocations recorded in its folder (4 of them ended early: a failed stage or Ctrl-C): " in (
        report.read_text()
    )


def test_each_seed_can_start_from_its_own_warm_start_and_is_paired_with_it(tmp_path, capsys):
    """warm_start_per_seed: one warm start per seed (its own cache folder), every run of a seed trained from it,
    and each warm start scored as warm-start-seed<N>, paired by seed with the runs that started from it."""
    report = tmp_path / "synthetic_study.md"
    config = StudyConfig(
        out_dir=str(tmp_path / "study"),
        report=str(report),
        quick=True,
        other_methods=False,
        warm_start_per_seed=True,
    )
    config.seeds = "0,1"  # --quick keeps the first seed; two show the pairing
    Study(config).run()
    stages = [line for line in capsys.readouterr().out.splitlines() if line.startswith("$ ")]
    warm_starts = [line for line in stages if "roma.cli warm-start" in line]
    assert len(warm_starts) == 2 and all(line in stages[:2] for line in warm_starts)  # both before any run
    assert {line.split("--seed ")[1].split()[0] for line in warm_starts} == {"0", "1"}
    assert len(list((tmp_path / "study" / "warm_start").glob("sft-*"))) == 2
    for name, seed in (("grpo-seed1", 1), ("roma-seed1", 1), ("grpo-seed0", 0)):
        (train,) = [line for line in stages if f"/{name} " in line + " " and " train --config" in line]
        assert f"--warm_start_seed {seed} " in train + " ", name
    grouped = json.loads((tmp_path / "study" / "compare" / "compare_methods.json").read_text())
    warm = grouped["rows"][0]["methods"]["warm-start"]
    assert warm["runs"] == ["warm-start-seed0", "warm-start-seed1"] and warm["paired_by_seed"]
    text = report.read_text()
    assert "| warm-start | 2 |" in text and "(2 seeds, each from its own warm start, paired by seed)" in text
    assert "Each seed has its own warm start" in text
    # A study without the option keeps one warm start for every seed (the default).
    assert StudyConfig(out_dir=str(tmp_path / "other"), quick=True).warm_start_per_seed is False


def test_no_study_writes_into_the_committed_report_or_a_real_studys_folder_unless_told_to():
    quick, full = StudyConfig(quick=True), StudyConfig()
    assert (quick.out_dir, quick.report) == ("runs/study_quick", "runs/study_quick/synthetic_study.md")
    assert (full.out_dir, full.report) == ("runs/study", "runs/study/synthetic_study.md")
    assert StudyConfig(out_dir="elsewhere").report == "elsewhere/synthetic_study.md"


def test_warm_start_threads_parse_the_training_command_one_at_a_time(monkeypatch):
    """The study's warm starts resolve their commands with `parse_args` in `jobs` threads at once. TrlParser rewrites
    the dataclasses' field types in place while it builds, so two parsers built at once failed one study with
    "AttributeError: type object 'str' has no attribute '__args__'": parse_args builds one at a time."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import roma.scripts.train as train

    in_flight, most, count = 0, 0, threading.Lock()

    class CountingParser(train.TrlParser):
        def __init__(self, *args, **kwargs):
            nonlocal in_flight, most
            with count:
                in_flight += 1
                most = max(most, in_flight)
            time.sleep(0.05)  # long enough for the other threads to arrive while this one builds
            try:
                super().__init__(*args, **kwargs)
            finally:
                with count:
                    in_flight -= 1

    monkeypatch.setattr(train, "TrlParser", CountingParser)
    with ThreadPoolExecutor(max_workers=3) as pool:
        parsed = list(
            pool.map(lambda seed: train.parse_args(["--config", "tiny_cpu", "--seed", str(seed)]), range(3))
        )
    assert most == 1
    assert [training_args.seed for _, training_args, _ in parsed] == [0, 1, 2]


def test_progress_lines_from_the_study_threads_never_run_together(monkeypatch):
    """`[reuse] a[reuse] b` on one line: `print` writes a line and its newline in two calls, and the study's threads
    interleave them. Each progress line is one write."""
    import roma.scripts.study as study

    class Writes:
        def __init__(self):
            self.calls = []

        def write(self, text):
            self.calls.append(text)

        def flush(self):
            pass

    out = Writes()
    monkeypatch.setattr(study.sys, "stdout", out)
    study.say("[reuse] warm-start-seed0")
    assert out.calls == ["[reuse] warm-start-seed0\n"]


def test_runs_that_need_the_selection_wait_for_it_and_the_others_fill_the_cores(tmp_path):
    """The schedule alone, its stages replaced by short sleeps: with 3 selection runs on 2 jobs, GRPO starts while
    the third is still being scored; ROMA and its ablations start only once every selection run is scored, with
    the setting the selection chose; the runs come back in the report's order."""
    import threading
    import time

    events: list[tuple[str, str, float]] = []
    lock = threading.Lock()

    def note(what: str, name: str) -> None:
        with lock:
            events.append((what, name, time.monotonic()))

    class StubbedStages(Study):
        def train(self, run, seed, commands=None):
            note("train", run.name)
            return tmp_path / run.name

        def evaluate(self, run, checkpoint, commands=None):
            time.sleep(0.3 if run.split == "validation" else 0.05)
            note("scored", run.name)
            seen = 45.0 if run.name == "select-K4-l0.1-m0.1" else 40.0  # the selection's winner
            figures = {"clean": 50.0, "seen": seen, "unseen": 30.0}
            return {"benchmarks": {"synthetic_validation": figures, "synthetic": figures}}

    config = StudyConfig(
        out_dir=str(tmp_path / "study"), jobs=2, seeds="0,1", selection="2:0.1:0.1,4:0.1:0.1,2:0.03:0.1"
    )
    done = StubbedStages(config).train_and_evaluate({0: tmp_path / "start"})

    def first(what: str, prefix: str) -> float:
        return min(t for w, name, t in events if w == what and name.startswith(prefix))

    selection_scored = max(t for w, name, t in events if w == "scored" and name.startswith("select-"))
    assert first("train", "grpo-") < selection_scored  # beside the selection
    assert first("scored", "warm-start") < first("train", "roma-")
    assert first("train", "roma-") > selection_scored  # ROMA needs the selection
    assert done["setting"] == (4, 0.1, 0.1)
    assert [run.overrides["roma_num_views"] for run, _ in done["runs"] if run.group == "roma"] == [4, 4]
    names = [run.name for run, _ in done["runs"]]
    assert names[:4] == ["grpo-seed0", "grpo-seed1", "roma-seed0", "roma-seed1"]
    assert names[4:8] == [
        "noisy_rollout-seed0",
        "noisy_rollout-seed1",
        "augmentation-seed0",
        "augmentation-seed1",
    ]
    assert [name for name in names if name.startswith("roma-no-aux")] == ["roma-no-aux-seed0"]


def test_a_selection_over_seeds_runs_each_setting_on_each_and_the_best_mean_wins(tmp_path):
    """``selection_seeds``: every setting on the first seeds, each run named after its setting and seed; the setting
    with the best mean score is selected, here not the one seed 0 alone would pick; the report gives each seed's."""
    from roma.scripts.study_report import _selection_and_setup

    class StubbedStages(Study):
        def train(self, run, seed, commands=None):
            return tmp_path / run.name

        def evaluate(self, run, checkpoint, commands=None):
            seen = {"select-K4-l0.1-m0.1-seed0": 50.0, "select-K2-l0.03-m0.1-seed1": 46.0}.get(run.name, 40.0)
            seen = 46.0 if run.name == "select-K2-l0.03-m0.1-seed2" else seen
            figures = {"clean": 50.0, "seen": seen, "unseen": 30.0}
            return {"benchmarks": {"synthetic_validation": figures, "synthetic": figures}}

    config = StudyConfig(
        out_dir=str(tmp_path / "study"),
        seeds="0,1,2,3",
        selection="4:0.1:0.1,2:0.03:0.1",
        selection_seeds=3,
        other_methods=False,
    )
    study = StubbedStages(config)
    assert [(run.name, seed) for run, seed in study.selection_runs()][:4] == [
        ("select-K4-l0.1-m0.1-seed0", 0),
        ("select-K4-l0.1-m0.1-seed1", 1),
        ("select-K4-l0.1-m0.1-seed2", 2),
        ("select-K2-l0.03-m0.1-seed0", 0),
    ]
    done = study.train_and_evaluate({0: tmp_path / "start"})
    assert done["scores"] == {
        "select-K4-l0.1-m0.1": [40.0, 35.0, 35.0],
        "select-K2-l0.03-m0.1": [35.0, 38.0, 38.0],
    }
    assert done["setting"] == (2, 0.03, 0.1)  # seed 0 alone: K 4 (40.0 against 35.0)
    assert [run.overrides["roma_kl_coef"] for run, _ in done["runs"] if run.group == "roma"] == [0.03] * 4
    invocations = [{"finished": "now", "wall_time_s": 60.0, "stages_run": 9, "stages_reused": 0}]
    lines = "\n".join(_selection_and_setup(config, done["scores"], {}, [], invocations, tmp_path))
    assert "validation images per condition; the mean over seeds 0, 1, 2)" in lines
    assert "| select-K2-l0.03-m0.1 | 37.0 | 35.0, 38.0, 38.0 |" in lines
    # One seed (the default) keeps the setting's name for its run.
    assert [run.name for run, _ in Study(StudyConfig(out_dir=str(tmp_path / "one"))).selection_runs()][0] == (
        "select-K2-l0.1-m0.1"
    )


def test_a_roma_run_whose_training_is_a_selection_run_links_to_it_instead_of_training_again(tmp_path):
    """Selection runs as long as the RL runs (``selection_steps`` unset): on the selection's seeds the selected
    setting's run is the ROMA run's very training (same command but the folder), so roma-seed<N> links to it and only
    the other seeds train; the report's commands say so; a resumed study keeps the links. Shorter selection runs
    (``selection_steps``) are other trainings: ROMA trains on every seed."""

    class StubbedCommands(Study):
        def _run(self, argv, log_name, commands=None):
            self._record(argv, commands)
            self.stages_run.append(log_name)
            out = Path(argv[argv.index("--output_dir" if "train" in argv else "--out") + 1])
            out.mkdir(parents=True, exist_ok=True)
            if "train" in argv:
                (out / "run_summary.json").write_text("{}")
            else:  # the second setting wins the selection
                seen = 45.0 if "l0.03" in str(out) else 40.0
                figures = {"clean": 50.0, "seen": seen, "unseen": 30.0}
                results = {"benchmarks": {"synthetic_validation": figures, "synthetic": figures}}
                (out / "results.json").write_text(json.dumps(results))

    def study(folder="study", **settings):
        config = StudyConfig(
            out_dir=str(tmp_path / folder), seeds="0,1,2", selection="2:0.1:0.1,2:0.03:0.1", selection_seeds=2,
            other_methods=False, **settings,
        )  # fmt: skip
        return StubbedCommands(config)

    first = study()
    done = first.train_and_evaluate({0: tmp_path / "start"})
    runs = tmp_path / "study" / "runs"
    assert done["setting"] == (2, 0.03, 0.1)
    for seed in (0, 1):
        assert (runs / f"roma-seed{seed}").readlink() == Path(f"select-K2-l0.03-m0.1-seed{seed}")
        assert (
            f"train-roma-seed{seed}" in first.stages_reused
            and f"eval-test-roma-seed{seed}" in first.stages_run
        )
    assert "train-roma-seed2" in first.stages_run and not (runs / "roma-seed2").is_symlink()
    link = f"ln -s select-K2-l0.03-m0.1-seed0 {runs / 'roma-seed0'}  # the same training as select-K2-l0.03-m0.1-seed0"
    assert link in first.commands
    assert not any("--output_dir " + str(runs / "roma-seed0") in command for command in first.commands)

    again = study()
    again.train_and_evaluate({0: tmp_path / "start"})
    assert again.stages_run == [] and link in again.commands
    from roma.scripts.study_report import _selection_and_setup

    invocations = [{"finished": "now", "wall_time_s": 60.0, "stages_run": 0, "stages_reused": 9}]
    lines = "\n".join(_selection_and_setup(first.config, done["scores"], {}, [], invocations, tmp_path))
    assert "on seed(s) 0, 1 the selected setting's selection runs are ROMA's runs (the same training" in lines

    shorter = study("shorter", selection_steps=100)
    shorter.train_and_evaluate({0: tmp_path / "start"})
    assert {"train-roma-seed0", "train-roma-seed1", "train-roma-seed2"} <= set(shorter.stages_run)
    assert not any(path.is_symlink() for path in (tmp_path / "shorter" / "runs").iterdir())
    lines = "\n".join(_selection_and_setup(shorter.config, done["scores"], {}, [], invocations, tmp_path))
    assert "selection runs are ROMA's runs" not in lines


def test_a_larger_rl_batch_reaches_every_run_with_enough_prompts_and_the_report_states_it(tmp_path):
    """``rl_batch_size`` is every run's ``per_device_train_batch_size``; the runs read rl_steps × prompts a step,
    so max_train_samples is raised to that (the recipe's 4,096 would be revisited from step 257 at 16 prompts)."""
    from roma.scripts.study_report import _rl_settings

    config = StudyConfig(out_dir=str(tmp_path / "study"), rl_steps=300, rl_batch_size=128)
    study = Study(config)
    for seed in (0, 3):
        overrides = study.common_overrides(seed)
        assert overrides["per_device_train_batch_size"] == 128
        assert overrides["max_train_samples"] == 300 * 16
        argv = study._train_args({**overrides, **study.roma_overrides(2, 0.03, 0.1)})
        assert argv[argv.index("--per_device_train_batch_size") + 1] == "128"
    assert _rl_settings(config).startswith("16 prompts × 8 completions a step (batch 128)")
    # Few steps never lower the recipe's rows; without the option the recipe's batch and rows stand.
    short = Study(StudyConfig(out_dir=str(tmp_path / "short"), rl_steps=10, rl_batch_size=128))
    assert short.common_overrides(0)["max_train_samples"] == 4096
    default = StudyConfig(out_dir=str(tmp_path / "default"))
    assert "per_device_train_batch_size" not in Study(default).common_overrides(0)
    assert "max_train_samples" not in Study(default).common_overrides(0)
    assert _rl_settings(default).startswith("8 prompts × 8 completions a step (batch 64)")


@pytest.mark.parametrize("field", ["jobs", "baseline_seeds", "ablation_seeds"])
def test_run_counts_below_their_minimum_are_refused(tmp_path, field):
    with pytest.raises(
        ValueError, match="jobs must be at least 1, baseline_seeds and ablation_seeds at least 0"
    ):
        StudyConfig(out_dir=str(tmp_path), **{field: 0 if field == "jobs" else -1})


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"seeds": "0,x"}, "seeds must be a comma list of integers >= 0 (e.g. 0,1,2), got '0,x'"),
        ({"seeds": ","}, "seeds must be a comma list of integers >= 0"),
        ({"selection": "2:0.1"}, "selection: '2:0.1' is not K:lambda:mu"),
        ({"selection": "2.5:0.1:0.1"}, "selection: '2.5:0.1:0.1' is not K:lambda:mu"),
        ({"selection": ""}, "selection is empty"),
        (
            {"selection": "2:0.1:0.1,4:0.1:0.1,2:0.10:0.1"},
            "selection: 2:0.1:0.1 given more than once in '2:0.1:0.1,4:0.1:0.1,2:0.10:0.1'",
        ),
        ({"seeds": "0,1,0"}, "seeds: 0 given more than once in '0,1,0'"),
        (
            {"eval_conditions": "clean,foo"},
            "eval_conditions / eval_severities: unknown corruption or group 'foo'",
        ),
        ({"eval_severities": "6"}, "eval_conditions / eval_severities: severity '6' is outside [1, 5]"),
        ({"rl_steps": 0}, "rl_steps must be at least 1, got 0"),
        ({"rl_batch_size": 0}, "rl_batch_size must be at least 1, got 0"),
        ({"selection_steps": 0}, "selection_steps must be at least 1, got 0"),
        ({"selection_seeds": 0}, "selection_seeds must be between 1 and the number of seeds (5), got 0"),
        (
            {"seeds": "0,1", "selection_seeds": 3},
            "selection_seeds must be between 1 and the number of seeds (2), got 3",
        ),
        ({"eval_samples": 0}, "eval_samples must be at least 1, got 0"),
        ({"validation_samples": 0}, "validation_samples must be at least 1, got 0"),
    ],
)
def test_settings_read_late_in_the_study_are_checked_first(tmp_path, setting, message):
    """Each of these was a traceback (seeds, selection) or an error minutes into the study (the test conditions,
    read after the selection runs): now refused before any stage runs."""
    import re

    with pytest.raises(ValueError, match="^study: " + re.escape(message)):
        StudyConfig(out_dir=str(tmp_path), **setting)


def test_the_command_line_names_a_bad_setting_without_a_traceback(tmp_path, capsys):
    assert study_main(["--out_dir", str(tmp_path), "--jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: study: jobs must be at least 1") and "Traceback" not in err
    assert study_main(["--out_dir", str(tmp_path), "--base_config", "nowhere.yaml"]) == 2
    assert "base_config 'nowhere.yaml'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before any stage ran


def test_a_missing_base_config_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="base_config 'nowhere.yaml'"):
        StudyConfig(out_dir=str(tmp_path), base_config="nowhere.yaml")


def test_learning_curves_average_each_methods_seeds_per_step():
    histories = {
        "grpo-seed0": [
            {"step": 10, "rewards/accuracy/mean": 0.5, "frac_reward_zero_std": 0.25},
            {"step": 20, "rewards/accuracy/mean": 0.7, "frac_reward_zero_std": 0.5},
            {"step": 20, "train_loss": 0.1},  # the end-of-training summary: no reward, ignored
        ],
        "grpo-seed1": [{"step": 10, "rewards/accuracy/mean": 0.6, "frac_reward_zero_std": 0.75}],
        "roma-seed0": [{"step": 10, "rewards/accuracy/mean": 0.4, "frac_reward_zero_std": 0.0}],
    }
    lines = learning_curves(histories)
    assert "| step | grpo | roma |" in lines
    assert "| 10 | 55.0 / 50 | 40.0 / 0 |" in lines  # (0.5 + 0.6) / 2, (0.25 + 0.75) / 2
    assert "| 20 | 70.0 / 50 | – |" in lines
    # Over the whole run: GRPO's three logged windows (0.25, 0.5, 0.75), ROMA's one.
    assert "Groups with zero reward spread, over the whole run: grpo 50 %, roma 0 %." in lines
    assert learning_curves({"grpo-seed0": [{"step": 1, "loss": 0.2}]}) == []


def test_ablations_are_stated_against_roma_with_their_verdicts():
    grouped = {
        "baseline": "roma",
        "rows": [
            {
                "methods": {
                    "roma": {"runs": ["roma-seed0", "roma-seed1"], "delta": {}, "delta_ci95": {}},
                    "roma-no-aux": {
                        "runs": ["roma-no-aux-seed0", "roma-no-aux-seed1"],
                        "delta": {"clean": 0.5, "seen": -1.25},
                        "delta_ci95": {"clean": [-0.5, 1.5], "seen": [-2.0, -0.5]},
                    },
                }
            }
        ],
    }
    lines = ablations_against_roma(grouped, ("clean", "seen"))
    assert lines[0] == "## Ablations against ROMA (2 seeds each)"
    row = next(line for line in lines if line.startswith("| roma-no-aux |"))
    assert row == (
        "| roma-no-aux | 2 | +0.5 [−0.5, +1.5] (not established) | −1.2 [−2.0, −0.5] (ROMA ahead: the part "
        "helps) |"
    )


def test_rollout_baselines_are_stated_against_grpo_on_their_seeds_with_their_verdicts():
    grouped = {
        "baseline": "grpo",
        "rows": [
            {
                "methods": {
                    "grpo": {
                        "runs": ["grpo-seed0", "grpo-seed1", "grpo-seed2"],
                        "delta": {},
                        "delta_ci95": {},
                    },
                    "augmentation": {
                        "runs": ["augmentation-seed0", "augmentation-seed1", "augmentation-seed2"],
                        "delta": {"clean": -4.25, "seen": 2.0, "unseen": 0.75},
                        "delta_ci95": {"clean": [-6.0, -2.5], "seen": [-0.5, 4.5], "unseen": [0.25, 1.5]},
                    },
                }
            }
        ],
    }
    lines = baselines_against_grpo(grouped, ("clean", "seen", "unseen"))
    assert lines[0] == "## Rollout baselines against GRPO (3 seeds each)"
    assert "| baseline | seeds | clean − GRPO | seen − GRPO | unseen − GRPO |" in lines
    row = next(line for line in lines if line.startswith("| augmentation |"))
    assert row == (
        "| augmentation | 3 | −4.2 [−6.0, −2.5] (GRPO ahead) | +2.0 [−0.5, +4.5] (not established) | "
        "+0.8 [+0.2, +1.5] (baseline ahead) |"
    )


def test_claims_list_per_seed_differences_in_seed_order_with_a_student_t_check():
    from roma.scripts.study_report import _claim, _seed_check, per_seed_differences

    roma = {"runs": ["roma-seed2", "roma-seed0", "roma-seed1"], "seen_per_run": [46.0, 44.0, 45.5]}
    grpo = {"runs": ["grpo-seed0", "grpo-seed1", "grpo-seed2"], "seen_per_run": [43.0, 45.0, 44.0]}
    # Paired by the seed in each run's name, not by position: seed 0 44 − 43, seed 1 45.5 − 45, seed 2 46 − 44.
    assert per_seed_differences(roma, grpo, "seen") == [1.0, 0.5, 2.0]
    # Not the same seeds, a seed twice, or no per-run figures: no per-seed pairing to state.
    assert (
        per_seed_differences(roma, {**grpo, "runs": ["grpo-seed0", "grpo-seed1", "grpo-seed3"]}, "seen")
        is None
    )
    assert (
        per_seed_differences(roma, {**grpo, "runs": ["grpo-seed0", "grpo-seed0", "grpo-seed2"]}, "seen")
        is None
    )
    assert per_seed_differences(roma, grpo, "clean") is None
    # mean 7/6, sd sqrt(0.5833...) = 0.7638, t(0.975, 2) = 4.3027: half 1.897 -> [-0.7, +3.1]
    text, t_interval = _seed_check([1.0, 0.5, 2.0])
    assert text == " Per seed +1.0, +0.5, +2.0; Student t over the 3 seeds alone: [−0.7, +3.1]."
    assert t_interval == pytest.approx([-0.7306, 3.0640], abs=1e-3)
    assert _seed_check([1.0]) == ("", None) and _seed_check(None) == ("", None)
    # The verdict is as firm as the wider interval: a bootstrap excluding 0 is not enough when t over seeds does not.
    line = _claim("- ROMA − GRPO, seen: x", [0.2, 1.8], [1.0, 0.5, 2.0], "ROMA", "GRPO")
    assert line.startswith(
        "- ROMA − GRPO, seen: x: **not established** (the bootstrap interval excludes 0, the"
    )
    firm = _claim("- c", [0.2, 1.8], [1.0, 1.1, 1.2], "ROMA", "GRPO")  # t over seeds: [+0.85, +1.35]
    assert firm.startswith("- c: **established** (the interval excludes 0, ROMA ahead).")
    assert _claim("- c", [-1.0, 1.0], [1.0, 0.5, 2.0], "ROMA", "GRPO").startswith(
        "- c: **not established** (the"
    )
    assert (
        _claim("- c", [0.2, 1.8], None, "ROMA", "GRPO")
        == "- c: **established** (the interval excludes 0, ROMA ahead)."
    )


def test_an_invocation_stopped_by_ctrl_c_is_recorded_as_interrupted(tmp_path, monkeypatch):
    def interrupted(self):
        self.stages_run.append("warm-start")  # a stage finished before the key press
        raise KeyboardInterrupt

    monkeypatch.setattr(Study, "warm_starts", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Study(StudyConfig(out_dir=str(tmp_path / "study"), quick=True)).run()
    (entry,) = json.loads((tmp_path / "study" / "invocations.json").read_text())
    assert entry["ended"] == "interrupted" and entry["stages_run"] == 1


def test_runs_in_flight_share_the_cores_this_process_may_use_not_the_machines(tmp_path, monkeypatch):
    """A stage's OpenMP threads are the process's usable cores (its CPU affinity: a container's or taskset's
    share) divided by the runs in flight, whatever the machine's core count."""
    import subprocess

    study = Study(StudyConfig(out_dir=str(tmp_path / "study")))
    environments = []

    def record(argv, stdout, stderr, env):
        environments.append(env)
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(subprocess, "run", record)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    study._parallel = 2
    study._run(["true"], "stage-a")
    study._parallel = 1
    study._run(["true"], "stage-b")
    assert environments[0]["OMP_NUM_THREADS"] == "3"
    assert environments[1].get("OMP_NUM_THREADS") == os.environ.get("OMP_NUM_THREADS")
