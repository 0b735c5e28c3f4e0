"""Reference decoding loop for an ``lsra-export`` folder: numpy and onnxruntime only.

Copied into every export folder, so a device needs only this file, ``encoder.onnx``,
``decoder_step.onnx`` and ``config.json``::

    python ort_decode.py EXPORT_DIR < tokenized_bpe_source.txt      # greedy, one line per line

Greedy search with fairseq's rules (eos counted in the length, ``max_len = max_len_a * src_len +
max_len_b``, capped by the model's positions; ``min_len``). Input words missing from the source
dictionary become ``<unk>``; a line longer than the model's source positions is truncated.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np
import onnxruntime


INITIAL_CAPACITY = 16  # decoder steps the state holds at first; it doubles when full


class OrtTranslator:
    def __init__(self, folder, threads: int = 1):
        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = lambda name: onnxruntime.InferenceSession(  # noqa: E731
            str(folder / name), options, providers=["CPUExecutionProvider"])
        self.encoder, self.step = session("encoder.onnx"), session("decoder_step.onnx")
        self.step_inputs = self.config["step_inputs"]  # in the order run_step lists them
        self.graph_inputs = {x.name for x in self.step.get_inputs()}  # an input never read is not there
        self.source_index = {word: i for i, word in enumerate(self.config["source_words"])}
        self.ring_starts = np.cumsum([0, *self.config["ring_sizes"]])  # each layer's ring in the conv state

    def empty_state(self, rows: int, capacity: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Zeroed decoder state (self_k, self_v, the layers' conv rings one after another) for
        ``rows`` rows and ``capacity`` steps."""
        c = self.config
        heads = (c["layers"], rows, c["attn_heads"])
        k = np.zeros((*heads, c["head_dim"], capacity), np.float32)  # keys time last, values time first
        v = np.zeros((*heads, capacity, c["head_dim"]), np.float32)
        return k, v, np.zeros((self.ring_starts[-1], rows, c["conv_dim"]), np.float32)

    @staticmethod
    def extended(state, capacity: int):
        """``state`` with room for ``capacity`` steps (new slots zero; the conv rings keep their size)."""
        self_k, self_v, conv = state
        grow, keep = (0, capacity - self_k.shape[-1]), [(0, 0)] * (self_k.ndim - 2)
        return np.pad(self_k, keep + [(0, 0), grow]), np.pad(self_v, keep + [grow, (0, 0)]), conv

    def run_step(self, tokens: np.ndarray, t: int, state, memory) -> np.ndarray:
        """One decoder step: log-probabilities (rows x vocab); this step's entries written into
        ``state`` (``empty_state``'s arrays) at slot t (each conv ring at t mod its size). ``memory``
        is the encoder's three outputs."""
        self_k, self_v, conv = state
        enc_k, enc_v, enc_bias = memory
        rings = np.split(conv, self.ring_starts[1:-1])  # views, one per layer
        values = [tokens, np.array([t], np.int64), *self_k, *self_v, *rings, *enc_k, *enc_v, enc_bias]
        outputs = self.step.run(None, {name: value for name, value in zip(self.step_inputs, values)
                                       if name in self.graph_inputs})
        L = self.config["layers"]
        # outputs: lprobs, then new_k, new_v and new_conv of every layer
        for i, (start, size) in enumerate(zip(self.ring_starts, self.config["ring_sizes"])):
            self_k[i, ..., t], self_v[i, ..., t, :] = outputs[1 + i], outputs[1 + L + i]
            if size:
                conv[start + t % size] = outputs[1 + 2 * L + i]
        return outputs[0]

    def encode_line(self, line: str) -> np.ndarray:
        """Words -> source ids ending in eos (unknown words -> unk, too long -> truncated)."""
        c = self.config
        ids = [self.source_index.get(word, c["src_unk"]) for word in line.split()]
        ids = ids[:c["max_source_positions"] - 1] + [c["src_eos"]]
        return np.array(ids, dtype=np.int64)

    def greedy(self, sources: List[np.ndarray], max_len_a: float = 0.0, max_len_b: int = 200,
               min_len: int = 1) -> List[Tuple[List[int], float]]:
        """Greedy translations (token ids ending in eos, score = mean log-probability) of a batch."""
        c = self.config
        width = max(len(s) for s in sources)
        src = np.full((len(sources), width), c["src_pad"], dtype=np.int64)
        for i, s in enumerate(sources):
            src[i, width - len(s):] = s  # left padding, as fairseq
        memory = self.encoder.run(None, {"src_tokens": src})
        max_len = min(int(max_len_a * width + max_len_b), c["max_positions"] - 1)
        rows = len(sources)
        state = self.empty_state(rows, min(INITIAL_CAPACITY, max_len + 1))
        tokens = np.full(rows, c["bos"], dtype=np.int64)
        alive = np.arange(rows)  # original sentence of each row
        results = [None] * rows
        hyp_tokens, hyp_scores = [[] for _ in range(rows)], [0.0] * rows
        for t in range(max_len + 1):
            if t == state[0].shape[-1]:
                state = self.extended(state, min(2 * t, max_len + 1))
            lprobs = self.run_step(tokens, t, state, memory)
            lprobs[:, c["pad"]] = -np.inf
            if t >= max_len:
                eos_column = lprobs[:, c["eos"]].copy()
                lprobs[:] = -np.inf
                lprobs[:, c["eos"]] = eos_column
            elif t < min_len:
                lprobs[:, c["eos"]] = -np.inf
            best = lprobs.argmax(axis=1)
            finished = []
            for row, sent in enumerate(alive):
                hyp_tokens[sent].append(int(best[row]))
                hyp_scores[sent] += float(lprobs[row, best[row]])
                if best[row] == c["eos"]:
                    results[sent] = (hyp_tokens[sent], hyp_scores[sent] / (t + 1))
                    finished.append(row)
            if finished:
                keep = np.setdiff1d(np.arange(len(alive)), finished)
                if keep.size == 0:
                    break
                alive, best = alive[keep], best[keep]
                state = tuple(x[:, keep] for x in state)
                memory = (memory[0][:, keep], memory[1][:, keep], memory[2][keep])
            tokens = best.astype(np.int64)
        return results

    def words(self, ids: List[int]) -> str:
        c = self.config
        return " ".join(c["target_words"][i] for i in ids if i != c["eos"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir")
    parser.add_argument("--max-len-a", type=float, default=0.0)
    parser.add_argument("--max-len-b", type=int, default=200)
    parser.add_argument("--min-len", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    translator = OrtTranslator(args.export_dir, args.threads)
    for line in sys.stdin:
        ids, _ = translator.greedy([translator.encode_line(line)], args.max_len_a, args.max_len_b,
                                   args.min_len)[0]
        print(translator.words(ids), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
