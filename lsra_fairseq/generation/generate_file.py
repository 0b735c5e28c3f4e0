"""fairseq-generate's job (a binarized test split -> S-/T-/H-/D-/P- lines) done by the fast generator.

Takes fairseq-generate's flags, so ``lsra-evaluate --fast`` scores the same files the same way.
"""
import math
from pathlib import Path
from typing import List

import torch

from ..commands import recorded_command
from .runners import build_runner
from .search import FastGenerator


def generate_to_file(flags: List[str], output: Path, backend: str, int8: bool) -> str:
    """Runs ``fairseq-generate FLAGS`` with the fast generator, writing its output to ``output``;
    returns the command it stands for."""
    import lsra_fairseq.plugin  # noqa: F401
    from fairseq import checkpoint_utils, options, tasks, utils
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    cfg = convert_namespace_to_omegaconf(options.parse_args_and_arch(options.get_generation_parser(), flags))
    utils.import_user_module(cfg.common)
    task = tasks.setup_task(cfg.task)
    models, _ = checkpoint_utils.load_model_ensemble(utils.split_paths(cfg.common_eval.path), task=task,
                                                     arg_overrides=eval(cfg.common_eval.model_overrides))
    model = models[0].eval()
    task.load_dataset(cfg.dataset.gen_subset, task_cfg=cfg.task)
    generator = FastGenerator.from_args(build_runner(model, backend, int8), task.target_dictionary, cfg.generation)
    src_dict, tgt_dict = task.source_dictionary, task.target_dictionary
    post_process = cfg.common_eval.post_process
    batches = task.get_batch_iterator(
        dataset=task.dataset(cfg.dataset.gen_subset), max_tokens=cfg.dataset.max_tokens,
        max_sentences=cfg.dataset.batch_size, max_positions=utils.resolve_max_positions(
            task.max_positions(), model.max_positions()),
        ignore_invalid_inputs=cfg.dataset.skip_invalid_size_inputs_valid_test,
        required_batch_size_multiple=cfg.dataset.required_batch_size_multiple, seed=cfg.common.seed,
    ).next_epoch_itr(shuffle=False)
    with open(output, "w", encoding="utf-8") as out, torch.inference_mode():
        for sample in batches:
            hypos = generator.generate([model], sample)
            for i, sample_id in enumerate(sample["id"].tolist()):
                src = utils.strip_pad(sample["net_input"]["src_tokens"][i], src_dict.pad())
                target = utils.strip_pad(sample["target"][i], tgt_dict.pad())
                src_str = src_dict.string(src, post_process)
                print(f"S-{sample_id}\t{src_str}", file=out)
                print(f"T-{sample_id}\t{tgt_dict.string(target, post_process, escape_unk=True)}", file=out)
                for hypo in hypos[i][:cfg.generation.nbest]:
                    _, hypo_str, _ = utils.post_process_prediction(
                        hypo_tokens=hypo["tokens"].int(), src_str=src_str, alignment=None, align_dict=None,
                        tgt_dict=tgt_dict, remove_bpe=post_process)
                    score = float(hypo["score"]) / math.log(2)
                    print(f"H-{sample_id}\t{score}\t{hypo_str}", file=out)
                    print(f"D-{sample_id}\t{score}\t{hypo_str}", file=out)
    return recorded_command(["fairseq-generate", *flags, "# lsra fast generator", f"backend={backend}",
                             f"int8={int8}"])
