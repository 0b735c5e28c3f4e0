# IWSLT'14 De-En (paper Table 1): fairseq's prepare-iwslt14.sh in Python; test = average of the last
# 10 epoch checkpoints, beam 4, lenpen 1, tokenized BLEU.
#   make prepare-iwslt14 [RAW=folder holding de-en.tgz or its extracted de-en/]
#   make train DATASET=iwslt14 MODEL=lite_160   (lite_160/240/320, transformer_128/192/240)
#   make test-model DATASET=iwslt14 MODEL=lite_160
$(eval $(call dataset_recipe,iwslt14,iwslt14,--average-last 10 --beam 4 --lenpen 1))
