# WMT'14 En-De (paper Table 2): WMT16 training corpora, valid newstest2013, test newstest2014;
# test = best checkpoint, beam 4, lenpen 0.6, tokenized BLEU after compound splitting.
#   make prepare-wmt14-en-de [RAW=folder holding the statmt.org archives or their extracted files]
#   make train DATASET=wmt14-en-de MODEL=lite_200   (lite_200/408/496, transformer_128/256/320)
#   make test-model DATASET=wmt14-en-de MODEL=lite_200
$(eval $(call dataset_recipe,wmt14-en-de,wmt14_en_de,--beam 4 --lenpen 0.6 --compound-split))
