# CNN-DailyMail summarization (paper Table 4), with the shared variables of examples/recipes.mk.
#   make prepare-cnndm RAW=/path/to/local/copy [CNNDM_BPE_MERGES=30000]
#   make train DATASET=cnndm [MODEL=lite_cnndm_496] [TRAIN_ARGS="--max-update 100"]
#   make test-model DATASET=cnndm [MODEL=lite_cnndm_496] [TEST_ARGS="--average-last 5"]
# RAW holds one of the distributions lsra-prepare cnndm reads: the See et al. story files
# (+ url_lists/), .source/.target line files, or {split}.article.txt/.abstract.txt.
# test-model generates with the paper's settings (beam 4, lenpen 2.0, min length 55, max length 140,
# no repeated trigrams; the lsra_summarization task's defaults, spelled out here for the record)
# and writes ROUGE-1/2/L F1 to results/cnndm-$(MODEL).json.
CNNDM_BPE_MERGES ?= 30000
$(eval $(call dataset_recipe,cnndm,cnndm,--beam 4 --lenpen 2.0 --min-len 55 --max-len-a 0 --max-len-b 140 \
    --no-repeat-ngram-size 3,--bpe-merges $$(CNNDM_BPE_MERGES),lite_cnndm_496))
