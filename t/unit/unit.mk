# C unit tests of the nginx-free code: t/unit/test_*.c, each linked with
# every pure source, built with ASan and UBSan (a report fails the test),
# printing TAP for prove.  `make unit`; `make unit CC=clang` for clang.

UNIT_TESTS  := $(patsubst $(TOP)/t/unit/%.c,$(BUILD)/unit/%,\
                 $(wildcard $(TOP)/t/unit/test_*.c))
UNIT_PG_INC := $(shell pg_config --includedir 2>/dev/null)
UNIT_CFLAGS := $(CFLAGS_W) -g -O1 -fsanitize=address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer \
               -I$(TOP)/ngx_fedi_module -I$(TOP)/t/unit \
               $(if $(UNIT_PG_INC),-I$(UNIT_PG_INC))

$(BUILD)/unit/%: $(TOP)/t/unit/%.c $(PURE_SRCS) \
                 $(wildcard $(TOP)/ngx_fedi_module/*.h $(TOP)/t/unit/*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) -ljansson -lcrypto -lcrypt -lidn2 -lgumbo -lm \
	    $(UNIT_EXTRA)

# the blurhash test loads the reference pictures with libvips
$(BUILD)/unit/test_blurhash: UNIT_EXTRA = $(shell pkg-config --cflags --libs vips)

.PHONY: unit-build unit
unit-build: $(UNIT_TESTS)

unit: unit-build
	prove --exec '' $(UNIT_TESTS)
