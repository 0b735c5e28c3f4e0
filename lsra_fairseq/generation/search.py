"""Beam search (greedy = beam 1) with fairseq ``SequenceGenerator``'s semantics on ``DecoderStep``.

Same candidates (top 2 x beam of the cumulative scores, eos finalised only among the first beam),
same length penalty (score / length ** lenpen, eos counted), ``max_len_a/b``, ``min_len``, unk
penalty, n-gram blocking (the project's working blocker), sentences leaving the batch once beam
hypotheses are finalised, and the same output: per sentence, hypotheses sorted by score, each a
dict with ``tokens`` (ending in eos), ``score``, ``positional_scores``, ``attention`` (empty: the fast
path computes no alignment) and ``alignment``.
"""
import math
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import Tensor

from ..export.decoder_step import ReorderBuffers
from ..modules.ngram_block import NoRepeatNGramBlock
from .runners import StepRunner

Hypothesis = Dict[str, Tensor]
INITIAL_CAPACITY = 16  # decoder steps the state holds at first; it doubles when full


class FastGenerator:
    """``SequenceGenerator``'s search on a fixed-state decoder step.

    ``runner`` is a ``StepRunner`` (``runners.build_runner(model, backend, int8)``) that encodes a
    batch and runs one decoder step; the search itself only handles small tensors.
    """

    def __init__(self, runner: StepRunner, tgt_dict, beam_size: int = 1, max_len_a: float = 0,
                 max_len_b: int = 200, max_len: int = 0, min_len: int = 1, normalize_scores: bool = True,
                 len_penalty: float = 1.0, unk_penalty: float = 0.0, no_repeat_ngram_size: int = 0):
        self.runner = runner
        self.pad, self.unk, self.eos = tgt_dict.pad(), tgt_dict.unk(), tgt_dict.eos()
        self.vocab_size = len(tgt_dict)
        if runner.vocab_size != self.vocab_size:
            raise ValueError(f"the model predicts {runner.vocab_size} words, the target dictionary "
                             f"has {self.vocab_size}: load the dictionary the model was trained with")
        self.beam_size = min(beam_size, self.vocab_size - 1)
        self.max_len_a, self.max_len_b, self.min_len = max_len_a, max_len_b, min_len
        self.max_len = max_len or runner.max_positions
        self.normalize_scores, self.len_penalty, self.unk_penalty = normalize_scores, len_penalty, unk_penalty
        self.ngram_blocker = NoRepeatNGramBlock(no_repeat_ngram_size) if no_repeat_ngram_size > 0 else None

    @classmethod
    def from_args(cls, runner: StepRunner, tgt_dict, args) -> "FastGenerator":
        """From fairseq's generation options (``cfg.generation`` or an argparse namespace)."""
        unsupported = [name for name in ("sampling", "diverse_beam_groups", "match_source_len",
                                         "prefix_size", "constraints", "print_alignment",
                                         "diversity_rate", "lm_path")
                       if getattr(args, name, None) not in (None, False, 0, -1, -1.0, 0.0)]
        if getattr(args, "temperature", 1.0) != 1.0:
            unsupported.append("temperature")
        if unsupported:
            raise ValueError(f"the fast generator does not support --{unsupported[0].replace('_', '-')}; "
                             f"drop it, or use fairseq's generator (without --fast)")
        return cls(runner, tgt_dict, beam_size=getattr(args, "beam", 5),
                   max_len_a=getattr(args, "max_len_a", 0), max_len_b=getattr(args, "max_len_b", 200),
                   min_len=getattr(args, "min_len", 1),
                   normalize_scores=not getattr(args, "unnormalized", False),
                   len_penalty=getattr(args, "lenpen", 1.0), unk_penalty=getattr(args, "unkpen", 0.0),
                   no_repeat_ngram_size=getattr(args, "no_repeat_ngram_size", 0))

    @torch.no_grad()
    def generate(self, models, sample, prefix_tokens: Optional[Tensor] = None, constraints=None,
                 bos_token: Optional[int] = None, **unused) -> List[List[Hypothesis]]:
        """fairseq's generator interface (``task.inference_step``); ``models`` are ignored (the
        runner holds the model)."""
        if prefix_tokens is not None or constraints is not None:
            raise ValueError("the fast generator does not support prefix tokens or constraints")
        net_input = sample["net_input"]
        return self.translate(net_input["src_tokens"], net_input.get("src_lengths"), bos_token)

    @torch.no_grad()
    def translate(self, src_tokens: Tensor, src_lengths: Optional[Tensor] = None,
                  bos_token: Optional[int] = None) -> List[List[Hypothesis]]:
        """Batch (B x S source tokens, fairseq's padding) -> B lists of hypotheses, best first."""
        bsz, src_len = src_tokens.shape
        if src_lengths is None:
            src_lengths = src_tokens.ne(self.pad).long().sum(1)
        max_len = min(int(self.max_len_a * src_len + self.max_len_b), self.max_len - 1)
        if self.min_len > max_len:
            raise ValueError(f"min_len {self.min_len} is larger than max_len {max_len} "
                             f"(max_len_a * {src_len} + max_len_b, capped by the model's positions); "
                             f"lower --min-len or raise --max-len-b")
        memory = self.runner.encode(src_tokens, src_lengths)
        return self._search(memory, bsz, max_len, self.eos if bos_token is None else bos_token)

    def _search(self, memory, bsz: int, max_len: int, bos: int) -> List[List[Hypothesis]]:
        beam, V, eos = self.beam_size, self.vocab_size, self.eos
        rows = bsz * beam
        state = self.runner.empty_state(rows, min(INITIAL_CAPACITY, max_len + 1))
        reorder = ReorderBuffers().reorder
        # The bookkeeping is numpy: its arrays are a few numbers per row, and a numpy call on them
        # costs a fraction of a torch operator's dispatch (the step's log-probabilities stay torch).
        tokens = np.full((rows, max_len + 2), self.pad, dtype=np.int64)
        tokens[:, 0] = bos
        scores = np.zeros((rows, max_len + 1), dtype=np.float32)
        cands_to_ignore = np.zeros((bsz, beam), dtype=bool)
        finalized: List[List[Hypothesis]] = [[] for _ in range(bsz)]
        finished = [False] * bsz
        sentence_ids = list(range(bsz))  # current batch position -> original sentence
        cand_size = 2 * beam
        cand_offsets = np.arange(cand_size)
        positions = np.arange(bsz)[:, None]  # batch positions, to index candidates per sentence
        bbsz_offsets = positions * beam  # first row of each sentence
        for step in range(max_len + 1):
            if step == state.capacity:
                state = state.extended(min(2 * step, max_len + 1))
            previous = torch.from_numpy(np.ascontiguousarray(tokens[:, step]))
            lprobs, state = self.runner.step(previous, step, state, memory)
            lprobs = self._adjust(lprobs, step, max_len, tokens, bsz).numpy().reshape(bsz, beam, V)
            if step == 0:  # all beams are the same hypothesis: take candidates from the first
                lprobs = lprobs[:, :1]
            else:
                lprobs += scores[:, step - 1].reshape(bsz, beam, 1)  # in place: the step's own array
            flat = torch.from_numpy(lprobs.reshape(bsz, -1))
            top = torch.topk(flat, k=min(cand_size, flat.size(1) - 1))
            cand_scores, cand_flat = top.values.numpy(), top.indices.numpy()
            cand_beams, cand_indices = np.divmod(cand_flat, V)
            cand_bbsz_idx = cand_beams + bbsz_offsets
            eos_mask = (cand_indices == eos) & (cand_scores != -math.inf)
            eos_mask[:, :beam] &= ~cands_to_ignore
            newly_finished: List[int] = []
            top_eos = eos_mask[:, :beam]
            if top_eos.any():
                newly_finished = self._finalize(
                    step, cand_bbsz_idx[:, :beam][top_eos], cand_scores[:, :beam][top_eos],
                    tokens, scores, finalized, finished, sentence_ids, max_len)
            if all(finished):
                break
            assert step < max_len, f"{step} < {max_len}"
            if newly_finished:
                keep = np.setdiff1d(np.arange(bsz), newly_finished)
                eos_mask, cand_bbsz_idx = eos_mask[keep], cand_bbsz_idx[keep]
                cand_scores, cand_indices = cand_scores[keep], cand_indices[keep]
                cands_to_ignore = cands_to_ignore[keep]
                sentence_ids = [sentence_ids[i] for i in keep]
                memory = self.runner.select_sentences(memory, torch.from_numpy(keep))
                bsz = keep.size
                positions, bbsz_offsets = positions[:bsz], bbsz_offsets[:bsz]
            # The first beam candidates that do not end in eos continue (fairseq's topk of the
            # smallest: the keys are distinct, so a sort gives the same order).
            eos_mask[:, :beam] |= cands_to_ignore
            active_mask = eos_mask * cand_size + cand_offsets[:eos_mask.shape[1]]
            active_hypos = np.argsort(active_mask, axis=1)[:, :beam]
            cands_to_ignore = active_mask[positions, active_hypos] >= cand_size
            active_bbsz_idx = cand_bbsz_idx[positions, active_hypos].reshape(-1)
            if beam > 1 or newly_finished:  # greedy rows continue in place: nothing to reorder
                tokens, scores = tokens[active_bbsz_idx], scores[active_bbsz_idx]
                state = reorder(state, torch.from_numpy(active_bbsz_idx))
            tokens[:, step + 1] = cand_indices[positions, active_hypos].reshape(-1)
            scores[:, step] = cand_scores[positions, active_hypos].reshape(-1)
        for sent in finalized:
            order = torch.sort(torch.tensor([float(h["score"]) for h in sent]), descending=True)[1]
            sent[:] = [sent[i] for i in order.tolist()]
        return finalized

    def _adjust(self, lprobs: Tensor, step: int, max_len: int, tokens: np.ndarray, bsz: int) -> Tensor:
        """fairseq's masks on the step's log-probabilities: pad, unk penalty, length limits, n-gram
        blocking. (fairseq also maps NaN to -inf, which a finite model never produces.) In place,
        through a numpy view: numpy indexing costs less than torch's on these few columns."""
        masked = lprobs.numpy()
        masked[:, self.pad] = -math.inf
        if self.unk_penalty:
            masked[:, self.unk] -= self.unk_penalty
        if step >= max_len:
            eos_column = masked[:, self.eos].copy()
            masked.fill(-math.inf)
            masked[:, self.eos] = eos_column
        elif step < self.min_len:
            masked[:, self.eos] = -math.inf
        if self.ngram_blocker is not None:
            lprobs = self.ngram_blocker(torch.from_numpy(tokens), lprobs, bsz, self.beam_size, step)
        return lprobs

    def _finalize(self, step: int, bbsz_idx: np.ndarray, eos_scores: np.ndarray, tokens: np.ndarray,
                  scores: np.ndarray, finalized: List[List[Hypothesis]], finished: List[bool],
                  sentence_ids: List[int], max_len: int) -> List[int]:
        """Stores the hypotheses that end in eos at this step; returns the batch positions of the
        sentences that are now finished (beam hypotheses, or the last step)."""
        hyp_tokens = tokens[bbsz_idx, 1:step + 2]
        hyp_tokens[:, step] = self.eos
        pos_scores = scores[bbsz_idx, :step + 1]
        pos_scores[:, step] = eos_scores
        pos_scores[:, 1:] = pos_scores[:, 1:] - pos_scores[:, :-1]
        if self.normalize_scores:
            eos_scores = eos_scores / (step + 1) ** self.len_penalty
        hyp_tokens, pos_scores, eos_scores = (torch.from_numpy(x) for x in (hyp_tokens, pos_scores, eos_scores))
        positions = (bbsz_idx // self.beam_size).tolist()
        for i, position in enumerate(positions):
            sent = sentence_ids[position]
            if len(finalized[sent]) < self.beam_size:
                finalized[sent].append({"tokens": hyp_tokens[i], "score": eos_scores[i],
                                        "attention": torch.empty(0), "alignment": torch.empty(0),
                                        "positional_scores": pos_scores[i]})
        newly_finished = []
        for position in sorted(set(positions)):
            sent = sentence_ids[position]
            if not finished[sent] and (len(finalized[sent]) == self.beam_size or step == max_len):
                finished[sent] = True
                newly_finished.append(position)
        return newly_finished
