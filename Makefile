# ngx_fedi: glue only.  `make` builds the module and fedictl, `make run`
# starts an embedded instance, `make test` runs every test, `make bench`
# measures.  See README.md.

SHELL       := /bin/bash
TOP         := $(CURDIR)
BUILD       := $(TOP)/build
NGX_SRC     := /usr/share/nginx/src
CC          ?= cc
CFLAGS_W    := -Wall -Wextra -Wno-unused-parameter -Werror

# Debian packages the build, the instance and the tests need.
DEB_BUILD   := nginx nginx-dev libpq-dev libjansson-dev libssl-dev \
               libcurl4-openssl-dev libcrypt-dev libidn2-dev libgumbo-dev pkg-config gcc make \
               libvips-dev libmagic-dev libpcre2-dev
DEB_RUN     := postgresql postgresql-contrib postgresql-common curl ffmpeg
DEB_TEST    := perl libjson-pp-perl libio-socket-ssl-perl \
               libcrypt-openssl-rsa-perl wrk clang libclang-rt-14-dev \
               nodejs npm dnsmasq-base

# nginx-free sources: unit-tested and fuzzed on their own
PURE_SRCS   := $(wildcard $(TOP)/ngx_fedi_module/fedi_json.c \
                          $(TOP)/ngx_fedi_module/fedi_params.c \
                          $(TOP)/ngx_fedi_module/fedi_scope.c \
                          $(TOP)/ngx_fedi_module/fedi_crypto.c \
                          $(TOP)/ngx_fedi_module/fedi_httpsig.c \
                          $(TOP)/ngx_fedi_module/fedi_html.c \
                          $(TOP)/ngx_fedi_module/fedi_sql.c \
                          $(TOP)/ngx_fedi_module/fedi_addr.c \
                          $(TOP)/ngx_fedi_module/fedi_ws.c \
                          $(TOP)/ngx_fedi_module/fedi_blurhash.c \
                          $(TOP)/ngx_fedi_module/fedi_sanitize.c \
                          $(TOP)/ngx_fedi_module/fedi_filter_text.c)
MOD_SRCS    := $(wildcard $(TOP)/ngx_fedi_module/*.c $(TOP)/ngx_fedi_module/*.h) \
               $(TOP)/config

.PHONY: all module asan deps deps-test deps-npm run stop test unit fuzz bench clean

all: module $(BUILD)/fedictl

deps:
	@$(TOP)/tools/deps.sh $(DEB_BUILD) $(DEB_RUN)

# A Node.js that brings its own npm (NodeSource's) conflicts with Debian's
# npm package: ask for the package only when there is no npm at all.
deps-test:
	@$(TOP)/tools/deps.sh $(DEB_BUILD) $(DEB_RUN) \
	    $(filter-out $(if $(shell command -v npm),npm),$(DEB_TEST))

module: $(BUILD)/ngx_fedi_module.so

asan: $(BUILD)/asan/ngx_fedi_module.so

# nginx-dev ships the configured source tree (headers + auto/) of the
# exact nginx we load into; copy it and build only our dynamic module.
$(BUILD)/ngx_fedi_module.so: $(MOD_SRCS)
	@$(TOP)/tools/build-module.sh $(BUILD)/nginx "$(CFLAGS_W)" ""
	cp $(BUILD)/nginx/objs/ngx_http_fedi_module.so $@.tmp && mv -f $@.tmp $@

$(BUILD)/asan/ngx_fedi_module.so: $(MOD_SRCS)
	@mkdir -p $(BUILD)/asan
	@$(TOP)/tools/build-module.sh $(BUILD)/nginx-asan \
	    "$(CFLAGS_W) -fsanitize=address -fno-omit-frame-pointer -g -O1" \
	    "-fsanitize=address"
	cp $(BUILD)/nginx-asan/objs/ngx_http_fedi_module.so $@.tmp && mv -f $@.tmp $@

FEDICTL_SRCS := $(TOP)/tools/fedictl.c $(TOP)/tools/fedictl_db.c \
                $(TOP)/tools/fedictl_domains.c \
                $(TOP)/tools/fedictl_accounts.c \
                $(TOP)/tools/fedictl_media.c \
                $(TOP)/tools/fedictl_deliveries.c \
                $(TOP)/tools/fedictl_reports.c \
                $(TOP)/tools/fedictl_move.c \
                $(TOP)/tools/fedictl_emoji.c \
                $(TOP)/ngx_fedi_module/fedi_sql.c \
                $(TOP)/ngx_fedi_module/fedi_crypto.c \
                $(TOP)/ngx_fedi_module/fedi_addr.c \
                $(TOP)/ngx_fedi_module/fedi_media_s3.c

$(BUILD)/fedictl: $(FEDICTL_SRCS) $(TOP)/tools/fedictl.h \
                  $(wildcard $(TOP)/ngx_fedi_module/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_W) -O2 -I$(TOP)/ngx_fedi_module -I$$(pg_config --includedir) \
	    -o $@ $(FEDICTL_SRCS) -lpq -lcrypto -lcrypt -lidn2 -lcurl

# ---- running, testing, measuring: tools/run.sh, t/lib/with-test-pg.sh ----

# fedictl joins the build once its source is there
FEDICTL     := $(if $(wildcard $(TOP)/tools/fedictl.c),$(BUILD)/fedictl)
HAVE_UNIT   := $(wildcard $(TOP)/t/unit/unit.mk)
HAVE_FUZZ   := $(wildcard $(TOP)/t/fuzz/fuzz.mk)

# `make test TESTS=t/core_pg.t FEDI_ASAN=0 PROVE_FLAGS=-v` narrows a run
TESTS       ?= $(sort $(wildcard t/*.t))
FEDI_ASAN   ?= 1
PROVE_FLAGS ?=
FUZZ_TIME   ?= 10

run: deps module $(FEDICTL)
	@$(TOP)/tools/run.sh

stop:
	@$(TOP)/tools/stop.sh

# npm packages of the JavaScript test drivers (t/*/package-lock.json)
deps-npm:
	@for lock in $(wildcard $(TOP)/t/*/package-lock.json); do \
	    d=$$(dirname $$lock); \
	    [ -f $$d/node_modules/.package-lock.json ] \
	        && [ $$d/node_modules/.package-lock.json -nt $$lock ] \
	        || (cd $$d && npm ci --no-audit --no-fund --loglevel=error) \
	        || exit 1; \
	done

# In order: packages, build, C unit tests, the ASan build, the integration
# tests (one throw-away PostgreSQL for the whole run), a short fuzz run.
test:
	@$(MAKE) --no-print-directory deps-test deps-npm
	@$(MAKE) --no-print-directory module $(FEDICTL)
	$(if $(HAVE_UNIT),@$(MAKE) --no-print-directory unit)
	$(if $(filter 1,$(FEDI_ASAN)),@$(MAKE) --no-print-directory asan)
	cd $(TOP) && FEDI_ASAN=$(FEDI_ASAN) t/lib/with-test-pg.sh \
	    prove -I t/lib $(PROVE_FLAGS) $(TESTS)
	$(if $(HAVE_FUZZ),@$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(FUZZ_TIME))

bench: deps-test module $(FEDICTL)
	@$(TOP)/tools/bench.sh

clean:
	rm -rf $(BUILD)

# the C unit tests (make unit) and the fuzzers (make fuzz)
-include $(TOP)/t/unit/unit.mk $(TOP)/t/fuzz/fuzz.mk
