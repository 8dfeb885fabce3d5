# C unit tests of the nginx-free code: t/unit/test_*.c, each linked with
# every pure source, built with ASan and UBSan, printing TAP for prove.

UNIT_TESTS := $(patsubst $(TOP)/t/unit/%.c,$(BUILD)/unit/%,\
                $(wildcard $(TOP)/t/unit/test_*.c))
UNIT_CFLAGS := $(CFLAGS_W) -g -O1 -fsanitize=address,undefined \
               -fno-omit-frame-pointer -I$(TOP)/ngx_fedi_module \
               -I$$(pg_config --includedir)

$(BUILD)/unit/%: $(TOP)/t/unit/%.c $(PURE_SRCS) \
                 $(wildcard $(TOP)/ngx_fedi_module/*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) -ljansson -lcrypto -lcrypt -lm

.PHONY: unit-build
unit-build: $(UNIT_TESTS)

unit: unit-build
	prove --exec '' $(UNIT_TESTS)
