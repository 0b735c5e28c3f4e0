# CNN-DailyMail summarization (paper Table 4), included by the Makefile.
#   make prepare-cnndm CNNDM_DIR=/path/to/local/copy [CNNDM_BPE_MERGES=30000]
#   make train DATASET=cnndm [MODEL=lite_cnndm_496] [CNNDM_TRAIN_FLAGS="--max-update 100"]
#   make test-model DATASET=cnndm [MODEL=lite_cnndm_496] [CNNDM_AVERAGE_LAST=0]
# CNNDM_DIR holds one of the distributions lsra_fairseq/preprocessing/cnndm.py reads: the See et
# al. story files (+ url_lists/), .source/.target line files, or {split}.article.txt/.abstract.txt.
# test-model generates with the paper's settings (beam 4, lenpen 2.0, min length 55, max length 140,
# no repeated trigrams) and writes ROUGE-1/2/L F1 to results/cnndm-$(MODEL).json.
CNNDM_DIR ?=
CNNDM_DATA ?= data/cnndm
CNNDM_BIN ?= data-bin/cnndm
CNNDM_BPE_MERGES ?= 30000
CNNDM_MODEL = $(or $(MODEL),lite_cnndm_496)
CNNDM_RUN ?= runs/cnndm/$(CNNDM_MODEL)
CNNDM_TRAIN_FLAGS ?=
CNNDM_AVERAGE_LAST ?= 0
CNNDM_EVAL_FLAGS ?=
CNNDM_WORKERS ?=
RESULTS ?= results

.PHONY: prepare-cnndm train-cnndm test-model-cnndm

prepare-cnndm:
	$(PY) -m lsra_fairseq.preprocessing.cnndm $(if $(CNNDM_DIR),--raw $(CNNDM_DIR)) --work $(CNNDM_DATA) \
	    --dest $(CNNDM_BIN) --bpe-merges $(CNNDM_BPE_MERGES) $(if $(CNNDM_WORKERS),--workers $(CNNDM_WORKERS))

train-cnndm:
	@test -f $(CNNDM_BIN)/dict.source.txt || { echo "no $(CNNDM_BIN)/dict.source.txt: run make prepare-cnndm first"; exit 2; }
	$(PY) -m lsra_fairseq.training examples/cnndm/train.yaml $(CNNDM_MODEL) \
	    --data $(CNNDM_BIN) --run-dir $(CNNDM_RUN) $(CNNDM_TRAIN_FLAGS)

test-model-cnndm:
	$(PY) -m lsra_fairseq.evaluation.rouge $(CNNDM_BIN) $(CNNDM_RUN) --dataset cnndm --model $(CNNDM_MODEL) \
	    --average-last $(CNNDM_AVERAGE_LAST) --results $(RESULTS) $(CNNDM_EVAL_FLAGS)
