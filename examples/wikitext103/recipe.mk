# WikiText-103 language modeling (paper Table 5), with the shared variables of examples/recipes.mk.
#   make prepare-wikitext103 [RAW=/path/to/local/copy]
#   make train DATASET=wikitext103 [MODEL=lite_lm_wiki103] [TRAIN_ARGS="--max-update 100"]
#   make test-model DATASET=wikitext103 [MODEL=lite_lm_wiki103]
# RAW: a folder with wiki.{train,valid,test}.tokens (or wikitext-103-v1.zip); empty = download
# from the official address. test-model scores valid and test with fairseq-eval-lm, every token
# after a context window of 2560 tokens (the paper's protocol for Table 5), into
# results/wikitext103-$(MODEL).json.
WT103_CONTEXT_WINDOW ?= 2560
WT103_TOKENS_PER_SAMPLE ?= 3072
$(eval $(call dataset_recipe,wikitext103,wikitext103,--context-window $$(WT103_CONTEXT_WINDOW) \
    --tokens-per-sample $$(WT103_TOKENS_PER_SAMPLE) --max-tokens $$(WT103_TOKENS_PER_SAMPLE),,lite_lm_wiki103))
