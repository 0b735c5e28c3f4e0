"""The fast generator behind the hub interface and behind lsra-evaluate --fast."""
import shutil

from fairseq.data import data_utils, indexed_dataset
from fairseq.sequence_generator import SequenceGenerator

from lsra_fairseq.commands import USER_DIR
from lsra_fairseq.evaluation.bleu import read_generate_output
from lsra_fairseq.generation.generate_file import generate_to_file
from lsra_fairseq.models.lite_transformer import LiteTransformerModel


def test_hub_translate_with_fast_generator_equals_fairseq(tiny):
    load = lambda **fast: LiteTransformerModel.from_pretrained(  # noqa: E731
        str(tiny.data), checkpoint_file=tiny.checkpoint.name, data_name_or_path=str(tiny.data), **fast)
    lines = tiny.val_de[26:30]
    fast = load(fast=True, fast_backend="eager").translate(lines, beam=4)
    assert fast == load().translate(lines, beam=4)
    assert len(set(fast)) > 1


def binarize(tiny, folder, lines, targets):
    """A test split in fairseq's binary format, as fairseq-preprocess writes it."""
    for lang, dictionary, texts in (("de", tiny.task.source_dictionary, lines), ("en", tiny.task.target_dictionary, targets)):
        prefix = str(folder / f"test.de-en.{lang}")
        builder = indexed_dataset.make_builder(prefix + ".bin", impl="mmap", vocab_size=len(dictionary))
        for text in texts:
            builder.add_item(dictionary.encode_line(text, add_if_not_exist=False).int())
        builder.finalize(prefix + ".idx")
        shutil.copy(tiny.data / f"dict.{lang}.txt", folder)


def test_generate_to_file_writes_what_fairseq_generate_would(tiny, tmp_path):
    lines = tiny.val_de[:10]
    binarize(tiny, tmp_path, lines, ["a man ."] * len(lines))
    output = tmp_path / "generate-test.txt"
    generate_to_file([str(tmp_path), "--path", str(tiny.checkpoint), "--gen-subset", "test", "--beam", "4",
                      "--batch-size", "4", "--required-batch-size-multiple", "1", "--user-dir", str(USER_DIR)],
                     output, "eager", False)
    hyps, refs = read_generate_output(output)
    src_dict, tgt_dict = tiny.task.source_dictionary, tiny.task.target_dictionary
    src = data_utils.collate_tokens([src_dict.encode_line(l, add_if_not_exist=False).long() for l in lines],
                                    src_dict.pad(), left_pad=True)
    sample = {"net_input": {"src_tokens": src, "src_lengths": src.ne(src_dict.pad()).sum(1)}}
    reference = SequenceGenerator([tiny.model], tgt_dict, beam_size=4).generate([tiny.model], sample)
    assert hyps == [tgt_dict.string(h[0]["tokens"]) for h in reference]
    assert refs == ["a man ."] * len(lines)
