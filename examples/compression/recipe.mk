# Compression of a trained recipe model (lsra-compress; the paper's 8-bit quantization + fine-grained pruning):
#   make compress DATASET=multi30k MODEL=lite_demo [COMPRESS_CHOICE="--loss-budget 0.2"] [COMPRESS_FINETUNE_ARGS=...]
# 1. prune: sensitivity analysis on the checkpoint the test scored (results/<dataset>-<model>.json),
#    per-matrix sparsities reaching a target sparsity (or within a validation-loss budget) -> masks
# 2. fine-tune with the masks fixed (--task translation_pruned), distilling from the original model
# 3. pack: k-means 8-bit codes + bitmaps -> $(COMPRESS_DIR)/packed/checkpoint_best.pt (a compact file
#    fairseq-generate / fairseq-interactive load through --user-dir user_dir)
# 4. test it like the original (lsra-evaluate; results/<dataset>-<model>-compressed.json)
# 5. report -> results/<dataset>-<model>-compression.{json,md}
COMPRESS_DIR = $(RUNS)/$(DATASET)/$(MODEL)/compress
COMPRESS_SCORED = $(RESULTS)/$(DATASET)-$(MODEL).json
COMPRESS_SOURCE = $(shell $(PY) -c 'import json; print(json.load(open("$(COMPRESS_SCORED)"))["checkpoint"])' 2>/dev/null)
# 57.5% of the non-embedding matrices pruned: the bitmap + 8-bit codes of the rest make the paper's count ~7.2x.
COMPRESS_CHOICE ?= --sparsity 0.575
COMPRESS_PRUNE_ARGS ?= --no-embeddings --grid 0.3,0.5,0.6,0.7,0.8,0.9 --max-sentences 160 --max-tokens 2048
COMPRESS_FINETUNE_ARGS ?= --cpu --max-update 450 --lr 5e-4 --warmup-updates 50 --save-interval-updates 100 \
    --no-epoch-checkpoints --criterion label_smoothed_distillation --distill-weight 0.5 --distill-temperature 1
COMPRESS_SCHEME ?= kmeans
COMPRESS_TEST_ARGS ?= --beam 4 --lenpen 1 --cpu

compress_prune = $(BIN)/lsra-compress prune $(COMPRESS_SOURCE) --data $(DATA_BIN)/$(DATASET) --out-dir $(COMPRESS_DIR) \
    $(COMPRESS_CHOICE) $(COMPRESS_PRUNE_ARGS)
compress_finetune = $(BIN)/lsra-train examples/$(subst -,_,$(DATASET))/train.yaml $(MODEL) --data $(DATA_BIN)/$(DATASET) \
    --run-dir $(COMPRESS_DIR)/finetune --task translation_pruned --prune-masks $(COMPRESS_DIR)/masks.pt \
    --finetune-from-model $(COMPRESS_DIR)/pruned.pt --teacher-path $(COMPRESS_SOURCE) $(COMPRESS_FINETUNE_ARGS)
compress_pack = $(BIN)/lsra-compress pack $(COMPRESS_DIR)/finetune/checkpoint_last.pt --masks $(COMPRESS_DIR)/masks.pt \
    --scheme $(COMPRESS_SCHEME) --out $(COMPRESS_DIR)/packed/checkpoint_best.pt
compress_test = $(BIN)/lsra-evaluate $(DATA_BIN)/$(DATASET) $(COMPRESS_DIR)/packed --dataset $(DATASET) \
    --model $(MODEL)-compressed --results $(RESULTS) $(COMPRESS_TEST_ARGS)
compress_report = $(BIN)/lsra-compress report --original $(COMPRESS_SOURCE) --compact $(COMPRESS_DIR)/packed/checkpoint_best.pt \
    --before $(COMPRESS_SCORED) --after $(RESULTS)/$(DATASET)-$(MODEL)-compressed.json \
    --sensitivity $(COMPRESS_DIR)/sensitivity.json --out $(RESULTS)/$(DATASET)-$(MODEL)-compression.json

.PHONY: compress
compress: export OMP_WAIT_POLICY = PASSIVE
compress: install
	@test -n "$(DATASET)" -a -n "$(MODEL)" || { echo "set DATASET=... MODEL=..., e.g. make compress DATASET=multi30k MODEL=lite_demo"; exit 2; }
	@test -f "$(COMPRESS_SCORED)" || { echo "no $(COMPRESS_SCORED): train and test the model first (make train / make test-model DATASET=$(DATASET) MODEL=$(MODEL))"; exit 2; }
	rm -rf $(COMPRESS_DIR)
	$(compress_prune)
	$(compress_finetune)
	$(compress_pack)
	$(compress_test)
	$(compress_report) --command '$(strip $(compress_prune))' --command '$(strip $(compress_finetune))' \
	    --command '$(strip $(compress_pack))' --command '$(strip $(compress_test))' --command '$(strip $(compress_report))'
