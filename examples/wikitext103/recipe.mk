# WikiText-103 language modeling (paper Table 5), with the shared variables of examples/recipes.mk.
#   make prepare-wikitext103 [RAW=/path/to/local/copy]
#   make train DATASET=wikitext103 [MODEL=lite_lm_wiki103] [TRAIN_ARGS="--max-update 100"]
#   make test-model DATASET=wikitext103 [MODEL=lite_lm_wiki103]
# RAW: a folder with wiki.{train,valid,test}.tokens (or wikitext-103-v1.zip); empty = download
# from the official address. test-model scores valid and test with fairseq-eval-lm, every token
# after a context window of 2560 tokens (spec §4), into results/wikitext103-$(MODEL).json.
WT103_CONTEXT_WINDOW ?= 2560
WT103_TOKENS_PER_SAMPLE ?= 3072

$(eval $(call train_recipe,wikitext103,wikitext103))
.PHONY: prepare-wikitext103 test-model-wikitext103
train-wikitext103 test-model-wikitext103: MODEL := $(or $(MODEL),lite_lm_wiki103)

prepare-wikitext103: install
	$(PY) -m lsra_fairseq.preprocessing.wikitext $(call prepare-flags,wikitext103)

test-model-wikitext103: install
	$(PY) -m lsra_fairseq.evaluation.perplexity $(DATA_BIN)/wikitext103 \
	    --path $(RUNS)/wikitext103/$(MODEL)/checkpoint_best.pt \
	    --context-window $(WT103_CONTEXT_WINDOW) --tokens-per-sample $(WT103_TOKENS_PER_SAMPLE) \
	    --max-tokens $(WT103_TOKENS_PER_SAMPLE) --results $(RESULTS) --dataset wikitext103 \
	    --model $(MODEL) $(TEST_ARGS)
