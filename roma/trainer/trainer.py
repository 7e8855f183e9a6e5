"""`RomaGRPOTrainer`: TRL's `GRPOTrainer` plus ROMA's teacher-forced degraded views.

Generation, rewards, advantages and the GRPO loss are TRL's, on the clean image. This subclass overrides six
hooks and calls `super()` in each:

- `_calculate_rewards`: keeps the per-function rewards (TRL only returns advantages) for the correctness gate;
- `_generate_and_score_completions`: while TRL generates, a background thread prepares K degraded views per
  prompt (`roma.trainer.views`: view v of a prompt with key p at step s is
  ``sampler.sample(images, training_view_id(p, s), v)``, through the processor's image processor); after TRL,
  checks each view's layout equals the clean one and stores the views per sample so TRL's shuffling and slicing
  keep them aligned;
- `_get_per_token_logps_and_entropies`: runs each group's prompt once (`roma.trainer.shared_prompt`); lets
  `_compute_loss` keep TRL's clean log-probs (no second clean pass);
- `_generate_single_turn`: encodes and prefills each distinct prompt once (`roma.trainer.shared_prompt_generation`);
  the samples are those of TRL's call;
- `_generate`: hands TRL an empty image list for text-only prompts of a mixed batch (TRL 1.16 passes None to the
  processor, which raises) and, for the noisy-rollout baseline, rolls part of each group out on a degraded image;
- `_compute_loss`: TRL's loss + λ · worst-case token KL + μ · auxiliary PG (`roma.trainer.losses`), the K views
  batched into teacher-forced forwards over the correct completions only (the others would get zero gradient).

Models: every model type registered in the one table of families, `roma.trainer.layouts.FAMILY_LAYOUTS`
(`register_layout` adds one); its `ViewLayout` builds, checks and batches the views. Other model types are refused
at construction with the reason (`_check_views_supported`). Metrics: `roma.trainer.metrics`.

With ``roma_kl_coef = roma_aux_coef = 0`` none of this runs: the trainer is exactly `GRPOTrainer`.
"""

from __future__ import annotations

import inspect
import logging
import textwrap
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer

from roma.data.prompts import (
    check_image_placeholders,
    message_images,
    prompt_key,
    row_images,
)
from roma.degrade import DegradationSampler
from roma.models.resolve import resolve_model
from roma.models.rope_index import share_rope_index
from roma.trainer import losses
from roma.trainer.config import RomaConfig, correctness_reward_index
from roma.trainer.layouts import ViewLayout, layout_for
from roma.trainer.metrics import KL_METRIC_DECAY, append_metrics, decay_kl_sums, local_metric_sums
from roma.trainer.shared_prompt import shared_prompt_pass, unwrap_base_model
from roma.trainer.shared_prompt_generation import shared_prompt_generation
from roma.trainer.trl_compat import (
    GENERATE_IMAGES_INDEX,
    GENERATE_RESULT_LENGTH,
    TRL_HOOK_PARAMETERS,
    check_trl_hooks,
    trls_deprecated_reads_unreported,
)
from roma.trainer.views import (
    PreparedViews,
    aux_view_indices,
    clean_forward_kwargs,
    degraded_pixel_values,
    noisy_rollout_prompts,
    prepare_views,
    prompts_with_images,
    rollout_view_id,
    training_view_id,
    view_cache_key,
    views_forward_inputs,
    with_degraded_images,
)

logger = logging.getLogger(__name__)

# Names moved to roma.trainer.views, .metrics and .trl_compat, importable from here for one release.
__all__ = [
    "KL_METRIC_DECAY",
    "TRL_HOOK_PARAMETERS",
    "RomaGRPOTrainer",
    "check_trl_hooks",
    "decay_kl_sums",
    "training_view_id",
    "view_cache_key",
]


