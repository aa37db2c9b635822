# The two set-up commands (see README): `make demo` and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
IPD     := $(VENV)/bin/ipd
STAMP   := $(VENV)/.installed
SCRATCH ?= $(or $(TMPDIR),/tmp)/ipd-demo

.PHONY: demo test bench clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	$(PY) -m pip check
	touch $(STAMP)

# Build a scratch repository from the bundled real trials, then pull a pinned version as a requestor.
demo: $(STAMP)
	@rm -rf $(SCRATCH) && mkdir -p $(SCRATCH)
	@echo "== the bundled deliveries (shipped inside the lifelines package)"
	$(eval DELIVERIES := $(shell $(PY) -c 'import lifelines, pathlib; print(pathlib.Path(lifelines.__file__).parent / "datasets")'))
	@echo "$(DELIVERIES)/ACTG175.csv  $(DELIVERIES)/lymph_node.csv"
	@echo "== a curator creates a repository and ingests two trials"
	$(IPD) init $(SCRATCH)/repository --remote $(SCRATCH)/remote
	$(IPD) ingest actg175 $(DELIVERIES)/ACTG175.csv --key pidnum --arm arms -C $(SCRATCH)/repository \
	    --origin "lifelines: datasets/ACTG175.csv (ACTG 175, Hammer et al. 1996)"
	$(IPD) ingest gbsg2 $(DELIVERIES)/lymph_node.csv --key id --arm hormone --randomised diagdateb -C $(SCRATCH)/repository \
	    --origin "lifelines: datasets/lymph_node.csv (GBSG2, Schumacher et al. 1994)"
	$(IPD) list -C $(SCRATCH)/repository
	$(IPD) log actg175 -C $(SCRATCH)/repository
	$(IPD) show gbsg2@v1 -C $(SCRATCH)/repository
	@echo "== a requestor clones the repository elsewhere and pulls a pinned version"
	git clone -q $(SCRATCH)/repository $(SCRATCH)/requestor-clone
	$(IPD) pull actg175@v1 --from $(SCRATCH)/requestor-clone --out $(SCRATCH)/pulled --format csv
	cat $(SCRATCH)/pulled/ipd-pin.json
	@echo "== done: everything is under $(SCRATCH)"

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(SCRATCH)
