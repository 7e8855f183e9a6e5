"""The study's Markdown report (`roma.scripts.study`): the claims with their intervals, the table by method, the
warm start's corruption costs, per-condition and per-seed figures, the selection, commands and machine.
"""

from __future__ import annotations

import json
import platform
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from roma.configs import recipe_path
from roma.evaluation.compare import method_of, pair_by_seed, plot_methods
from roma.evaluation.formatting import format_points, format_points_interval
from roma.evaluation.reports import load_run
from roma.evaluation.stats import paired_difference_interval, seed_level_t_interval
from roma.numerics import available_cpu_cores

__all__ = ["corruption_costs", "write_report"]


def corruption_costs(eval_dir: Path) -> list[dict[str, Any]]:
    """Per corrupted condition of one evaluation: clean and corrupted accuracy and the paired cost clean −
    corrupted with its 95 % interval (same samples), percent; in the order the sweep scored them."""
    _, records = load_run(eval_dir)
    by_condition: dict[str, dict[str, float]] = {}
    groups: dict[str, str] = {}
    for record in records or []:
        by_condition.setdefault(record.condition, {})[record.sample_id] = record.correct
        groups[record.condition] = record.group or "other"
    clean = by_condition.get("clean", {})
    rows = []
    for condition, outcomes in by_condition.items():
        shared = [sample for sample in clean if sample in outcomes]
        if condition == "clean" or not shared:
            continue
        cost, low, high = paired_difference_interval(
            [outcomes[s] for s in shared], [clean[s] for s in shared]
        )
        rows.append(
            {
                "condition": condition,
                "group": groups[condition],
                "n": len(shared),
                "clean": 100.0 * statistics.mean(clean[s] for s in shared),
                "corrupted": 100.0 * statistics.mean(outcomes[s] for s in shared),
                "cost": 100.0 * cost,
                "cost_ci95": [100.0 * low, 100.0 * high],
            }
        )
    return rows


def _interval(value: float | None, interval: list[float] | None, signed: bool = False) -> str:
    return format_points_interval(value, interval, signed=signed)


def _verdict(interval: list[float] | None, first: str = "ROMA", second: str = "GRPO") -> str:
    """The verdict on a difference ``first − second`` from its 95 % interval."""
    if interval is None:
        return "not measured"
    if interval[0] > 0:
        return f"**established** (the interval excludes 0, {first} ahead)"
    if interval[1] < 0:
        return f"**established against {first}** (the interval excludes 0, {second} ahead)"
    return "**not established** (the interval includes 0)"


def per_seed_differences(first: dict[str, Any], second: dict[str, Any], figure: str) -> list[float] | None:
    """``first − second`` per seed, in seed order, from two methods' entries of `roma compare --group-by method`
    (``runs`` and ``<figure>_per_run``); None unless both ran the same seeds, once each (`pair_by_seed`)."""
    values = [
        dict(zip(entry.get("runs", []), entry.get(f"{figure}_per_run") or [])) for entry in (first, second)
    ]
    paired = pair_by_seed(list(values[1]), list(values[0])) if all(values) else None
    if paired is None:
        return None
    return [values[0][mine] - values[1][theirs] for theirs, mine in zip(*paired)]


def _seed_check(differences: list[float] | None) -> tuple[str, list[float] | None]:
    """The per-seed differences and their Student-t interval over seeds, as a claim's line states them, and that
    interval (("", None) below 2 seeds)."""
    if not differences or len(differences) < 2:
        return "", None
    _, low, high = seed_level_t_interval(differences)
    per_seed = ", ".join(format_points(value, signed=True) for value in differences)
    bounds = f"[{format_points(low, signed=True)}, {format_points(high, signed=True)}]"
    return f" Per seed {per_seed}; Student t over the {len(differences)} seeds alone: {bounds}.", [low, high]


def _claim(
    head: str, interval: list[float] | None, differences: list[float] | None, first: str, second: str
) -> str:
    """A claim's line: ``head``, the verdict, the per-seed check. The verdict is only as firm as the wider of the
    bootstrap interval and the Student-t one over seeds: established when both exclude 0 on the same side."""
    check, t_interval = _seed_check(differences)
    verdict = _verdict(interval, first, second)
    if interval is not None and t_interval is not None:
        hull = [min(interval[0], t_interval[0]), max(interval[1], t_interval[1])]
        if _verdict(hull, first, second) != verdict:
            verdict = "**not established** (the bootstrap interval excludes 0, the Student-t interval over seeds does not)"
    return f"{head}: {verdict}.{check}"


