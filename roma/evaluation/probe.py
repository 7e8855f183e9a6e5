"""``roma probe``: rank corruptions by how much they move a model, without grading anything.

For each sample the model first answers greedily on the clean image(s). That answer is then teacher-forced
under the clean image and under every corruption × severity view (the same view the sweep uses, from the
same cache), and two figures are taken over the answer's tokens:

- the token KL over the full vocabulary, KL(π(·|clean) ‖ π(·|corrupted)), averaged over the tokens (the same
  chunked computation as the trainer's ``full`` estimator, `roma.kl_kernels.full_vocabulary_kl`);
- the log-prob drop, log π(token|clean) − log π(token|corrupted), averaged over the tokens.

Both are averaged over samples (each sample weighs the same, whatever its answer length). A corruption
keeps the image size, so every view has the clean prompt's token ids and image grid: the views of one
sample share ``input_ids`` and go through the model as one batch. Writes ``probe.json`` and ``probe.md``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roma.degrade import DegradationError
from roma.evaluation.backends import GenerationRequest, TransformersBackend
from roma.evaluation.benchmarks import import_benchmark_modules
from roma.evaluation.conditions import (
    parse_severities,
    resolve_conditions,
)
from roma.evaluation.config import BenchmarkRunConfig, describe_negated_flags
from roma.evaluation.errors import EvaluationError
from roma.evaluation.formatting import markdown_table

__all__ = ["ProbeConfig", "main", "run_probe", "token_kl_and_logprob_drop"]


@dataclass
class ProbeConfig(BenchmarkRunConfig):
    """Settings of ``roma probe`` (each field is a command-line option of the same name)."""

    model: str = field(metadata={"help": "Checkpoint folder or hub id of the model to probe."})
    out: str = field(metadata={"help": "Output folder for probe.json and probe.md."})
    conditions: str = field(
        default="seen,unseen",
        metadata={"help": "Corruption groups or names to probe (clean is the reference)."},
    )
    max_samples: int | None = field(
        default=32, metadata={"help": "Samples per benchmark split (the probe is cheap)."}
    )
    max_new_tokens: int = field(default=256, metadata={"help": "Length cap of the clean greedy answer."})
    batch_size: int = field(
        default=8, metadata={"help": "Prompts per generation batch and views per forward pass."}
    )
    seed: int = field(
        default=0, metadata={"help": "Seed of the corruptions (same views as `roma eval --seed`)."}
    )


def token_kl_and_logprob_drop(
    clean_hidden: Any, view_hidden: Any, tokens: Any, lm_head: Any
) -> tuple[Any, Any]:
    """Per-token KL(π(·|clean) ‖ π(·|view)) over the vocabulary, and the log-prob drop of ``tokens``.

    Computed from final hidden states with the chunked kernels the trainer's ``full`` estimator uses
    (`roma.kl_kernels`), so the (views × tokens × vocabulary) logits never exist at once.

    Args:
        clean_hidden: (T, H) final hidden states predicting each answer token under the clean image.
        view_hidden: (B, T, H) the same under B corrupted views.
        tokens: (T,) the answer token ids.
        lm_head: the model's output embedding (``weight`` (V, H), ``bias`` or None).

    Returns:
        ``kl`` (B, T) and ``drop`` (B, T) = log p_clean(token) − log p_view(token), float32.
    """
    from roma.kl_kernels import full_vocabulary_kl, token_logps_from_hidden

    views, length, size = view_hidden.shape
    flat_views = view_hidden.reshape(-1, size)
    weight, bias = lm_head.weight, lm_head.bias
    kl = full_vocabulary_kl(flat_views, clean_hidden.repeat(views, 1), weight, bias)
    clean_logps = token_logps_from_hidden(clean_hidden, weight, bias, tokens)
    view_logps = token_logps_from_hidden(flat_views, weight, bias, tokens.repeat(views))
    return kl.view(views, length), clean_logps.unsqueeze(0) - view_logps.view(views, length)


class _Prober:
    def __init__(self, config: ProbeConfig):
        self.config = config
        self.conditions = [
            c
            for c in resolve_conditions(config.conditions, parse_severities(config.severities))
            if not c.is_clean
        ]
        if not self.conditions:
            raise EvaluationError(
                "the probe needs at least one corruption in --conditions (clean is the reference)"
            )
        import_benchmark_modules(config.benchmark_module)
        self.benchmarks = config.make_benchmarks()
        self.cache = config.image_cache()
        self.build_conversation = config.conversation_builder()
        self.backend = TransformersBackend(
            config.model,
            max_new_tokens=config.max_new_tokens,
            device=config.device,
            dtype=config.dtype,
            min_pixels=config.min_pixels,
            max_pixels=config.max_pixels,
        )

    def forward_hidden(self, batch: Any, answer: Any, views: list[Any]) -> Any:
        """Final hidden states predicting ``answer`` after the prompt, for each view's pixel values (B, T, H)."""
        import torch

        size = len(views)
        input_ids = torch.cat([batch["input_ids"][0], answer]).unsqueeze(0).repeat(size, 1)
        inputs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "pixel_values": torch.cat([v["pixel_values"] for v in views]),
            "image_grid_thw": torch.cat([v["image_grid_thw"] for v in views]),
        }
        if "mm_token_type_ids" in batch:  # mandatory with image_grid_thw; zeros (text) over the answer
            types = torch.cat([batch["mm_token_type_ids"][0], torch.zeros_like(answer)])
            inputs["mm_token_type_ids"] = types.unsqueeze(0).repeat(size, 1)
        with torch.inference_mode():
            hidden = self.backend.model.base_model(**inputs, use_cache=False).last_hidden_state
        # Position t predicts token t + 1: the answer tokens are predicted from the positions just before them.
        return hidden[:, -answer.shape[0] - 1 : -1]

    def probe_sample(
        self, data: Any, sample: Any, answer_ids: list[int]
    ) -> dict[str, tuple[float, float, int]]:
        import torch

        conversation = self.build_conversation(sample.question, len(sample.images))
        sources = data.image_sources(sample)  # the sweep's cache keys: its corrupted views are reused here
        clean_images = [source.load() for source in sources]
        device = self.backend.device
        batch = self.backend.encode([GenerationRequest(conversation, clean_images)])
        answer = torch.tensor(answer_ids, dtype=batch["input_ids"].dtype, device=device)
        clean_view = {"pixel_values": batch["pixel_values"], "image_grid_thw": batch["image_grid_thw"]}
        clean_hidden = self.forward_hidden(batch, answer, [clean_view])[0]
        lm_head = self.backend.model.get_output_embeddings()
        results: dict[str, tuple[float, float, int]] = {}
        size = max(1, self.config.batch_size)
        for start in range(0, len(self.conditions), size):
            chunk = self.conditions[start : start + size]
            views = []
            for condition in chunk:
                images = [
                    self.cache.get(source, data.benchmark, sample.sample_id, index, condition)
                    for index, source in enumerate(sources)
                ]
                encoded = self.backend.encode([GenerationRequest(conversation, images)])
                if not torch.equal(encoded["image_grid_thw"], batch["image_grid_thw"]):
                    raise EvaluationError(
                        f"{data.benchmark} sample '{sample.sample_id}': corruption {condition.name} changed the image "
                        f"grid {batch['image_grid_thw'].tolist()} -> {encoded['image_grid_thw'].tolist()}; a corruption "
                        "must keep the image size"
                    )
                views.append(
                    {"pixel_values": encoded["pixel_values"], "image_grid_thw": encoded["image_grid_thw"]}
                )
            view_hidden = self.forward_hidden(batch, answer, views)
            with torch.inference_mode():
                kl, drop = token_kl_and_logprob_drop(clean_hidden, view_hidden, answer, lm_head)
            for row, condition in enumerate(chunk):
                results[condition.name] = (kl[row].mean().item(), drop[row].mean().item(), answer.shape[0])
        return results

    def run(self) -> dict[str, Any]:
        from tqdm.auto import tqdm

        per_benchmark: dict[str, dict[str, list[tuple[float, float, int]]]] = {}
        for benchmark in self.benchmarks:
            data = benchmark.load(self.config.max_samples)
            cells: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
            bar = tqdm(
                total=len(data),
                desc=f"probe {benchmark.name}",
                unit="sample",
                disable=not self.config.progress,
            )
            for start in range(0, len(data), self.config.batch_size):
                samples = data.samples[start : start + self.config.batch_size]
                requests = [
                    GenerationRequest(self.build_conversation(s.question, len(s.images)), data.load_images(s))
                    for s in samples
                ]
                answers = self.backend.generate_ids(requests)
                for sample, answer_ids in zip(samples, answers):
                    bar.update(1)
                    if not answer_ids:  # nothing generated: nothing to teacher-force
                        continue
                    for name, cell in self.probe_sample(data, sample, answer_ids).items():
                        cells[name].append(cell)
            bar.close()
            per_benchmark[benchmark.name] = cells
        return summarize_probe(per_benchmark, self.conditions, dataclasses.asdict(self.config))


