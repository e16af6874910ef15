# The two commands of the README: `make demo` and `make test`.
# Each installs what it needs: a virtualenv with prodwall and, when run as
# root, the Debian packages the built-in lab uses.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_DEBS := iproute2 nftables dnsmasq openssh-server util-linux chromium python3 python3-numpy python3-boto3 auditd aide nmap
PYTEST_ARGS ?=

.PHONY: test demo lint typecheck lab-packages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ansible,lab]'
	touch $(STAMP)

# Debian packages for the lab (and chromium for the report's browser test): only as root (namespaces need it anyway), and
# only the ones that are missing, so repeated runs cost nothing.
lab-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(LAB_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests checks benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Two phases: unit tests (no root, nothing shared) two at a time with pytest-xdist; then
# the lab tests one after another (the lab's names are fixed). Both always run; the
# target fails if either did.
test: $(STAMP) lab-packages lint typecheck
	@rc=0; \
	$(BIN)/python -m pytest -m "not lab" -n 2 $(PYTEST_ARGS) || rc=$$?; \
	$(BIN)/python -m pytest -m lab $(PYTEST_ARGS) || rc=$$?; \
	exit $$rc

# The main job on the built-in lab: sealed and leaky profiles, the whole suite
# from the dev and test vantages, reports under reports/demo/, a summary.
demo: $(STAMP) lab-packages
	$(BIN)/prodwall validate inventories/example.yaml inventories/lab.yaml
	$(BIN)/prodwall demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