class RomaGRPOTrainer(GRPOTrainer):
    """Drop-in replacement for `trl.GRPOTrainer` that trains robustness to degraded images (ROMA).

    Accepts exactly `GRPOTrainer`'s arguments; ``args`` must be a [`RomaConfig`] (`GRPOConfig` plus the ``roma_*``
    switches, so the same keyword arguments work). See `roma.trainer.config.RomaConfig` for the switches.
    """

    _tag_names = ["trl", "grpo", "roma"]
    _name = "ROMA"
    _paper = {
        "title": "Reinforcing Multimodal Reasoning Against Visual Degradation",
        "id": "2605.09262",
        # docstyle-ignore
        "citation": textwrap.dedent("""\
            @misc{roma2026,
                title        = {{Reinforcing Multimodal Reasoning Against Visual Degradation}},
                year         = 2026,
                eprint       = {arXiv:2605.09262},
            }"""),
    }

    def __init__(self, *args, **kwargs):
        check_trl_hooks()
        bound = inspect.signature(GRPOTrainer.__init__).bind(self, *args, **kwargs)
        model = bound.arguments["model"]
        if isinstance(model, str):
            # `roma-tiny/...` names are built offline, as everywhere else in roma; other names pass unchanged.
            bound.arguments["model"] = resolve_model(model)
        config = bound.arguments.get("args")
        if config is None:  # as GRPOTrainer does with its own: defaults, output folder named after the model
            name = model if isinstance(model, str) else model.config._name_or_path
            bound.arguments["args"] = RomaConfig(f"{str(name).rstrip('/').split('/')[-1]}-ROMA")
        elif not isinstance(config, RomaConfig):
            raise TypeError(
                f"RomaGRPOTrainer needs args=RomaConfig(...), got {type(config).__name__}: RomaConfig is GRPOConfig "
                "plus the roma_* fields, so the same keyword arguments work (RomaConfig(**your_grpo_kwargs))."
            )
        super().__init__(*bound.args[1:], **bound.kwargs)
        config: RomaConfig = self.args
        if (
            config.roma_shared_prompt_forward
        ):  # Qwen3-VL: each row layout's RoPE positions once (the same tensors)
            share_rope_index(self.model)
        if config.roma_base_model is None and isinstance(model, str):
            config.roma_base_model = model
        self._roma_enabled = config.roma_enabled
        # TRL 1.16 gathers the logged images only on processes whose micro-batch has an image: a collective that a
        # text-only micro-batch skips, which deadlocks the others. Every process gathers them here instead.
        self._roma_gather_logged_images = self.log_multimodal and self.accelerator.num_processes > 1
        if self._roma_gather_logged_images:
            self.log_multimodal = False
        self._roma_correctness_index = correctness_reward_index(config, list(self.reward_func_names))
        self._roma_sampler = DegradationSampler(
            corruptions=config.roma_corruptions,
            severities=(config.roma_severity_min, config.roma_severity_max),
            seed=config.roma_seed,
        )
        self._roma_layout: ViewLayout | None = None
        if self._roma_enabled:
            self._roma_layout = self._check_views_supported()
        self._roma_rewards_per_func: torch.Tensor | None = None
        # The clean pass of TRL's _compute_loss the hook expects (its input ids and pixel values), while capturing.
        self._roma_capture_clean: tuple[torch.Tensor, torch.Tensor | None] | None = None
        self._roma_clean_logps: torch.Tensor | None = None
        self._roma_clean_entropies: torch.Tensor | None = None
        # The rows being rolled out, kept for `_generate` in the noisy_rollout baseline only (None otherwise).
        self._roma_noisy_rollout_rows: list[dict[str, Any]] | None = None
        # Prepares the next batch's views (corrupt + image processor) while TRL generates, as the sweep does.
        self._roma_view_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roma-views")
        # mode -> corruption -> [KL sum, tokens]: every corruption's KL is logged every step.
        self._roma_kl_running: dict[str, dict[str, list[float]]] = {}

    def create_model_card(self, model_name=None, dataset_name=None, tags=None):
        """TRL's model card, naming ``roma_base_model`` as the base model (TRL reads the model config's
        ``_name_or_path``, which is a local folder for warm-started and ``roma-tiny`` checkpoints)."""
        model_config = self.model.config
        loaded_from = getattr(model_config, "_name_or_path", "")
        if self.args.roma_base_model:
            model_config._name_or_path = self.args.roma_base_model
        try:
            super().create_model_card(model_name=model_name, dataset_name=dataset_name, tags=tags)
        finally:
            model_config._name_or_path = loaded_from

    # ------------------------------------------------------------------ set-up
    def _check_views_supported(self) -> ViewLayout:
        """The layout of the model family's image inputs (`roma.trainer.layouts`); raises if it is unsupported.

        ROMA teacher-forces the clean prompt's tokens on each view, checking that the view's layout (patch grid,
        tiles, image sizes) equals the clean one; a family whose layout roma does not know would leave the views
        unscored, i.e. the ROMA terms silently zero, so it is refused here with the reason.
        """
        from PIL import Image

        model_type = getattr(self.accelerator.unwrap_model(self.model).config, "model_type", "?")
        image_processor = getattr(self.processing_class, "image_processor", None)
        if image_processor is None:
            raise ValueError(
                f"roma: the processing class of model type '{model_type}' ({type(self.processing_class).__name__}) "
                "has no image processor: ROMA's degraded views need a vision-language model and its processor."
            )
        layout = layout_for(model_type, image_processor)
        # Raises if an input the layout needs is missing.
        layout.process(image_processor, [Image.new("RGB", (64, 64))])
        return layout

    # ------------------------------------------------------------------ hooks
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._roma_rewards_per_func = rewards_per_func  # gathered across processes, [N_all, F]
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        check_image_placeholders(inputs)
        if not any(row_images(x) for x in inputs):
            # A text-only micro-batch of an image dataset (its image column None): TRL 1.16 would hand the
            # processor [None, ...] and fail; without the column it takes its text-only path.
            inputs = [{k: v for k, v in x.items() if k not in ("image", "images")} for x in inputs]
        training = self.model.training
        if training and self.args.roma_rollout_degradation == "augmentation":
            # RAD-style baseline: the rows themselves carry degraded images, for rollouts and update alike.
            inputs = [self._with_degraded_images(x, "augmentation") for x in inputs]
        self._roma_noisy_rollout_rows = (
            inputs if training and self.args.roma_rollout_degradation == "noisy_rollout" else None
        )
        pending_views = None
        if self._roma_enabled:
            keys = [prompt_key(x) for x in inputs]  # hashes the images when rows have no id: once per row
            view_keys = [view_cache_key(x, key) for x, key in zip(inputs, keys, strict=True)]
            # Corrupt and image-process the views in the background while TRL generates (joined below).
            pending_views = self._start_views(inputs, keys, view_keys)
        try:
            with trls_deprecated_reads_unreported():  # TRL reads a deprecated property around generation
                output = super()._generate_and_score_completions(inputs)
        except BaseException:
            if pending_views is not None:
                pending_views.cancel()
            raise
        finally:
            self._roma_noisy_rollout_rows = None
        if self._roma_gather_logged_images:
            self._logs["images"].extend(gather_object([row_images(x) or None for x in inputs]))
        if pending_views is None:
            return output
        self._add_roma_fields(output, inputs, keys, view_keys, pending_views.result())
        return output

    def _add_roma_fields(
        self, output, inputs, keys: list[str], view_keys: list[str], prepared: PreparedViews
    ):
        """Add to TRL's batch ``output`` (in place) the ``roma_*`` fields `_compute_loss` reads: the views' pixel
        values and names, the regularised mask, the aux view, and the global count of regularised tokens."""
        device = self.accelerator.device
        local = len(inputs)
        start = self.accelerator.process_index * local
        rewards = self._roma_rewards_per_func[start : start + local, self._roma_correctness_index]
        threshold = self.args.roma_correctness_threshold
        correct = losses.correctness_mask(rewards.to(device), threshold)
        all_rewards = self._roma_rewards_per_func[:, self._roma_correctness_index]  # every process's
        frac_correct = losses.correctness_mask(all_rewards, threshold).float().mean().item()
        self._metrics["train" if self.model.training else "eval"]["roma/frac_correct"].append(frac_correct)
        regularised = correct if self.args.roma_correctness_gate else torch.ones_like(correct)

        views, names, has_image = degraded_pixel_values(
            view_keys,
            output,
            prepared,
            self._roma_layout,
            self.args.roma_num_views,
            self.accelerator.device,
        )
        output["roma_pixel_values"] = views
        output["roma_view_names"] = names
        output["roma_mask"] = regularised & has_image.to(device)

        # One uniformly drawn view per completion for the auxiliary PG term, keyed like the views themselves.
        step = self.state.global_step
        aux_view = aux_view_indices(self.args.roma_seed, keys, step, start, self.args.roma_num_views)
        output["roma_aux_view"] = torch.tensor(aux_view, device=device, dtype=torch.long)
        if self.args.roma_aux_form == "clipped" and output.get("old_per_token_logps") is not None:
            # TRL keeps the generating policy's log-probs when the policy moves before this batch is used up
            # (num_iterations > 1, steps_per_generation > gradient_accumulation_steps, vLLM): so does the aux term,
            # on each completion's drawn view.
            output["roma_old_aux_logps"] = self._old_aux_logps(output)

        # Like TRL's num_items_in_batch: the global count of regularised tokens, for DAPO-style normalisation.
        token_mask = output["completion_mask"] * output["roma_mask"].unsqueeze(1)
        if "tool_mask" in output:
            token_mask = token_mask * output["tool_mask"]
        output["roma_num_items"] = self.accelerator.gather(token_mask.sum()).sum()

    def _generate(self, prompts):
        noisy = self._roma_noisy_rollout_rows is not None
        if noisy:
            # NoisyRollout-style baseline: the first fraction of each group is rolled out on a degraded image, but
            # TRL scores every completion (and updates the policy) on the images _generate returns: the clean ones.
            clean_images = [message_images(prompt) for prompt in prompts]
            prompts = self._noisy_rollout_prompts(prompts)
        result = list(super()._generate(prompts))
        images = result[GENERATE_IMAGES_INDEX] if len(result) == GENERATE_RESULT_LENGTH else ()
        if images is not None and (not isinstance(images, list) or len(images) != len(prompts)):
            raise RuntimeError(
                f"roma: GRPOTrainer._generate returned {len(result)} items, item {GENERATE_IMAGES_INDEX} "
                f"{type(images).__name__}; RomaGRPOTrainer expects trl 1.16's {GENERATE_RESULT_LENGTH} items with "
                f"the per-prompt images at {GENERATE_IMAGES_INDEX} (see constraints.txt)."
            )
        if images is not None and any(images):  # the images TRL builds the forward pass from
            if noisy:
                images = clean_images
            # A batch mixing image and text-only prompts: TRL 1.16 hands None for a text-only prompt to the
            # processor, which raises; an empty list is what the processor takes for "no image here".
            result[GENERATE_IMAGES_INDEX] = [list(row_images) if row_images else [] for row_images in images]
        return tuple(result)

    def _generate_single_turn(
        self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False
    ):
        # Each distinct prompt encoded and prefilled once (roma.trainer.shared_prompt_generation): the same samples.
        plain = self.use_vllm or self.use_transformers_continuous_batching
        shared = self.args.roma_shared_prompt_forward and not plain and images
        num_images = [len(row) if row else 0 for row in images] if shared else None
        with shared_prompt_generation(unwrap_base_model(self.accelerator, self.model_wrapped), num_images):
            arguments = (prompt_ids, images, multimodal_fields, num_generations, has_tool_images)
            return super()._generate_single_turn(*arguments)

    def _noisy_rollout_prompts(self, prompts):
        """The prompts with a degraded image for the first ``roma_noisy_rollout_fraction`` of each group."""
        return noisy_rollout_prompts(
            prompts,
            self._roma_noisy_rollout_rows,
            self.num_generations,
            self.args.roma_noisy_rollout_fraction,
            self.accelerator.process_index * len(prompts),
            lambda example: self._with_degraded_images(example, "noisy_rollout"),
        )

    def _with_degraded_images(self, example: dict[str, Any], purpose: str) -> dict[str, Any]:
        """A copy of a dataset row whose image(s) carry one degraded view, drawn per prompt and step by the
        trainer's sampler (`roma.trainer.views.with_degraded_images`); the noisy rollout anneals its severity."""
        config: RomaConfig = self.args
        sample_id = rollout_view_id(purpose, prompt_key(example), self.state.global_step)
        anneal = None
        if purpose == "noisy_rollout" and config.roma_noisy_rollout_anneal and self.state.max_steps > 0:
            remaining = 1.0 - min(self.state.global_step / self.state.max_steps, 1.0)

            def anneal(severity: float) -> float:
                return config.roma_severity_min + (severity - config.roma_severity_min) * remaining

        return with_degraded_images(example, self._roma_sampler, sample_id, anneal)

    def _get_per_token_logps_and_entropies(self, *args, **kwargs):
        # Parameters passed through unchanged; check_trl_hooks pins TRL's signature (and result[0] = log-probs).
        bound = inspect.signature(GRPOTrainer._get_per_token_logps_and_entropies).bind(self, *args, **kwargs)
        # Each group's prompt run once where that applies (TRL's numbers, fewer tokens); else TRL's pass.
        result = shared_prompt_pass(bound.arguments, self.args.roma_shared_prompt_forward, self.accelerator)
        if result is None:
            result = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        if self._roma_capture_clean is not None:
            # The first log-prob pass of TRL's _compute_loss must be the clean one: the batch's own input ids and
            # pixel values. Keep its log-probs (with their graph) for the KL target, its entropies for the mask.
            expected_ids, expected_pixels = self._roma_capture_clean
            self._roma_capture_clean = None
            input_ids, pixel_values = bound.arguments["input_ids"], bound.arguments.get("pixel_values")
            if not (torch.equal(input_ids, expected_ids) and pixel_values is expected_pixels):
                raise RuntimeError(
                    "roma: the first log-prob pass of GRPOTrainer._compute_loss is no longer the clean pass over "
                    "the batch's prompt + completion ids and pixel values; RomaGRPOTrainer takes its log-probs as "
                    "the KL target. This roma release supports trl 1.16.x (see constraints.txt)."
                )
            self._roma_clean_logps, self._roma_clean_entropies = result[0], result[1]
        return result

    def _compute_loss(self, model, inputs):
        if not self._roma_enabled or "roma_mask" not in inputs:
            return super()._compute_loss(model, inputs)
        self._roma_capture_clean = (
            torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1),
            inputs.get("pixel_values"),
        )
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            self._roma_capture_clean = None
        clean_logps, self._roma_clean_logps = self._roma_clean_logps, None
        clean_entropies, self._roma_clean_entropies = self._roma_clean_entropies, None
        if clean_logps is None:
            raise RuntimeError(
                "roma: GRPOTrainer._compute_loss made no log-prob pass through _get_per_token_logps_and_entropies; "
                "RomaGRPOTrainer needs its clean log-probs. This roma release supports trl 1.16.x."
            )
        return loss + self._roma_loss(model, inputs, clean_logps, clean_entropies)

    # ------------------------------------------------------------------ ROMA terms
    def _start_views(self, inputs: list[dict[str, Any]], keys: list[str], view_keys: list[str]) -> Future:
        """Prepare the K views of each prompt of ``inputs`` in the background (`roma.trainer.views.prepare_views`)."""
        image_processor = getattr(self.processing_class, "image_processor", None)
        per_prompt: dict[str, tuple[str, list]] = {}
        if image_processor is not None and self._roma_layout is not None:
            per_prompt = prompts_with_images(inputs, keys, view_keys)
        return self._roma_view_worker.submit(
            self._prepare_views, per_prompt, self.state.global_step, image_processor
        )

    def _prepare_views(
        self, per_prompt: dict[str, tuple[str, list]], step: int, image_processor
    ) -> PreparedViews:
        """`roma.trainer.views.prepare_views` with this trainer's sampler, layout and number of views."""
        return prepare_views(
            per_prompt, step, image_processor, self._roma_sampler, self._roma_layout, self.args.roma_num_views
        )

    def _roma_loss(
        self, model, inputs, clean_logps: torch.Tensor, clean_entropies: torch.Tensor | None = None
    ) -> torch.Tensor:
        config: RomaConfig = self.args
        mode = "train" if self.model.training else "eval"
        completion_mask = inputs["completion_mask"]
        token_mask = completion_mask if "tool_mask" not in inputs else completion_mask * inputs["tool_mask"]
        regularised = inputs["roma_mask"] & (token_mask.sum(-1) > 0)
        rows = regularised.nonzero().flatten().tolist()
        if not rows:
            return self._zero_roma_loss(model, inputs, clean_logps, mode)
        mask = token_mask[rows]
        clean_target = clean_logps[rows].detach() if config.roma_stop_grad_clean else clean_logps[rows]
        views_logps, kl_per_view = self._views_logps_and_kl(model, inputs, rows, clean_target)
        worst_kl, _ = losses.worst_case_reduction(kl_per_view, mask, config.roma_kl_reduction)

        advantages = inputs["advantages"][rows]
        aux_logps = losses.select_views(views_logps, inputs["roma_aux_view"][rows])
        if config.roma_aux_form == "plain":
            aux_per_token = losses.auxiliary_policy_gradient(aux_logps, advantages)
        else:
            aux_per_token = self._clipped_aux_per_token(inputs, rows, aux_logps, token_mask, clean_entropies)

        normalise = dict(
            loss_type=self.loss_type,
            num_items_in_batch=inputs["roma_num_items"],
            num_processes=self.accelerator.num_processes,
            gradient_accumulation_steps=self.current_gradient_accumulation_steps,
            steps_per_generation=self.args.steps_per_generation,
            max_completion_length=self.max_completion_length,
            training=mode == "train",
        )
        kl_loss = losses.normalise_masked_loss(worst_kl, mask, **normalise)
        aux_loss = losses.normalise_masked_loss(aux_per_token, mask, **normalise)
        total = config.roma_kl_coef * kl_loss + config.roma_aux_coef * aux_loss

        names = [inputs["roma_view_names"][row] for row in rows]
        self._log_roma_metrics(
            mode,
            {
                "kl_per_view": kl_per_view.detach(),
                "worst_kl": worst_kl.detach(),
                "aux_per_token": aux_per_token.detach(),
                "logp_gap": (clean_logps[rows].detach().unsqueeze(0) - views_logps.detach()),
                "mask": mask,
                "names": names,
            },
        )
        return total

    def _zero_roma_loss(self, model, inputs, clean_logps: torch.Tensor, mode: str) -> torch.Tensor:
        """Nothing to regularise here (all wrong, no image, empty completions): the ROMA terms are an exact zero."""
        if inputs["roma_num_items"].item() > 0 and self.accelerator.num_processes > 1:
            # Another process regularises this generation batch and runs the views pass: a DDP forward is a
            # collective (it syncs buffers), so run it too, on one row, weighted zero, to keep them in step.
            with_views = [i for i, views in enumerate(inputs["roma_pixel_values"]) if views is not None]
            if with_views:
                row = with_views[:1]
                views_logps, _ = self._views_logps_and_kl(model, inputs, row, clean_logps[row].detach())
                self._log_roma_metrics(mode, None)
                return clean_logps.sum() * 0.0 + views_logps.sum() * 0.0
            if self.args.roma_kl_estimator != losses.FULL_VOCABULARY:  # that views pass is a DDP forward
                # A text-only micro-batch has no view to score: a forward on one of its rows stands in.
                input_ids = torch.cat([inputs["prompt_ids"][:1], inputs["completion_ids"][:1]], dim=1)
                attention_mask = torch.cat([inputs["prompt_mask"][:1], inputs["completion_mask"][:1]], dim=1)
                logps, _, _ = self._get_per_token_logps_and_entropies(
                    model, input_ids, attention_mask, inputs["completion_ids"].size(1)
                )
                self._log_roma_metrics(mode, None)
                return clean_logps.sum() * 0.0 + logps.sum() * 0.0
        self._log_roma_metrics(mode, None)
        return clean_logps.sum() * 0.0

    def _clipped_aux_per_token(self, inputs, rows, aux_logps, token_mask, clean_entropies) -> torch.Tensor:
        """The aux term as TRL's GRPO term: clipped ratio to the old policy on the view, entropy mask, vLLM IS."""
        old = inputs.get("roma_old_aux_logps")
        old = aux_logps.detach() if old is None else old[rows]
        per_token = losses.clipped_auxiliary_policy_gradient(
            aux_logps,
            old,
            inputs["advantages"][rows],
            self.epsilon_low,
            self.epsilon_high,
            delta=self.args.delta,
            importance_sampling_level=self.importance_sampling_level,
            mask=token_mask[rows],
        )
        if self.top_entropy_quantile < 1.0 and clean_entropies is not None:
            # TRL's mask from the clean pass's entropies: the same tokens get policy gradient on both sides.
            entropy_mask = self.get_high_entropy_mask(
                clean_entropies, token_mask, 1 - self.top_entropy_quantile
            )
            per_token = per_token * entropy_mask[rows]
        if (
            self.use_vllm
            and self.vllm_importance_sampling_correction
            and "importance_sampling_ratio" in inputs
        ):
            per_token = per_token * inputs["importance_sampling_ratio"][rows]
        return per_token

    def _old_aux_logps(self, output) -> torch.Tensor:
        """Generation-time log-probs [B, T] of each regularised completion under its drawn aux view (0 elsewhere)."""
        old = torch.zeros_like(output["completion_mask"], dtype=torch.float32)
        rows = output["roma_mask"].nonzero().flatten().tolist()
        if rows:
            pairs = [(int(output["roma_aux_view"][row]), row) for row in rows]
            with torch.no_grad():
                old[rows] = self._views_forward(self.model, output, pairs, hidden=False).to(old.dtype)
        return old

    def _views_forward(self, model, inputs, pairs: list[tuple[int, int]], hidden: bool) -> torch.Tensor:
        """Teacher-forced pass over (view, row) pairs: sampled-token log-probs [N, T] or final hidden states [N, T, H].

        With ``roma_views_micro_batch`` set, forwards of at most that many pairs, each under activation
        checkpointing: the backward recomputes one chunk at a time, so peak memory is one chunk's whatever K.
        """
        logits_to_keep = inputs["completion_ids"].size(1)

        def forward(chunk):
            input_ids, attention_mask, forward_kwargs = views_forward_inputs(inputs, chunk, self._roma_layout)
            if hidden:
                return self._final_hidden_states(
                    model, input_ids, attention_mask, logits_to_keep, forward_kwargs
                )
            logps, _, _ = self._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, **forward_kwargs
            )
            return logps

        size = self.args.roma_views_micro_batch or len(pairs)
        if size >= len(pairs):
            return forward(pairs)
        chunks = [pairs[start : start + size] for start in range(0, len(pairs), size)]
        # The backward recomputes each chunk: through the bare module, as `_final_hidden_states` does, so that no
        # DDP forward (which prepares the gradient reducer) runs in the middle of the backward.
        model = self.accelerator.unwrap_model(model)
        if not torch.is_grad_enabled():
            return torch.cat([forward(chunk) for chunk in chunks])
        return torch.cat(
            [torch.utils.checkpoint.checkpoint(forward, chunk, use_reentrant=False) for chunk in chunks]
        )

    def _views_logps_and_kl(self, model, inputs, rows: list[int], clean_target: torch.Tensor):
        """Score the completions of ``rows`` under all K views (see `_views_forward`), and their KL to the clean side.

        ``clean_target`` [S, T] are the clean log-probs of the sampled tokens (detached for a stop-gradient).
        Returns (log-probs [K, S, T], per-token KL [K, S, T]). The ``full`` estimator runs the forward without
        logits: final hidden states of both sides, projected in vocabulary chunks by the loss.
        """
        config: RomaConfig = self.args
        num_views = config.roma_num_views
        # View-major: all selected rows under view 0, then under view 1, ...
        pairs = [(k, row) for k in range(num_views) for row in rows]
        if config.roma_kl_estimator != losses.FULL_VOCABULARY:
            logps = self._views_forward(model, inputs, pairs, hidden=False).view(num_views, len(rows), -1)
            kl = losses.sampled_token_kl(
                logps, clean_target.unsqueeze(0), config.roma_kl_estimator, config.roma_kl_direction
            )
            return logps, kl

        completion_ids = inputs["completion_ids"][rows]
        logits_to_keep = completion_ids.size(1)
        input_ids = torch.cat([inputs["prompt_ids"][rows], completion_ids], dim=1)
        attention_mask = torch.cat([inputs["prompt_mask"][rows], inputs["completion_mask"][rows]], dim=1)
        hidden = self._views_forward(model, inputs, pairs, hidden=True)
        clean_kwargs = clean_forward_kwargs(inputs, rows, self._roma_layout)
        with torch.no_grad():  # the clean side is the stop-gradient target (enforced by RomaConfig)
            clean_hidden = self._final_hidden_states(
                model, input_ids, attention_mask, logits_to_keep, clean_kwargs
            )
        lm_head = self.accelerator.unwrap_model(model).get_output_embeddings()
        return losses.views_full_vocabulary_kl(
            hidden.reshape(num_views, len(rows), *hidden.shape[1:]),
            clean_hidden,
            completion_ids,
            lm_head,
            config.roma_kl_direction,
            self.temperature,
        )

    def _final_hidden_states(self, model, input_ids, attention_mask, logits_to_keep, forward_kwargs):
        """Final (normed) hidden states at the positions that predict the completion tokens: [N, T, H]."""
        unwrapped = unwrap_base_model(self.accelerator, model)
        kwargs = {k: v for k, v in forward_kwargs.items() if k not in ("num_images", "num_tiles")}
        with self.accelerator.autocast():
            outputs = unwrapped.base_model(
                input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **kwargs
            )
        # Position t predicts token t + 1: the completion tokens are predicted from the positions just before them.
        return outputs.last_hidden_state[:, -logits_to_keep - 1 : -1]

    def _log_roma_metrics(self, mode: str, stats: dict[str, Any] | None) -> None:
        """Log token-weighted over all processes: worst-case and mean KL, aux loss, log-prob gap, KL per corruption
        (`roma.trainer.metrics`)."""
        local, per_corruption = local_metric_sums(stats, self.accelerator.device)
        totals = self.accelerator.reduce(local, reduction="sum").tolist()
        running = self._roma_kl_running.setdefault(mode, {})
        append_metrics(self._metrics[mode], totals, gather_object([per_corruption]), running)
