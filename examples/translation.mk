# Shared by the translation recipes: examples/<dataset>/recipe.mk calls translation_recipe once to
# define prepare-<dataset>, train-<dataset> and test-model-<dataset>.
#   RAW=path         prepare from a local copy of the raw corpora instead of downloading
#   MODEL=name       a model of examples/<dataset>/train.yaml (train, test-model)
#   TRAIN_ARGS=...   more fairseq-train flags, e.g. "--cpu --max-update 100" or "--stop-time-hours 2"
#   TEST_ARGS=...    more lsra-evaluate / fairseq-generate flags, e.g. "--cpu"
WORK_DIR ?= data
DATA_BIN ?= data-bin
RUNS ?= runs
RESULTS ?= results

need-model = @test -n "$(MODEL)" || { echo "set MODEL=<one of the models in $(1)>"; exit 2; }

# $(call translation_recipe,dataset,config folder under examples/,lsra-evaluate protocol flags)
define translation_recipe
.PHONY: prepare-$(1) train-$(1) test-model-$(1)
prepare-$(1): install
	$$(BIN)/lsra-prepare $(1) --work $$(WORK_DIR)/$(1) --dest $$(DATA_BIN)/$(1) $$(if $$(RAW),--raw $$(RAW))
train-$(1): install
	$$(call need-model,examples/$(2)/train.yaml)
	$$(BIN)/lsra-train examples/$(2)/train.yaml $$(MODEL) --data $$(DATA_BIN)/$(1) \
	    --run-dir $$(RUNS)/$(1)/$$(MODEL) $$(TRAIN_ARGS)
test-model-$(1): install
	$$(call need-model,examples/$(2)/train.yaml)
	$$(BIN)/lsra-evaluate $$(DATA_BIN)/$(1) $$(RUNS)/$(1)/$$(MODEL) --dataset $(1) --model $$(MODEL) \
	    --results $$(RESULTS) $(3) $$(TEST_ARGS)
endef
