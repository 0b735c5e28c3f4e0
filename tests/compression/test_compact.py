"""The compact checkpoint: round trip through fairseq's loader, sizes, and refusal of bad files."""

import pytest
import torch
from fairseq import checkpoint_utils, models
from fairseq.sequence_generator import SequenceGenerator

import lsra_fairseq.plugin  # noqa: F401  (reads compact files)
from lsra_fairseq.compression.compact import (HEADER, CompactFormatError, quantize_model, read_compact,
                                              save_compact)
from lsra_fairseq.compression.masks import embedding_parameter_names, magnitude_mask, prunable_parameters
from lsra_fairseq.compression.schemes import quantization_schemes
from lsra_fairseq.compression.size import size_report

from .tiny import batch, model_args, tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")
META = {"cfg": {"model": model_args(), "task": {"_name": "translation"}},
        "optimizer_history": [{"criterion_name": "x", "optimizer_name": "y", "lr_scheduler_state": {},
                               "num_updates": 7}], "extra_state": {"epoch": 2}}


def compact_model(scheme="kmeans"):
    model, task = tiny_model()
    masks = {name: magnitude_mask(p, 0.6) for name, p in prunable_parameters(model)
             if name.endswith("fc1.weight") or "embed_tokens" in name}
    return model.eval(), task, masks, quantize_model(model, quantization_schemes(model, scheme), masks, META)


def translate(model, task):
    generator = SequenceGenerator([model], task.target_dictionary, beam_size=3, max_len_b=12)
    sample = batch(task, sentences=4, seed=5)
    return [hyp[0]["tokens"].tolist() for hyp in generator.generate([model], sample)]


@pytest.mark.parametrize("scheme", ["kmeans", "linear"])
def test_round_trip_through_fairseqs_loader_translates_like_the_dequantized_model(tmp_path, scheme):
    model, task, masks, compact = compact_model(scheme)
    path = save_compact(compact, tmp_path / "model.pt")
    in_memory, _ = tiny_model(seed=1)
    in_memory.load_state_dict(compact.state_dict())
    state = checkpoint_utils.load_checkpoint_to_cpu(str(path))  # what fairseq-generate calls
    assert state["optimizer_history"][-1]["num_updates"] == 7 and state["extra_state"]["epoch"] == 2
    loaded = models.build_model(state["cfg"].model, task, from_checkpoint=True)
    loaded.load_state_dict(state["model"], strict=True)
    for name, tensor in in_memory.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert translate(loaded.eval(), task) == translate(in_memory.eval(), task)
    fc1 = loaded.encoder.layers[0].fc1.weight
    assert torch.equal(fc1 == 0, ~masks["encoder.layers.0.fc1.weight"])
    if scheme == "kmeans":
        assert fc1.unique().numel() <= 257  # 256 codes and the pruned zeros
    else:
        assert all(row.unique().numel() <= 255 for row in fc1)  # codes -127..127 times the row's scale
    tied = state["model"]
    assert tied["encoder.embed_tokens.weight"].data_ptr() == tied["decoder.output_projection.weight"].data_ptr()


def test_size_counts_codes_bitmaps_and_tables():
    model, _, masks, compact = compact_model()
    embeddings = set(embedding_parameter_names(model))
    counted = [name for name, _ in model.named_parameters() if name not in embeddings]
    size = size_report(compact, counted)
    weights = sum(p.numel() for name, p in model.named_parameters() if name in counted)
    fc1 = masks["encoder.layers.0.fc1.weight"]
    fc1_bits = fc1.numel() + int(fc1.sum()) * 8  # bitmap + 8-bit codes
    others = weights - fc1.numel() - masks["decoder.layers.0.fc1.weight"].numel()
    expected = 2 * fc1_bits + others * 8
    assert size["non_embedding_params"] == weights
    assert size["compressed_bytes"] == expected / 8
    assert size["compression_ratio"] == round(32 * weights / expected, 3)
    assert size["quantization_ratio"] == 4.0
    matrices = sum(1 for name, scheme in quantization_schemes(model, "kmeans").items()
                   if scheme == "kmeans" and name in counted)
    assert size["bits"]["tables"] > matrices * 256 * 32  # codebooks, and the linear scales


def test_truncated_corrupted_foreign_and_future_files_are_refused(tmp_path):
    _, _, _, compact = compact_model()
    data = save_compact(compact, tmp_path / "good.pt").read_bytes()
    cases = {"truncated.pt": (data[:len(data) // 2], "is truncated"),
             "header.pt": (data[:HEADER.size - 4], "truncated"),
             "corrupted.pt": (data[:-1] + bytes([data[-1] ^ 1]), "corrupted"),
             "future.pt": (data[:8] + (99).to_bytes(2, "little") + data[10:], "version 99")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CompactFormatError, match=message):
            checkpoint_utils.load_checkpoint_to_cpu(str(tmp_path / name))
    torch.save({"model": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CompactFormatError, match="not a compact checkpoint"):
        read_compact(tmp_path / "foreign.pt")