def _claims(entries: dict[str, Any], figures: tuple[str, ...], per_seed: bool) -> list[str]:
    """The report's claims: GRPO − warm start (does the baseline learn?) and ROMA − GRPO, per figure, each with its
    interval, verdict and per-seed check (``per_seed``: each seed had its own warm start)."""
    lines: list[str] = []
    roma, grpo = entries.get("roma", {}), entries.get("grpo", {})
    grpo_runs, roma_runs = len(grpo.get("runs", [])), len(roma.get("runs", []))
    # Does the baseline learn? The warm start's difference to GRPO, turned around (sign −1): GRPO − warm start.
    warm = entries.get(WARM_START_METHOD, {})
    starts = "each from its own warm start, paired by seed" if per_seed else "from one warm start"
    claims = (
        ("GRPO − warm start", warm, -1, f"{grpo_runs} seeds", grpo, warm, "GRPO", "the warm start"),
        ("ROMA − GRPO", roma, 1, f"{roma_runs} vs {grpo_runs} seeds", roma, grpo, "ROMA", "GRPO"),
    )
    for title, entry, sign, runs, first, second, first_name, second_name in claims:
        for figure in figures:
            change, interval = entry.get("delta", {}).get(figure), entry.get("delta_ci95", {}).get(figure)
            if change is None:
                continue
            if sign < 0 and interval is not None:
                interval = [-interval[1], -interval[0]]
            lines.append(
                _claim(
                    f"- {title}, {figure}: **{_interval(sign * change, interval, signed=True)} points** "
                    f"({runs}, {starts})",
                    interval,
                    per_seed_differences(first, second, figure),
                    first_name,
                    second_name,
                )
            )
    return lines


# The study's reference run, scored without RL (`roma compare --group-by method` names it after the run).
WARM_START_METHOD = "warm-start"


