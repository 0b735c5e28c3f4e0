# Shared by the dataset recipes: each examples/<dataset>/recipe.mk defines prepare-<dataset>,
# train-<dataset> and test-model-<dataset> with these variables.
#   RAW=path         prepare from a local copy of the raw corpora instead of downloading
#   WORKERS=n        processes for preparation (default: all cores)
#   MODEL=name       a model of examples/<dir>/train.yaml (train, test-model)
#   TRAIN_ARGS=...   more fairseq-train flags, e.g. "--cpu --max-update 100" or "--stop-time-hours 2"
#   TEST_ARGS=...    more flags for lsra-evaluate (and fairseq-generate / eval-lm), e.g. "--cpu"
WORK_DIR ?= data
DATA_BIN ?= data-bin
RUNS ?= runs
RESULTS ?= results
DATASETS :=

need-model = @test -n "$(MODEL)" || { echo "set MODEL=<one of the models in $(1)>"; exit 2; }
prepare-flags = --work $(WORK_DIR)/$(1) --dest $(DATA_BIN)/$(1) $(if $(RAW),--raw $(RAW)) \
    $(if $(WORKERS),--workers $(WORKERS))

# $(call train_recipe,dataset,config folder under examples/): train-<dataset>; lists the dataset.
define train_recipe
DATASETS += $(1)
.PHONY: train-$(1)
train-$(1): install
	$$(call need-model,examples/$(2)/train.yaml)
	$$(BIN)/lsra-train examples/$(2)/train.yaml $$(MODEL) --data $$(DATA_BIN)/$(1) \
	    --run-dir $$(RUNS)/$(1)/$$(MODEL) $$(TRAIN_ARGS)
endef

# $(call dataset_recipe,dataset,config folder under examples/,lsra-evaluate protocol flags[,lsra-prepare
# flags[,default MODEL]]): prepare-<dataset>, train-<dataset> and test-model-<dataset>.
define dataset_recipe
$(call train_recipe,$(1),$(2))
.PHONY: prepare-$(1) test-model-$(1)
train-$(1) test-model-$(1): MODEL := $$(or $$(MODEL),$(5))
prepare-$(1): install
	$$(BIN)/lsra-prepare $(1) $$(call prepare-flags,$(1)) $(4)
test-model-$(1): install
	$$(call need-model,examples/$(2)/train.yaml)
	$$(BIN)/lsra-evaluate $$(DATA_BIN)/$(1) $$(RUNS)/$(1)/$$(MODEL) --dataset $(1) --model $$(MODEL) \
	    --results $$(RESULTS) $(3) $$(TEST_ARGS)
endef
