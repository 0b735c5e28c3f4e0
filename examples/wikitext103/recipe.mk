# WikiText-103 language modeling (paper Table 5), included by the Makefile.
#   make prepare-wikitext103 [WIKITEXT103_DIR=/path/to/local/copy]
#   make train DATASET=wikitext103 [MODEL=lite_lm_wiki103] [WT103_TRAIN_FLAGS="--max-update 100"]
#   make test-model DATASET=wikitext103 [MODEL=lite_lm_wiki103]
# WIKITEXT103_DIR: a folder with wiki.{train,valid,test}.tokens (or wikitext-103-v1.zip); empty =
# download from the official address. test-model scores valid and test with fairseq-eval-lm, every
# token after a context window of 2560 tokens (spec §4), into results/wikitext103-$(MODEL).json.
WIKITEXT103_DIR ?=
WT103_DATA ?= data/wikitext-103
WT103_BIN ?= data-bin/wikitext-103
WT103_MODEL = $(or $(MODEL),lite_lm_wiki103)
WT103_RUN ?= runs/wikitext103/$(WT103_MODEL)
WT103_CHECKPOINT ?= $(WT103_RUN)/checkpoint_best.pt
WT103_TRAIN_FLAGS ?=
WT103_CONTEXT_WINDOW ?= 2560
WT103_TOKENS_PER_SAMPLE ?= 3072
WT103_EVAL_FLAGS ?=
WT103_WORKERS ?=
RESULTS ?= results

.PHONY: prepare-wikitext103 train-wikitext103 test-model-wikitext103

prepare-wikitext103:
	$(PY) -m lsra_fairseq.preprocessing.wikitext --work $(WT103_DATA) --dest $(WT103_BIN) \
	    $(if $(WIKITEXT103_DIR),--raw $(WIKITEXT103_DIR)) $(if $(WT103_WORKERS),--workers $(WT103_WORKERS))

train-wikitext103:
	@test -f $(WT103_BIN)/dict.txt || { echo "no $(WT103_BIN)/dict.txt: run make prepare-wikitext103 first"; exit 2; }
	$(PY) -m lsra_fairseq.training examples/wikitext103/train.yaml $(WT103_MODEL) \
	    --data $(WT103_BIN) --run-dir $(WT103_RUN) $(WT103_TRAIN_FLAGS)

test-model-wikitext103:
	$(PY) -m lsra_fairseq.evaluation.perplexity $(WT103_BIN) --path $(WT103_CHECKPOINT) \
	    --context-window $(WT103_CONTEXT_WINDOW) --tokens-per-sample $(WT103_TOKENS_PER_SAMPLE) \
	    --max-tokens $(WT103_TOKENS_PER_SAMPLE) --results-dir $(RESULTS) --dataset wikitext103 \
	    --model $(WT103_MODEL) $(WT103_EVAL_FLAGS)