def write_report(
    path: Path,
    *,
    config: Any,  # roma.scripts.study.StudyConfig
    selection: dict[str, list[float]],
    selected: dict[str, Any],
    grouped: dict[str, Any],
    warm_start_costs: list[dict[str, Any]],
    per_condition: dict[str, dict[str, Any]],
    log_histories: dict[str, list[dict[str, Any]]],
    commands: list[str],
    invocations: list[dict[str, Any]],
    compare_dir: Path,
    ablations: dict[str, Any] | None = None,
    baselines: dict[str, Any] | None = None,
) -> Path:
    """The Markdown report: the claims with their intervals, the table by method, the rollout baselines against
    GRPO and the ablations against ROMA on the seeds each ran (``baselines``, ``ablations``: `roma compare
    --group-by method` with GRPO, ROMA first), the warm start's corruption costs,
    per-condition and per-seed figures, the selection, commands and machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plot = plot_methods(grouped, path.with_name(path.stem + ".png"))  # travels with the report
    entries = grouped["rows"][0]["methods"]
    samples = grouped["rows"][0]["samples"]
    figures = ("clean", "seen", "unseen")
    lines = [
        "# Does ROMA work? A small-scale study on the synthetic task"
        + (" (--quick: numbers are meaningless)" if config.quick else ""),
        "",
        f"Generated by `python recipes/study_synthetic.py` (`roma.scripts.study`); every number below is from the "
        f"runs listed under Commands. Accuracy (%) on {samples} images of the synthetic test split per condition; "
        "*seen* = mean over the training corruptions (Gaussian blur, JPEG, low resolution), *unseen* = mean over "
        f"the evaluation-only corruptions; severities {config.eval_severities}. 95 % intervals in brackets: for a "
        "method, a two-level bootstrap over the test images (shared by every run, so differences are paired) and "
        "the method's seeds (`roma compare --group-by method`); a difference between two methods that ran the "
        "same seeds is paired by seed as well (runs of one seed share the start, the RL data order and the "
        "sampling draws). Such a claim also lists its per-seed differences and a Student-t interval over them: "
        "from 3-5 seeds the bootstrap's seed level is estimated from few values and comes out narrow, so the "
        "verdict is only as firm as the wider of the two: established when both exclude 0.",
        "",
        "## The claims",
        "",
    ]
    lines += _claims(entries, figures, getattr(config, "warm_start_per_seed", False))
    header = ["method", "seeds", *figures, *(f"Δ{f} vs grpo" for f in figures)]
    lines += ["", "## By method", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for method, entry in entries.items():
        cells = [method, str(len(entry["runs"]))]
        cells += [_interval(entry.get(f), entry.get(f"{f}_ci95")) for f in figures]
        cells += [
            "–" if method == grouped["baseline"] else _interval(
                entry["delta"].get(f), entry["delta_ci95"].get(f), signed=True
            )
            for f in figures
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![clean / seen / unseen accuracy per method]({plot.name})", ""]
    lines += baselines_against_grpo(baselines, figures) if baselines else []
    lines += ablations_against_roma(ablations, figures) if ablations else []
    lines += learning_curves(log_histories)
    lines += _costs_and_figures(warm_start_costs, per_condition, entries, figures)
    lines += _selection_and_setup(config, selection, selected, commands, invocations, compare_dir)
    path.write_text("\n".join(lines))
    return path


def ablations_against_roma(grouped: dict[str, Any], figures: tuple[str, ...]) -> list[str]:
    """Each ablation's accuracy minus ROMA's on the seeds both ran, with the 95 % interval over test images and
    seeds (``grouped``: `roma compare --group-by method` output whose first method, the baseline, is ROMA)."""
    return _against_reference(
        grouped,
        figures,
        "Ablations against ROMA",
        "What each part of ROMA adds: the ablation's accuracy minus ROMA's (the same seeds and test images; below "
        "0, removing the part cost accuracy). no-gate: the KL and auxiliary terms on every completion, not only "
        "the correct ones; mean-views: the KL averaged over the K views instead of their worst case; no-aux: "
        "μ = 0.",
        ("ablation", "ROMA"),
        ("ROMA ahead: the part helps", "ablation ahead: the part hurts"),
    )


def baselines_against_grpo(grouped: dict[str, Any], figures: tuple[str, ...]) -> list[str]:
    """Each rollout baseline's accuracy minus GRPO's on the seeds both ran (``grouped``: `roma compare --group-by
    method` output whose first method is GRPO): paired by seed, unlike the table by method, which sets a baseline's
    seeds against all of GRPO's."""
    return _against_reference(
        grouped,
        figures,
        "Rollout baselines against GRPO",
        "The baseline's accuracy minus GRPO's on the seeds both ran, so each difference is paired by seed (a run "
        "and GRPO's of one seed share the warm start, the RL data order and the sampling draws) as well as by test "
        "image: narrower than the table by method's, which sets these seeds against all of GRPO's.",
        ("baseline", "GRPO"),
        ("GRPO ahead", "baseline ahead"),
    )


def _against_reference(
    grouped: dict[str, Any],
    figures: tuple[str, ...],
    title: str,
    intro: str,
    labels: tuple[str, str],
    verdicts: tuple[str, str],
) -> list[str]:
    entries = grouped["rows"][0]["methods"]
    seeds = len(entries[grouped["baseline"]]["runs"])
    lines = [
        f"## {title} ({seeds} seed{'' if seeds == 1 else 's'} each)",
        "",
        intro,
        "",
        f"| {labels[0]} | seeds | " + " | ".join(f"{f} − {labels[1]}" for f in figures) + " |",
        "| --- | --- |" + " --- |" * len(figures),
    ]
    for method, entry in entries.items():
        if method == grouped["baseline"]:
            continue
        cells = [
            f"{_interval(entry['delta'].get(f), entry['delta_ci95'].get(f), signed=True)} "
            f"({_sided_verdict(entry['delta_ci95'].get(f), *verdicts)})"
            for f in figures
        ]
        lines.append(f"| {method} | {len(entry['runs'])} | " + " | ".join(cells) + " |")
    return lines + [""]


def _sided_verdict(interval: list[float] | None, below: str, above: str) -> str:
    """The verdict on a difference from its 95 % interval: ``below`` when it lies below 0, ``above`` above 0."""
    if interval is None:
        return "not measured"
    if interval[1] < 0:
        return below
    if interval[0] > 0:
        return above
    return "not established"


