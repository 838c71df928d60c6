# SPDX-License-Identifier: GPL-2.0
# CASIO: EDF scheduling class for Linux in Rust -- top-level driver.
#
#   make run     setup + kernel + initramfs + boot the demo (casio.run=demo)
#   make test    setup + host tests + DEBUG kernel + boot the guest tests
#
# See README.md for the environment variables.

SHELL := /bin/bash
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CASIO_CACHE ?= $(HOME)/.cache/casio
CARGO_HOME ?= $(HOME)/.cargo
export CASIO_CACHE
export PATH := $(CARGO_HOME)/bin:$(PATH)

# DEBUG=1 adds config/debug.config (lockdep, atomic-sleep, RCU, hung-task and
# lockup checkers). Default: on for `make test`, off for run/shell/kernel.
DEBUG ?=
RUN_DEBUG  := $(if $(DEBUG),$(DEBUG),0)
TEST_DEBUG := $(if $(DEBUG),$(DEBUG),1)
casio_flavor = $(if $(filter 1 y yes on true,$(1)),debug,base)

# KERNEL selects the kernel base (major.minor) of setup, kernel, run, shell,
# boot-tests, bench*, fuzz and check-bisect: the source linux-source-<base>,
# the series patches/<base>/ and the base's toolchain pins and LLVM
# (scripts/lib.sh, kernel_pins).
# Its kernels are $(CASIO_CACHE)/bzImage.<base>-<flavor>.
KERNEL ?= 6.1
# casio_bzimage DEBUG[,PREFIX]: the kernel of base KERNEL for that DEBUG
# value; PREFIX "off-" names the CASIO=off one.
casio_bzimage = $(CASIO_CACHE)/bzImage.$(KERNEL)-$(2)$(call casio_flavor,$(1))
# `make test` tests every base of TEST_KERNELS: KERNEL when it is given
# (make test KERNEL=6.12), else every supported base.
ifneq ($(filter command line environment,$(origin KERNEL)),)
TEST_KERNELS ?= $(KERNEL)
endif
TEST_KERNELS ?= 6.1 6.12 7.3

# Host tests of `make test`: the userspace workspace (Cargo.toml at the
# root: tools/, tests/guest, bench/guest, bench/host), the EDF core, which
# stays out of the workspace to build alone with the kernel's rustc, and
# the Python unit tests of the bench report.
EDF_CRATE := rust_casio/edf

.PHONY: help setup kernel guest initramfs run shell test test-kernel host-test boot-tests check-bisect bench bench-quick \
	bench-overhead fuzz \
	judge-selftest clean kernel-clean distclean

help:
	@echo "CASIO targets:"
	@echo "  make run          build everything and boot the demo in QEMU (casio.run=demo)"
	@echo "  make test         host tests, then per base of TEST_KERNELS: DEBUG kernel, checks, boot the guest tests"
	@echo "                    (test-kernel: the per-base part for KERNEL alone)"
	@echo "  make shell        interactive shell in the guest (Ctrl-A X quits)"
	@echo "  make setup        install/check toolchains and packages"
	@echo "  make kernel       setup, then build bzImage (DEBUG=1 for the debug config)"
	@echo "  make initramfs    build the guest programs and the initramfs"
	@echo "  make host-test    only the host-side tests"
	@echo "  make bench        benchmarks in one boot + the CASIO=y/off overhead boots, rewrites bench/REPORT.md"
	@echo "                    (bench-quick: short, one boot; bench-overhead: only the overhead boots)"
	@echo "  make check-bisect build after every patch, CASIO on and off (slow)"
	@echo "  make fuzz         1,000,000 random calls with hotplug, then 1,000 tasks (FUZZ_SEED=, FUZZ_CALLS=)"
	@echo "  make kernel CASIO=n  the stock kernel of the same base and config (bzImage.<base>-stock-*)"
	@echo "  make kernel CASIO=off  the series with every CONFIG_SCHED_CASIO_* off (bzImage.<base>-off-*)"
	@echo "  make boot-tests   boot the guest tests on the already built kernel"
	@echo "  make clean | kernel-clean | distclean"
	@echo "KERNEL=<base> selects the kernel base (default 6.1; now: $(KERNEL)); TEST_KERNELS: $(TEST_KERNELS)"
	@echo "cache: $(CASIO_CACHE)"

# KERNELS="6.1 6.12" or KERNEL=all (every base with pins, 7.3 too) installs
# for several bases.
setup:
	KERNEL=$(KERNEL) KERNELS="$(KERNELS)" scripts/setup.sh

# Setup first: the base's toolchain, and its source where it comes from
# another Debian suite (7.3).
kernel:
	$(MAKE) setup
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh

guest:
	scripts/build-guest.sh

initramfs: guest
	qemu/build-initramfs.sh

run:
	$(MAKE) setup
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh
	$(MAKE) initramfs
	BZIMAGE=$(call casio_bzimage,$(RUN_DEBUG)) qemu/run.sh demo

shell:
	$(MAKE) setup
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh
	$(MAKE) initramfs
	BZIMAGE=$(call casio_bzimage,$(RUN_DEBUG)) qemu/run.sh shell

judge-selftest:
	qemu/test-judge.sh

host-test: judge-selftest
	@echo "== cargo test --workspace"
	cargo test --workspace
	@echo "== cargo test in $(EDF_CRATE)"
	cd $(EDF_CRATE) && cargo test
	@echo "== python3 -m unittest discover -s bench/report"
	python3 -m unittest discover -s bench/report
	@if [ -f scripts/check-series.sh ]; then \
		echo "== scripts/check-series.sh"; bash scripts/check-series.sh; \
	else echo "== scripts/check-series.sh: not present, skipped"; fi

