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


class OrtTranslator:
    def __init__(self, folder, threads: int = 1):
        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = lambda name: onnxruntime.InferenceSession(  # noqa: E731
            str(folder / name), options, providers=["CPUExecutionProvider"])
        self.encoder, self.step = session("encoder.onnx"), session("decoder_step.onnx")
        self.source_index = {word: i for i, word in enumerate(self.config["source_words"])}

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
        enc_k, enc_v, enc_bias = self.encoder.run(None, {"src_tokens": src})
        max_len = min(int(max_len_a * width + max_len_b), c["max_positions"] - 1)
        rows = len(sources)
        shape = (c["layers"], rows)
        self_k = np.zeros(shape + (c["attn_dim"], max_len + 1), np.float32)
        self_v = np.zeros_like(self_k)
        conv = np.zeros(shape + (c["conv_dim"], max_len + 1 + c["conv_offset"]), np.float32)
        tokens = np.full(rows, c["bos"], dtype=np.int64)
        alive = np.arange(rows)  # original sentence of each row
        results = [None] * rows
        hyp_tokens, hyp_scores = [[] for _ in range(rows)], [0.0] * rows
        for t in range(max_len + 1):
            feeds = {"tokens": tokens, "t": np.array([t], np.int64), "self_k": self_k, "self_v": self_v,
                     "conv": conv, "enc_k": enc_k, "enc_v": enc_v, "enc_bias": enc_bias}
            lprobs, new_k, new_v, new_conv = self.step.run(None, feeds)
            self_k[..., t], self_v[..., t], conv[..., t + c["conv_offset"]] = new_k, new_v, new_conv
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
                self_k, self_v, conv = self_k[:, keep], self_v[:, keep], conv[:, keep]
                enc_k, enc_v, enc_bias = enc_k[:, keep], enc_v[:, keep], enc_bias[keep]
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