def learning_curves(log_histories: dict[str, list[dict[str, Any]]], reward: str = "accuracy") -> list[str]:
    """The report's learning curves: per method (mean over its seeds), the rollouts' mean ``reward`` and the
    fraction of groups whose rewards were all equal (no advantage, no gradient) at each logged RL step."""
    curves: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for name, history in log_histories.items():
        for entry in history:
            if f"rewards/{reward}/mean" in entry and "frac_reward_zero_std" in entry:
                point = (entry[f"rewards/{reward}/mean"], entry["frac_reward_zero_std"])
                curves.setdefault(method_of(name), {}).setdefault(entry["step"], []).append(point)
    if not curves:
        return []
    methods = list(curves)
    steps = sorted({step for by_step in curves.values() for step in by_step})
    lines = [
        "## Learning curves (training rollouts, mean over each method's seeds)",
        "",
        f"Each cell: the clean rollouts' mean {reward} reward (%) / the fraction of groups with zero reward spread "
        "(%), averaged over the logging window that ends at the step. GRPO's settings were tuned on the validation "
        "split so that this rises and the zero-spread fraction stays well under half (issue 23).",
        "",
        "| step | " + " | ".join(methods) + " |",
        "|" + " --- |" * (len(methods) + 1),
    ]
    for step in steps:
        cells = []
        for method in methods:
            points = curves[method].get(step)
            cells.append(
                "–" if not points else
                f"{100 * statistics.mean(p[0] for p in points):.1f} / {100 * statistics.mean(p[1] for p in points):.0f}"
            )  # fmt: skip
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    overall = [
        f"{method} {100 * statistics.mean(p[1] for points in by_step.values() for p in points):.0f} %"
        for method, by_step in curves.items()
    ]
    lines += ["", "Groups with zero reward spread, over the whole run: " + ", ".join(overall) + ".", ""]
    return lines


def _costs_and_figures(
    warm_start_costs: list[dict[str, Any]],
    per_condition: dict[str, dict[str, Any]],
    entries: dict[str, Any],
    figures: tuple[str, ...],
) -> list[str]:
    """The report's sections on the warm start's corruption costs, per condition and per seed."""
    lines = [
        "## What each corruption costs the warm-started model (no RL)",
        "",
        "Cost = clean − corrupted accuracy on the same images, in points, with a paired 95 % interval (the first "
        "seed's warm start where each seed has its own).",
        "",
        "| condition | group | clean | corrupted | cost |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in warm_start_costs:
        lines.append(
            f"| {row['condition']} | {row['group']} | {row['clean']:.1f} | {row['corrupted']:.1f} | "
            f"{_interval(row['cost'], row['cost_ci95'], signed=True)} |"
        )
    conditions = list(next(iter(per_condition.values()))["conditions"])
    lines += [
        "",
        "## Per condition (mean over each method's seeds)",
        "",
        "| method | " + " | ".join(conditions) + " |",
        "|" + " --- |" * (len(conditions) + 1),
    ]
    by_method: dict[str, list[dict[str, Any]]] = {}
    for name, figures_of_run in per_condition.items():
        by_method.setdefault(method_of(name), []).append(figures_of_run["conditions"])
    for method, runs in by_method.items():
        cells = [f"{statistics.mean(r[c]['accuracy'] for r in runs):.1f}" for c in conditions]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per seed",
        "",
        "| method | " + " | ".join(f"{f} per seed" for f in figures) + " |",
        "| --- |" + " --- |" * len(figures),
    ]
    for method, entry in entries.items():
        cells = [", ".join(f"{v:.1f}" for v in entry.get(f"{f}_per_run", [])) for f in figures]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def _selection_runs_are_roma_runs(config: Any, selection_seeds: list[int]) -> list[str]:
    """When the selection runs train as long as the RL runs, the selected setting's are ROMA's runs on those seeds
    (`Study.train` links them): say so, as those seeds' ROMA runs were picked on validation."""
    if getattr(config, "selection_steps", None) not in (None, config.rl_steps):
        return []
    seeds = ", ".join(map(str, selection_seeds))
    return [
        "",
        f"The selection runs trained as long as the RL runs, so on seed(s) {seeds} the selected setting's selection "
        "runs are ROMA's runs (the same training, linked: see Commands): ROMA's test figures on those seeds are for "
        "runs whose setting was chosen on their own validation scores (validation images only; the test images "
        "played no part).",
    ]