boot-tests:
	BZIMAGE=$(call casio_bzimage,$(TEST_DEBUG)) qemu/run.sh tests

# Setup for every base, the host tests and the guest programs once, then
# test-kernel for each base of TEST_KERNELS in turn (the first failure stops).
test:
	$(MAKE) setup KERNELS="$(TEST_KERNELS)"
	$(MAKE) host-test
	$(MAKE) initramfs
	@set -e; for k in $(TEST_KERNELS); do \
		echo "== make test: linux $$k"; \
		$(MAKE) test-kernel KERNEL=$$k; \
	done
	@echo "== make test: passed for linux $(TEST_KERNELS)"

# What make test runs per base: the DEBUG kernel, the uapi headers and the
# patch review of the base's tree, a quick benchmark run and the guest tests.
# Needs the initramfs (make initramfs).
test-kernel:
	DEBUG=$(TEST_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh
	KERNEL=$(KERNEL) scripts/check-uapi.sh
	DEBUG=$(TEST_DEBUG) KERNEL=$(KERNEL) scripts/check-patches.sh
	BZIMAGE=$(call casio_bzimage,$(TEST_DEBUG)) bench/run.sh --quick
	BZIMAGE=$(call casio_bzimage,$(TEST_DEBUG)) qemu/run.sh tests

# Benchmarks (bench/README.md): a full run rewrites bench/REPORT.md; the quick
# one checks the machinery and writes its report under $(CASIO_CACHE)/bench.
# The overhead part (bench/overhead.sh) boots the CASIO kernel and the same
# tree with CASIO=off alternately; CASIO_QEMU_LOCK=FILE makes it take that
# lock for each boot.
bench:
	$(MAKE) setup
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) CASIO=off scripts/build-kernel.sh
	BZIMAGE=$(call casio_bzimage,$(RUN_DEBUG)) bench/run.sh
	BZIMAGE_ON=$(call casio_bzimage,$(RUN_DEBUG)) \
		BZIMAGE_OFF=$(call casio_bzimage,$(RUN_DEBUG),off-) bench/overhead.sh

bench-overhead:
	$(MAKE) setup
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) CASIO=off scripts/build-kernel.sh
	BZIMAGE_ON=$(call casio_bzimage,$(RUN_DEBUG)) \
		BZIMAGE_OFF=$(call casio_bzimage,$(RUN_DEBUG),off-) bench/overhead.sh

bench-quick:
	$(MAKE) setup
	DEBUG=$(RUN_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh
	BZIMAGE=$(call casio_bzimage,$(RUN_DEBUG)) bench/run.sh --quick

# The long fuzz (README, reliability): FUZZ_CALLS random calls on 4 vCPUs
# with hotplug, then the stress run of 1,000 periodic tasks for 60 s. Both
# are judged like the other modes: exit status 0 and no splat. Their ring
# buffer holds the whole run, so that the guest's own log check sees it.
FUZZ_SEED ?= 0
FUZZ_CALLS ?= 1000000
FUZZ_SECS ?= 3000
FUZZ_TASKS ?= 1000
fuzz:
	$(MAKE) setup
	DEBUG=$(TEST_DEBUG) KERNEL=$(KERNEL) scripts/build-kernel.sh
	$(MAKE) initramfs
	rc=0; \
	BZIMAGE=$(call casio_bzimage,$(TEST_DEBUG)) QEMU_SMP=4 QEMU_APPEND="log_buf_len=8M $(QEMU_APPEND)" \
		QEMU_TIMEOUT=$$(($(FUZZ_SECS) + 600)) CONSOLE_LOG=$(CASIO_CACHE)/logs/console-fuzz.log \
		CASIO_ARGS=--seed,$(FUZZ_SEED),--calls,$(FUZZ_CALLS),--secs,$(FUZZ_SECS) \
		qemu/run.sh fuzz || rc=1; \
	BZIMAGE=$(call casio_bzimage,$(TEST_DEBUG)) QEMU_SMP=4 QEMU_APPEND="log_buf_len=8M $(QEMU_APPEND)" \
		QEMU_TIMEOUT=900 CONSOLE_LOG=$(CASIO_CACHE)/logs/console-fuzz-stress.log \
		CASIO_ARGS=--seed,$(FUZZ_SEED),--stress,$(FUZZ_TASKS),--secs,60 \
		qemu/run.sh fuzz || rc=1; \
	exit $$rc

# Slow: builds the kernel after every patch with CASIO on and off.
check-bisect:
	KERNEL=$(KERNEL) scripts/check-bisect.sh

# Build outputs of the checkout (with the per-crate target/ directories of
# the time before the workspace) and the small artefacts in the cache.
clean:
	rm -rf target $(EDF_CRATE)/target tools/*/target tests/guest/target bench/*/target
	rm -rf $(CASIO_CACHE)/guest-bin $(CASIO_CACHE)/initramfs.cpio.gz $(CASIO_CACHE)/logs

# Kernel object trees (the next build is a full one; ccache makes it quicker).
kernel-clean:
	rm -rf $(CASIO_CACHE)/linux-*/build-* $(CASIO_CACHE)/bzImage*

# Everything in the cache, including the unpacked sources and ccache.
distclean: clean
	rm -rf $(CASIO_CACHE)
