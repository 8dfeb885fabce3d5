# libFuzzer harnesses of the parsers and writers: t/fuzz/fuzz_*.c, built
# with clang, ASan and UBSan (a report is a crash), each run for
# FUZZ_SECONDS from a scratch copy of t/fuzz/corpus/NAME (the committed
# corpus is never written to; crashes land in $(BUILD)/fuzz).
#
#   make fuzz                       every fuzzer, 20 s each
#   make fuzz FUZZ_SECONDS=300 FUZZ_ONLY=params
#
# `make test` passes FUZZ_TIME, which counts when given on the command line.

FUZZ_CC      ?= clang
ifeq ($(origin FUZZ_TIME),command line)
FUZZ_SECONDS ?= $(FUZZ_TIME)
endif
FUZZ_SECONDS ?= 20
FUZZ_MAX_LEN ?= 4096
FUZZ_ONLY    ?=
FUZZ_PG_INC  := $(shell pg_config --includedir 2>/dev/null)
FUZZERS      := $(patsubst $(TOP)/t/fuzz/%.c,$(BUILD)/fuzz/%,\
                  $(wildcard $(TOP)/t/fuzz/fuzz_*.c))
FUZZ_RUN     := $(if $(FUZZ_ONLY),$(foreach f,$(FUZZ_ONLY),\
                  $(BUILD)/fuzz/fuzz_$(f)),$(FUZZERS))
FUZZ_CFLAGS  := $(CFLAGS_W) -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -I$(TOP)/ngx_fedi_module \
                -I$(TOP)/t/unit $(if $(FUZZ_PG_INC),-I$(FUZZ_PG_INC))

$(BUILD)/fuzz/%: $(TOP)/t/fuzz/%.c $(PURE_SRCS) \
                 $(wildcard $(TOP)/ngx_fedi_module/*.h $(TOP)/t/unit/*.h)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(PURE_SRCS) \
	    -ljansson -lcrypto -lcrypt -lidn2 -lgumbo -lm

.PHONY: fuzz-build fuzz
fuzz-build: $(FUZZ_RUN)

fuzz: fuzz-build
	@set -e; for f in $(FUZZ_RUN); do \
	    name=$$(basename $$f | sed 's/^fuzz_//'); \
	    work=$(BUILD)/fuzz/corpus-$$name; \
	    log=$(BUILD)/fuzz/$$name.log; \
	    rm -rf $$work; mkdir -p $$work; \
	    if [ -d $(TOP)/t/fuzz/corpus/$$name ]; then \
	        cp $(TOP)/t/fuzz/corpus/$$name/* $$work/; \
	    fi; \
	    echo "fuzz $$name: $(FUZZ_SECONDS)s"; \
	    if ! $$f -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
	            -timeout=10 -print_final_stats=1 \
	            -artifact_prefix=$(BUILD)/fuzz/$$name- $$work \
	            >$$log 2>&1; then \
	        tail -60 $$log; \
	        echo "fuzz $$name: FAILED, see $$log and" \
	             "$(BUILD)/fuzz/$$name-*"; \
	        exit 1; \
	    fi; \
	    awk '/stat::number_of_executed_units/ { n = $$2 } \
	         /stat::average_exec_per_sec/ { r = $$2 } \
	         /stat::peak_rss_mb/ { m = $$2 } \
	         END { printf "fuzz %s: %d runs, %d exec/s, %d MB, no crash\n", \
	               "'$$name'", n, r, m }' $$log; \
	done
