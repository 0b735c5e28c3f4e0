# CNN-DailyMail summarization (paper Table 4), with the shared variables of examples/recipes.mk.
#   make prepare-cnndm RAW=/path/to/local/copy [CNNDM_BPE_MERGES=30000]
#   make train DATASET=cnndm [MODEL=lite_cnndm_496] [TRAIN_ARGS="--max-update 100"]
#   make test-model DATASET=cnndm [MODEL=lite_cnndm_496] [TEST_ARGS="--average-last 5"]
# RAW holds one of the distributions lsra_fairseq/preprocessing/cnndm.py reads: the See et al.
# story files (+ url_lists/), .source/.target line files, or {split}.article.txt/.abstract.txt.
# test-model generates with the paper's settings (beam 4, lenpen 2.0, min length 55, max length 140,
# no repeated trigrams) and writes ROUGE-1/2/L F1 to results/cnndm-$(MODEL).json.
CNNDM_BPE_MERGES ?= 30000

$(eval $(call train_recipe,cnndm,cnndm))
.PHONY: prepare-cnndm test-model-cnndm
train-cnndm test-model-cnndm: MODEL := $(or $(MODEL),lite_cnndm_496)

prepare-cnndm: install
	$(PY) -m lsra_fairseq.preprocessing.cnndm $(call prepare-flags,cnndm) --bpe-merges $(CNNDM_BPE_MERGES)

test-model-cnndm: install
	$(PY) -m lsra_fairseq.evaluation.rouge $(DATA_BIN)/cnndm $(RUNS)/cnndm/$(MODEL) --dataset cnndm \
	    --model $(MODEL) --results $(RESULTS) $(TEST_ARGS)
