# One target per CI step, so a developer can run any of them alone. `make ci` is what ./test.sh (and .ci/run) run.
# Every target sets up first (scripts/setup.sh: apt packages when missing, .venv, pinned wheels).

PY := .venv/bin/python
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup lint test fuzz-smoke fuzz bundle bundle-smoke smoke bench screenshots ci

setup:
	scripts/setup.sh

lint: setup
	.venv/bin/ruff check .

test: setup  ## unit, GUI and CLI tests (the fuzz smoke and regressions included)
	$(PY) -m pytest

fuzz-smoke: setup  ## a bounded number of fuzz cases per parser plus every saved regression input
	$(PY) -m pytest tests/fuzz

fuzz: setup  ## the full campaign (see fuzz/run.py --help)
	$(PY) fuzz/run.py

bundle: setup  ## PyInstaller onedir bundle in dist/slakh-studio/, then its --smoke run
	packaging/build.sh

bundle-smoke:
	env -u DISPLAY -u WAYLAND_DISPLAY dist/slakh-studio/slakh-studio --smoke build/smoke

smoke: setup  ## the whole app from the source tree: window, demo render, screenshot
	$(PY) -m slakh_gui --smoke build/smoke-src

bench: setup
	$(PY) benchmarks/render.py
	$(PY) benchmarks/dataset.py
	$(PY) benchmarks/separation.py
	$(PY) benchmarks/gui_render.py

screenshots: setup  ## docs/screenshot.png, docs/screen-*.png; docs/separate.png too with SEPARATE_TRACK=<a track folder>
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) scripts/screenshot.py
	xvfb-run -a -s "-screen 0 1366x768x24" $(PY) scripts/screenshot.py --fill-screen docs/screen-1366x768.png
	xvfb-run -a -s "-screen 0 1920x1080x24" $(PY) scripts/screenshot.py --fill-screen docs/screen-1920x1080.png
	if [ -n "$(SEPARATE_TRACK)" ]; then \
	  xvfb-run -a -s "-screen 0 1600x1200x24" $(PY) scripts/screenshot.py --separate "$(SEPARATE_TRACK)"; fi

ci: lint test bundle
