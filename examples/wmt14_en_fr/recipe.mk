# WMT'14 En-Fr (paper Table 2): fairseq's prepare-wmt14en2fr.sh corpora (~36M pairs), test
# newstest2014; test = best checkpoint, beam 4, lenpen 0.6, tokenized BLEU.
#   make prepare-wmt14-en-fr [RAW=folder holding the statmt.org archives or their extracted files]
#   make train DATASET=wmt14-en-fr MODEL=lite_200   (lite_200/408/496, transformer_128/256/320)
#   make test-model DATASET=wmt14-en-fr MODEL=lite_200
$(eval $(call dataset_recipe,wmt14-en-fr,wmt14_en_fr,--beam 4 --lenpen 0.6))