def _selection_and_setup(
    config: Any,
    selection: dict[str, list[float]],
    selected: dict[str, Any],
    commands: list[str],
    invocations: list[dict[str, Any]],
    compare_dir: Path,
) -> list[str]:
    """The report's sections on the selection of K, λ, μ (``selection``: setting -> its score per seed), the setup
    and machine, the commands and settings."""
    selection_seeds = config.seed_list[: getattr(config, "selection_seeds", 1)]
    seeds = f"seed {selection_seeds[0]}" if len(selection_seeds) == 1 else (
        f"the mean over seeds {', '.join(map(str, selection_seeds))}"
        + (", each from its own warm start" if getattr(config, "warm_start_per_seed", False) else "")
    )  # fmt: skip
    return [
        "",
        "## Selection of K, λ, μ (validation split only)",
        "",
        f"Selected: {selected} (score = mean of seen and unseen validation accuracy, "
        f"{config.validation_samples} validation images per condition; {seeds}).",
        "",
        "| setting | validation score | per seed |",
        "| --- | --- | --- |",
        *[
            f"| {name} | {statistics.mean(scores):.1f} | {', '.join(f'{score:.1f}' for score in scores)} |"
            for name, scores in selection.items()
        ],
        *_selection_runs_are_roma_runs(config, selection_seeds),
        "",
        f"Per-run tables and plots: `roma compare` output in `{compare_dir}`.",
        "",
        "## Setup",
        "",
        f"- Model: `{config.model}`, warm-started by the recipe's supervised fine-tuning "
        f"({config.warm_start_steps or 'recipe default'} steps), then {config.rl_steps} RL steps per run "
        "(recipe defaults: `roma/configs/tiny_cpu.yaml`). "
        + (
            "Each seed has its own warm start (warm_start_seed = the seed: other supervised rows, order and draws), "
            "and every run of that seed starts from it."
            if getattr(config, "warm_start_per_seed", False)
            else "Every run starts from the same warm-started checkpoint."
        ),
        f"- RL settings (every method): {_rl_settings(config)}, {config.rl_steps} steps; chosen for GRPO "
        "on the validation split before ROMA was run: "
        + (
            "GRPO alone from four per-seed warm starts, step 300 against step 0 at 8 and 16 prompts a step and "
            'three learning rates, in `docs/method.md`, "From other warm starts".'
            if getattr(config, "rl_batch_size", None)
            else "the validation learning curves (accuracy against RL step, 3 seeds) in `docs/method.md`, "
            '"The GRPO baseline\'s RL settings".'
        ),
        f"- Machine: {platform.processor() or platform.machine()}, {available_cpu_cores()} CPU cores, "
        f"Python {platform.python_version()}, {config.jobs} run(s) at a time; {_wall_times(invocations)}",
        "",
        "## Commands",
        "",
        "```bash",
        *commands,
        "```",
        "",
        "<details><summary>Study settings</summary>",
        "",
        "```json",
        json.dumps(asdict(config), indent=2),
        "```",
        "</details>",
        "",
    ]


def _wall_times(invocations: list[dict[str, Any]]) -> str:
    """The wall time of the study: this invocation's, and all invocations' recorded in its folder (a resumed
    study's stages ran in earlier ones)."""
    last = invocations[-1]
    text = (
        f"wall time of this invocation: {last['wall_time_s'] / 60:.1f} min ({last['stages_run']} stages run, "
        f"{last['stages_reused']} reused)"
    )
    if len(invocations) == 1:
        return text + "."
    total = sum(entry["wall_time_s"] for entry in invocations) / 60
    run = sum(entry["stages_run"] for entry in invocations)
    early = sum(entry.get("ended", "report") != "report" for entry in invocations)
    return (
        text
        + f"; all {len(invocations)} invocations recorded in its folder"
        + (f" ({early} of them ended early: a failed stage or Ctrl-C)" if early else "")
        + f": {total:.1f} min, {run} stages run."
    )


def recipe_settings(base_config: str) -> dict[str, Any]:
    """The study's training recipe (a packaged name or a YAML path) as its YAML reads."""
    return yaml.safe_load(recipe_path(base_config).read_text()) or {}


def _rl_settings(config) -> str:
    """The RL batch and learning rate of the study's runs (its recipe's, the batch as the study sets it), as the
    report states them."""
    recipe = recipe_settings(config.base_config)
    batch = getattr(config, "rl_batch_size", None) or recipe.get("per_device_train_batch_size")
    generations = recipe.get("num_generations")
    prompts = batch // generations if batch and generations else "?"
    return (
        f"{prompts} prompts × {generations} completions a step (batch {batch}), learning rate "
        f"{recipe.get('learning_rate')}, temperature {recipe.get('temperature', 1.0)}"
    )
