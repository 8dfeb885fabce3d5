# libFuzzer harnesses of the parsers: t/fuzz/fuzz_*.c, built with clang,
# ASan and UBSan, each run for FUZZ_TIME seconds from its seed corpus
# (copied: the committed corpus is never written to).

FUZZERS    := $(patsubst $(TOP)/t/fuzz/%.c,$(BUILD)/fuzz/%,\
                $(wildcard $(TOP)/t/fuzz/fuzz_*.c))
FUZZ_TIME  ?= 10

$(BUILD)/fuzz/%: $(TOP)/t/fuzz/%.c $(PURE_SRCS) \
                 $(wildcard $(TOP)/ngx_fedi_module/*.h)
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -I$(TOP)/ngx_fedi_module -o $@ $< $(PURE_SRCS) \
	    -ljansson -lcrypto -lcrypt -lm

.PHONY: fuzz-build
fuzz-build: $(FUZZERS)

fuzz: fuzz-build
	@set -e; for f in $(FUZZERS); do \
	    name=$$(basename $$f | sed 's/^fuzz_//'); \
	    work=$(BUILD)/fuzz/corpus-$$name; \
	    rm -rf $$work; mkdir -p $$work; \
	    cp $(TOP)/t/fuzz/corpus/$$name/* $$work/ 2>/dev/null || true; \
	    echo "fuzz $$name: $(FUZZ_TIME)s"; \
	    $$f -max_total_time=$(FUZZ_TIME) -max_len=65536 -print_final_stats=1 \
	        $$work >$(BUILD)/fuzz/$$name.log 2>&1 \
	        || { tail -40 $(BUILD)/fuzz/$$name.log; exit 1; }; \
	    grep -E 'stat::number_of_executed_units|stat::peak_rss' \
	        $(BUILD)/fuzz/$$name.log; \
	done