def _aggregate(cells: list[tuple[float, float, int]]) -> dict[str, Any]:
    return {
        "mean_kl": sum(c[0] for c in cells) / len(cells),
        "mean_logprob_drop": sum(c[1] for c in cells) / len(cells),
        "samples": len(cells),
        "tokens": sum(c[2] for c in cells),
    }


def summarize_probe(
    per_benchmark: dict[str, dict[str, list[tuple[float, float, int]]]],
    conditions: list[Any],
    run: dict[str, Any],
) -> dict[str, Any]:
    """probe.json's content: per condition, per corruption (ranked by mean KL), and per benchmark."""
    overall: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for cells in per_benchmark.values():
        for name, values in cells.items():
            overall[name] += values
    rows = []
    for condition in conditions:
        if overall.get(condition.name):
            rows.append(
                {
                    "condition": condition.name,
                    "corruption": condition.corruption,
                    "severity": condition.severity,
                    "group": condition.group,
                    **_aggregate(overall[condition.name]),
                }
            )
    corruptions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        corruptions[row["corruption"]].append(row)
    ranking = sorted(
        (
            {
                "corruption": name,
                "group": entries[0]["group"],
                "mean_kl": sum(e["mean_kl"] for e in entries) / len(entries),
                "mean_logprob_drop": sum(e["mean_logprob_drop"] for e in entries) / len(entries),
                "max_kl": max(e["mean_kl"] for e in entries),
                "severities": [e["severity"] for e in entries],
            }
            for name, entries in corruptions.items()
        ),
        key=lambda entry: -entry["mean_kl"],
    )
    for rank, entry in enumerate(ranking, 1):
        entry["rank"] = rank
    benchmarks = {
        name: {c: _aggregate(v) for c, v in cells.items() if v} for name, cells in per_benchmark.items()
    }
    return {"run": run, "ranking": ranking, "conditions": rows, "benchmarks": benchmarks}


