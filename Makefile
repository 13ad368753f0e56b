# The single entry point for people and CI. `make demo` runs the product on a
# local cluster; `make test` runs every test against real servers.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install system-deps testbed-binaries fluxv1-binaries registry-binary bench-binaries image-deps image lock check lint fmt typecheck test test-fast reliability conformance-full demo demo-down bench bench-registry clean

help:
	@echo "make demo       run the seed walkthrough on a local cluster (builds Kubernetes on first run)"
	@echo "make test       lint, type-check and run all tests against the local test bed"
	@echo "make bench      benchmarks; writes docs/benchmarks.md"
	@echo "make reliability  the heavy fault scenarios; figures in .testbed/reliability.json"
	@echo "make demo-down  stop everything the demo started"
	@echo "make image      build the fluxd image (podman or docker; no registry needed)"
	@echo "make lock       pin the image's Python packages to the versions in .venv"

# The runtime packages at the image's pinned versions: tests run what ships.
$(STAMP): pyproject.toml deploy/image/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c deploy/image/requirements.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the test bed runs: etcd, OpenSSH's sshd. Needs root (or sudo).
system-deps:
	bash tests/fluxtestbed/install-system-deps.sh

# Kubernetes control plane, kubectl and kwok, built once from the pinned Go
# modules and cached under $${XDG_CACHE_HOME:-~/.cache}/fluxpy-testbed.
testbed-binaries:
	bash tests/fluxtestbed/build-kube.sh >/dev/null

# Flux v1's own fluxctl and fluxd 1.25.4, built once from the Go module and
# cached the same way: the conformance tests run them against our fluxd.
fluxv1-binaries:
	bash tests/fluxtestbed/build-fluxv1.sh >/dev/null

# The CNCF distribution registry, built once from its Go module and cached the
# same way: fluxd's image scanning is tested against it.
registry-binary:
	bash tests/fluxtestbed/build-registry.sh >/dev/null

# The bench's peers and its ceiling client: Flux v2's kustomize-controller
# (with the source.toolkit.fluxcd.io CRDs) and a small Go replay client,
# built once with the machine's Go and cached like the binaries above.
bench-binaries: fluxv1-binaries
	bash tests/fluxtestbed/build-fluxv2.sh >/dev/null
	bash tests/fluxtestbed/build-ceiling.sh >/dev/null

lint: $(STAMP)
	$(VENV)/bin/ruff check daemon cli common tests
	$(VENV)/bin/ruff format --check daemon cli common tests
	$(VENV)/bin/lint-imports --no-cache

fmt: $(STAMP)
	$(VENV)/bin/ruff format daemon cli common tests
	$(VENV)/bin/ruff check --fix daemon cli common tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --config-file tests/mypy.ini tests

check: lint typecheck

test: $(STAMP) system-deps testbed-binaries fluxv1-binaries registry-binary bench-binaries image check
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest tests/unit

# Every case of the write commands' conformance with Flux v1 (a part runs in `make test`).
conformance-full: $(STAMP) system-deps testbed-binaries fluxv1-binaries
	$(PY) -m pytest tests/conformance -m conformance_full

# The heavy fault scenarios (the quick ones run with `make test`); see docs/reliability.md.
reliability: $(STAMP) system-deps testbed-binaries fluxv1-binaries
	$(PY) -m pytest tests/reliability -m reliability

demo: $(STAMP) system-deps testbed-binaries image
	PYTHONPATH=tests $(PY) -m fluxtestbed.demo $(DEMO_ARGS)

demo-down: $(STAMP)
	PYTHONPATH=tests $(PY) -m fluxtestbed down

bench: $(STAMP) system-deps testbed-binaries registry-binary bench-binaries
	PYTHONPATH=tests $(PY) -m fluxtestbed.bench $(BENCH_ARGS)

# A full registry scan of 20 images x 200 tags: time, requests, memory.
bench-registry: $(STAMP) registry-binary
	PYTHONPATH=tests:daemon $(PY) -m fluxtestbed.registry_bench $(BENCH_ARGS)

# podman (with runc) and mmdebstrap, for the image. Needs root (or sudo).
image-deps:
	bash deploy/image/install-build-deps.sh

# The fluxd image on a Debian base made here from packages (no registry);
# returns in about a second when nothing it reads changed. docs/deploy.md.
image: image-deps
	bash deploy/image/build.sh

# deploy/image/requirements.txt: the runtime closure of pyproject at .venv's
# versions. To move to newer versions: upgrade them in .venv, then make lock.
lock: $(STAMP)
	PYTHONPATH=tests $(PY) -m fluxtestbed.image lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .testbed
