"""The lsra_summarization task: truncation, the paper's generation settings, its generator's
n-gram blocking, clear errors."""
from argparse import Namespace

import pytest
import torch

from lsra_fairseq.builder import DictionaryTask
from lsra_fairseq.modules.ngram_block import NoRepeatNGramBlock
from lsra_fairseq.tasks.summarization import PAPER_GENERATION, SummarizationConfig, with_paper_generation

pytestmark = pytest.mark.usefixtures("one_thread")


def test_paper_generation_fills_fairseq_defaults_only():
    from fairseq.dataclass.configs import GenerationConfig
    from omegaconf import OmegaConf

    given = OmegaConf.structured(GenerationConfig(beam=6, sampling=False))
    args = with_paper_generation(given)
    assert args.beam == 6  # an explicit value wins
    assert (args.lenpen, args.min_len, args.max_len_b, args.no_repeat_ngram_size) == (2.0, 55, 140, 3)
    assert vars(with_paper_generation(Namespace()))["beam"] == PAPER_GENERATION["beam"]


@pytest.fixture
def tiny_data(tmp_path):
    """A binarized source/target dataset written in this process (no fairseq-preprocess run)."""
    from fairseq.data import indexed_dataset

    dictionary = DictionaryTask(44).source_dictionary  # the 4 special symbols and w0 ... w39
    for lang in ("source", "target"):
        dictionary.save(str(tmp_path / f"dict.{lang}.txt"))
    torch.manual_seed(0)
    lengths = {"source": [30, 12, 7], "target": [9, 5, 6]}
    for split in ("train", "valid", "test"):
        for lang, sizes in lengths.items():
            prefix = tmp_path / f"{split}.source-target.{lang}"
            builder = indexed_dataset.make_builder(str(prefix) + ".bin", "mmap", vocab_size=len(dictionary))
            for size in sizes:
                builder.add_item(torch.cat([torch.randint(4, len(dictionary), (size - 1,)),
                                            torch.tensor([dictionary.eos()])]))
            builder.finalize(str(prefix) + ".idx")
    return tmp_path


def setup_task(data, **options):
    from lsra_fairseq.tasks import SummarizationTask

    return SummarizationTask.setup_task(SummarizationConfig(
        data=str(data), train_subset="train", dataset_impl="mmap", required_seq_len_multiple=1, **options))


def test_sources_are_truncated_to_the_source_length_keeping_eos(tiny_data):
    task = setup_task(tiny_data, source_length=10)
    task.load_dataset("valid")
    dataset = task.dataset("valid")
    sources = [dataset[i]["source"] for i in range(len(dataset))]
    assert [len(s) for s in sources] == [10, 10, 7]
    assert all(s[-1].item() == task.source_dictionary.eos() for s in sources)
    assert task.max_positions()[0] == 10
    whole = setup_task(tiny_data, source_length=0)
    whole.load_dataset("valid")
    assert whole.dataset("valid")[0]["source"].numel() == 30


def test_generator_has_the_papers_settings_and_working_ngram_blocking(tiny_data, build_model):
    from fairseq.dataclass.configs import GenerationConfig

    task = setup_task(tiny_data)
    model = build_model("lite_transformer_base", task, encoder_layers=1, decoder_layers=1,
                        encoder_embed_dim=16, decoder_embed_dim=16, encoder_ffn_embed_dim=16,
                        decoder_ffn_embed_dim=16, decoder_attention_heads=2).eval()
    generator = task.build_generator([model], GenerationConfig())
    assert (generator.beam_size, generator.len_penalty, generator.min_len, generator.max_len_b) == (4, 2.0, 55, 140)
    assert isinstance(generator.repeat_ngram_blocker, NoRepeatNGramBlock)
    assert generator.repeat_ngram_blocker.no_repeat_ngram_size == 3
    task.load_dataset("test")
    sample = task.dataset("test").collater([task.dataset("test")[i] for i in range(3)])
    with torch.no_grad():
        hypotheses = task.inference_step(generator, [model], sample)
    for hypos in hypotheses:
        tokens = hypos[0]["tokens"].tolist()
        assert len(tokens) >= 55
        trigrams = [tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2)]
        assert len(trigrams) == len(set(trigrams))  # a random model repeats a lot without blocking
    fairseq_defaults = setup_task(tiny_data, generation_defaults="fairseq")
    assert fairseq_defaults.build_generator([model], GenerationConfig()).beam_size == 5


def test_missing_data_fails_early_and_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*prepare-cnndm"):
        setup_task(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no dict.<lang>.txt"):
        setup_task(tmp_path)