def probe_markdown(result: dict[str, Any]) -> str:
    run = result["run"]
    parts = [
        "# Corruption probe",
        f"Model `{run.get('model')}`; benchmarks {run.get('benchmarks')}; severities {run.get('severities')}; "
        f"{result['conditions'][0]['samples'] if result['conditions'] else 0} samples. The model's greedy clean answer is teacher-forced "
        "under each corrupted view. *KL*: mean token KL(clean ‖ corrupted) over the full vocabulary (nats); *drop*: mean "
        "log-prob drop of the answer tokens (nats per token).",
        "## Corruptions ranked by mean KL over severities",
        markdown_table(
            ["rank", "corruption", "group", "mean KL", "max KL", "mean drop"],
            [
                [
                    str(e["rank"]),
                    e["corruption"],
                    e["group"],
                    f"{e['mean_kl']:.4g}",
                    f"{e['max_kl']:.4g}",
                    f"{e['mean_logprob_drop']:.4g}",
                ]
                for e in result["ranking"]
            ],
        ),
        "## Per condition",
        markdown_table(
            ["condition", "group", "KL", "drop", "samples", "tokens"],
            [
                [
                    r["condition"],
                    r["group"],
                    f"{r['mean_kl']:.4g}",
                    f"{r['mean_logprob_drop']:.4g}",
                    str(r["samples"]),
                    str(r["tokens"]),
                ]
                for r in result["conditions"]
            ],
        ),
    ]
    return "\n\n".join(parts) + "\n"


def run_probe(config: ProbeConfig) -> dict[str, Any]:
    """Run the probe and write ``probe.json`` and ``probe.md`` to ``config.out``; return probe.json's content."""
    result = _Prober(config).run()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "probe.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "probe.md").write_text(probe_markdown(result))
    return result


def main(argv: list[str] | None = None) -> int:
    """``roma probe --model PATH --benchmarks ... [--conditions ...] [--severities ...] --out DIR``."""
    from transformers import HfArgumentParser  # only the command line needs it

    parser = HfArgumentParser(
        ProbeConfig,
        prog="roma probe",
        description="Rank corruptions by how much they move a model: token KL and log-prob drop of its clean "
        "greedy answer under each corrupted view. No grading.",
    )
    describe_negated_flags(parser)
    try:
        config = parser.parse_args_into_dataclasses(args=argv)[0]
    except ValueError as error:
        parser.error(str(error))
    try:
        result = run_probe(config)
    except (EvaluationError, DegradationError) as error:
        print(f"roma probe: error: {error}", file=sys.stderr)
        return 2
    print(probe_markdown(result).split("\n## Per condition")[0])
    print(f"wrote {Path(config.out).resolve() / 'probe.json'} and probe.md")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
