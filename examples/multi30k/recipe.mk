# Multi30k De-En (task 1; test = test_2016_flickr) and `make demo`, the project's first command:
# prepare the data, train a small Lite Transformer on CPU in bounded time, report test2016 BLEU,
# translate a few sentences with fairseq-interactive.
#   make demo [MULTI30K=folder with train/val/test_2016_flickr .de/.en]
#   make prepare-multi30k [RAW=...]; make train DATASET=multi30k MODEL=lite_demo; make test-model ...
MULTI30K_AVERAGE := 3
$(eval $(call dataset_recipe,multi30k,multi30k,--average-last $(MULTI30K_AVERAGE) --beam 4 --lenpen 1))

# The raw corpora: the local copy the tests read when it is there (so the demo runs offline),
# else empty: prepare-multi30k downloads them.
MULTI30K ?= $(wildcard $(SHARED)/data/multi30k/raw)
# A fixed number of epochs keeps the demo deterministic; the time limit bounds it on a slow machine.
DEMO_TRAIN_ARGS := --cpu --max-epoch 6 --stop-time-hours 0.25
DEMO_RESULT = $(RESULTS)/multi30k-lite_demo.json
# Translates with the checkpoint the test scored (the averaged one).
DEMO_INTERACTIVE = $(BIN)/fairseq-interactive $(DATA_BIN)/multi30k --user-dir user_dir --cpu --beam 4 \
    --path "$$($(PY) -c 'import json; print(json.load(open("$(DEMO_RESULT)"))["checkpoint"])')" \
    --source-lang de --target-lang en --tokenizer moses --moses-no-dash-splits \
    --bpe subword_nmt --bpe-codes $(DATA_BIN)/multi30k/code

# On CPU, OpenMP threads that wait spin by default; when another process competes for the cores,
# that halves training speed (or worse). Waiting passively costs ~3% on an idle machine.
.PHONY: demo
demo: export OMP_WAIT_POLICY = PASSIVE
demo: install
	$(MAKE) prepare-multi30k RAW=$(MULTI30K)
	$(MAKE) train-multi30k MODEL=lite_demo TRAIN_ARGS="$(DEMO_TRAIN_ARGS)"
	$(MAKE) test-model-multi30k MODEL=lite_demo TEST_ARGS=--cpu
	@echo "== fairseq-interactive (the model is lowercased, so is its input)"
	@$(PY) -c 'import sys; sys.stdout.write(sys.stdin.read().lower())' < examples/multi30k/demo.de \
	    | $(DEMO_INTERACTIVE) 2>/dev/null | grep '^D-' | cut -f3 \
	    | paste -d '\n' examples/multi30k/demo.de - | sed -n 'p;n;s/^/    -> /p'
	@$(PY) -c 'import json; r = json.load(open("$(DEMO_RESULT)")); \
	    print("== Multi30k test2016 De-En: BLEU %s (tokenized, lowercased), sacreBLEU %s" % (r["bleu"], r["sacrebleu"]))'

# The comparison table (examples/multi30k/table.yaml): Lite vs Transformer vs LightConv at equal
# #MACs, 3 seeds each; choose the schedule on valid once, then train and score every run. Each run
# writes its own result file, so an interrupted table resumes where it stopped. TABLE_JOBS=N runs
# N single-thread processes side by side (one per core), each training the runs no other holds.
#   make multi30k-table [MULTI30K=...] [TABLE_JOBS=2] [TRAIN_ARGS=...] [TEST_ARGS=...]
TABLE_RESULTS = $(RESULTS)/multi30k-table
TABLE_JOBS = 1
table = $(BIN)/lsra-table $(1) examples/multi30k/table.yaml --data $(DATA_BIN)/multi30k \
    --runs $(RUNS)/multi30k-table --results $(TABLE_RESULTS) \
    --train-args "--cpu $(TRAIN_ARGS)" --test-args "--cpu $(TEST_ARGS)"
# $(TABLE_JOBS) processes of one table command; fails if any of them fails.
table_jobs = if [ $(TABLE_JOBS) -eq 1 ]; then $(call table,$(1)); else \
    pids=; for i in $$(seq $(TABLE_JOBS)); do OMP_NUM_THREADS=1 $(call table,$(1)) & pids="$$pids $$!"; done; \
    status=0; for p in $$pids; do wait $$p || status=1; done; exit $$status; fi
.PHONY: multi30k-table
multi30k-table: export OMP_WAIT_POLICY = PASSIVE
multi30k-table: install
	$(MAKE) prepare-multi30k RAW=$(MULTI30K)
	test -f $(TABLE_RESULTS)/schedule.json || { $(call table_jobs,select); }
	$(call table_jobs,run)
