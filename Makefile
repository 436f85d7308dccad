# The two commands of the README: `make demo` and `make test`.
# Each creates the virtual environment (.venv) and installs what it needs:
# `make demo` only the runtime dependencies (stamp .venv/.installed-demo),
# `make test` those plus the test extra (stamp .venv/.installed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --quiet --disable-pip-version-check
# The checkout is installed editable. Because hw_profiles/ and udev/ are mapped
# into the package (bridge._hw_profiles, bridge._udev), setuptools installs a
# meta path finder and prints a note ("Editable installation ... folders in
# your working directory with the same name as your package ... may take
# precedence"). It is harmless here: that folder, bridge/, is the package
# being installed. (The "compat" mode that avoids the note is deprecated.)
EDITABLE := -e
NOTE := @echo "(setuptools' 'Editable installation' note, if shown above, is expected: see Makefile)"

.PHONY: demo test bench clean

$(VENV)/.venv-made:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "serial-bridge needs Python 3.11 or newer")'
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; on Debian install it with: sudo apt-get install python3-venv" >&2; exit 1; }
	$(PIP) install --upgrade pip
	@touch $@

$(VENV)/.installed-demo: pyproject.toml $(VENV)/.venv-made
	$(PIP) install $(EDITABLE) .
	$(NOTE)
	@touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.venv-made
	$(PIP) install $(EDITABLE) '.[test]'
	$(NOTE)
	@touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(VENV)/bin/serial-bridge demo

test: $(VENV)/.installed
	$(PY) -m mypy bridge tests
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) bench/telnet_bench.py
	$(PY) bench/e2e.py

clean:
	rm -rf $(VENV) build *.egg-info
