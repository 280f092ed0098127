# The two commands of the README: `make demo` runs the flagship demo, `make test` runs every check.
# Both set everything up first (scripts/setup.sh).
PY := .venv/bin/python

.PHONY: setup demo test bench lint notebooks

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) demos/moons.py

# Every demo as a Jupyter notebook, generated from demos/*.py into notebooks/ (see notebooks/README.md).
notebooks: setup
	$(PY) notebooks/build.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	.venv/bin/lint-imports

# pytest exits 5 when it collects no test; that is not a failure of the code.
test: lint
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (set by this machine's environment) pin numpy's BLAS to its Haswell
# kernels; the benchmarks let it pick its own, as a user's numpy does.
bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench_engine.py
