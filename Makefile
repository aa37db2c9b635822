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
	@echo "ipd is installed as $(IPD); to type plain 'ipd': source $(VENV)/bin/activate"

# Build a scratch repository from the bundled real trials, then pull a pinned version as a requestor.
demo: $(STAMP)
	@rm -rf $(SCRATCH) && mkdir -p $(SCRATCH)
	@echo "== the bundled deliveries (shipped inside the lifelines package)"
	$(eval DELIVERIES := $(shell $(PY) -c 'import lifelines, pathlib; print(pathlib.Path(lifelines.__file__).parent / "datasets")'))
	@echo "$(DELIVERIES)/ACTG175.csv  $(DELIVERIES)/lymph_node.csv"
	@echo "== a curator creates a curation repository (restricted) paired with a release catalogue, and ingests two trials"
	$(IPD) init $(SCRATCH)/repository --remote $(SCRATCH)/remote --catalogue $(SCRATCH)/catalogue.git
	$(IPD) ingest actg175 $(DELIVERIES)/ACTG175.csv --key pidnum --arm arms -C $(SCRATCH)/repository \
	    --origin "lifelines: datasets/ACTG175.csv (ACTG 175, Hammer et al. 1996)"
	$(IPD) ingest gbsg2 $(DELIVERIES)/lymph_node.csv --key id --arm hormone --randomised diagdateb -C $(SCRATCH)/repository \
	    --origin "lifelines: datasets/lymph_node.csv (GBSG2, Schumacher et al. 1994)"
	$(IPD) list -C $(SCRATCH)/repository
	$(IPD) log actg175 -C $(SCRATCH)/repository
	$(IPD) show gbsg2@v1 -C $(SCRATCH)/repository
	@echo "== an analyst of the curation team clones the repository and pulls a pinned version"
	git clone -q $(SCRATCH)/repository $(SCRATCH)/analyst-clone
	$(IPD) pull actg175@v1 --from $(SCRATCH)/analyst-clone --out $(SCRATCH)/pulled --format csv
	cat $(SCRATCH)/pulled/ipd-pin.json
	@echo "== the curator records consent (none was delivered with this public data set), plans, approves and releases v1"
	$(IPD) release consent actg175 --refused sharing --none -C $(SCRATCH)/repository \
	    --reason "public data set published in lifelines; no consent restrictions were delivered"
	$(IPD) release consent actg175 --refused commercial --none -C $(SCRATCH)/repository \
	    --reason "public data set published in lifelines; no consent restrictions were delivered"
	$(IPD) release plan actg175@v1 --save -C $(SCRATCH)/repository
	$(IPD) release approve actg175@v1 --by "Dr A. Director (demo)" --note "demo approval" -C $(SCRATCH)/repository
	$(IPD) release actg175@v1 --tier noncommercial -C $(SCRATCH)/repository
	@echo "== a requestor outside the team holds only the catalogue URL (and read access to the release remote)"
	$(IPD) pull actg175@v1 --tier noncommercial --from $(SCRATCH)/catalogue.git --out $(SCRATCH)/release-pulled
	@echo "== the curator raises a query, records the answer as a correction and cuts v2 (an illustration: the value is made up)"
	$(IPD) query open actg175 --key 10056 --column cd40 --text "CD4 422 at baseline: please confirm from the CRF" -C $(SCRATCH)/repository
	$(IPD) query answer actg175-q1 --text "CRF says 442 (illustration)" -C $(SCRATCH)/repository
	$(IPD) correct actg175 --key 10056 --column cd40 --value 442 --reason "CD4 as on the CRF (illustration)" \
	    --public-reason "baseline CD4 count corrected from the case report form" --query actg175-q1 -C $(SCRATCH)/repository
	$(IPD) commit actg175 -m "Query round 1" -C $(SCRATCH)/repository
	$(IPD) diff actg175@v1 actg175@v2 -C $(SCRATCH)/repository
	@echo "== the analyst learns that v2 supersedes their v1, and what changed, then upgrades"
	git -C $(SCRATCH)/analyst-clone pull -q
	$(IPD) status $(SCRATCH)/pulled
	$(IPD) pull --upgrade $(SCRATCH)/pulled
	@echo "== v2 is approved and released; the catalogue gets it with release notes (released values only)"
	$(IPD) release plan actg175@v2 -C $(SCRATCH)/repository
	$(IPD) release approve actg175@v2 --by "Dr A. Director (demo)" --note "demo approval" -C $(SCRATCH)/repository
	$(IPD) release actg175@v2 --tier noncommercial -C $(SCRATCH)/repository
	@echo "== the requestor, still holding only the catalogue, learns what changed in their release, then upgrades"
	$(IPD) status $(SCRATCH)/release-pulled
	$(IPD) pull --upgrade $(SCRATCH)/release-pulled
	@echo "== the curator checks history, data, packages and the catalogue's publication records, and audits the catalogue"
	$(IPD) lineage actg175@v2/noncommercial -C $(SCRATCH)/repository
	$(IPD) verify --rebuild -C $(SCRATCH)/repository
	$(IPD) catalogue audit -C $(SCRATCH)/repository
	@echo "== a topic: two PBC trials (R's survival: D-penicillamine and UDCA, each against placebo) pooled to one dictionary"
	$(IPD) ingest pbc tests/data/real/pbc.csv --key id --arm trt -C $(SCRATCH)/repository
	$(IPD) ingest udca tests/data/real/udca.csv --key id --arm trt --randomised entry.dt -C $(SCRATCH)/repository
	$(IPD) topic init pbc-treatment --dictionary datasets/pbc-treatment/topic.yaml -C $(SCRATCH)/repository
	$(IPD) topic map pbc-treatment pbc@v1 --mapping datasets/pbc-treatment/mappings/pbc.yaml -C $(SCRATCH)/repository
	$(IPD) topic map pbc-treatment udca@v1 --mapping datasets/pbc-treatment/mappings/udca.yaml -C $(SCRATCH)/repository
	$(IPD) topic build pbc-treatment -m "PBC and UDCA pooled" -C $(SCRATCH)/repository
	$(IPD) topic check pbc-treatment -C $(SCRATCH)/repository
	$(IPD) analyse pbc-treatment --treatment arm --active active --outcome days,event --plot $(SCRATCH)/forest.png -C $(SCRATCH)/repository
	@echo "== a correction in UDCA (an illustration): the topic is stale, is built again, and the analysis moves"
	$(IPD) correct udca --key 5 --column last.dt --value 1993-01-31 --reason "illustration: CRF date" -C $(SCRATCH)/repository
	$(IPD) commit udca -m "illustration" -C $(SCRATCH)/repository
	$(IPD) topic status pbc-treatment -C $(SCRATCH)/repository
	$(IPD) topic build pbc-treatment -m "udca corrected" -C $(SCRATCH)/repository
	$(IPD) diff pbc-treatment@v1 v2 -C $(SCRATCH)/repository
	$(IPD) analyse pbc-treatment@v2 --treatment arm --active active --outcome days,event --compare v1 -C $(SCRATCH)/repository
	@echo "== the project's own example catalogue (.catalogue.git, beside its release remote): a holder pulls GBSG-2 from it"
	$(IPD) pull gbsg2@v1 --tier noncommercial --from .catalogue.git --out $(SCRATCH)/example-release
	$(IPD) status $(SCRATCH)/example-release
	@echo "== ... and PBC, delivered as two tables: the participants and their laboratory visits, under the same release IDs"
	$(IPD) pull pbc@v1 --tier noncommercial --from .catalogue.git --out $(SCRATCH)/example-pbc
	@echo "== done: everything is under $(SCRATCH)"

test: $(STAMP)
	$(PY) -m pytest -q -n auto --maxprocesses 4

# Benchmarks against the issues' speed targets (10M-row synthetic trial, 3–6 min; see BENCHMARKS.md).
# Pick and size them with BENCH, e.g. `make bench BENCH="check --rows 200000"`.
# Issue 5's release benchmark (its own 1M-row trial, several minutes) runs only when named: BENCH=release.
bench: $(STAMP)
	$(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) $(SCRATCH)
