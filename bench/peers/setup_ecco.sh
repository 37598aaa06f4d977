#!/usr/bin/env bash
# A separate venv with ecco 0.1.2 on transformers 4.40.2, for bench/attribution.py's ecco timing
# (bench/peers/ecco_ig.py runs in it). Installs from the configured package index only.
#
#   bash bench/peers/setup_ecco.sh                 # venv at /tmp/ecco-venv
#   bash bench/peers/setup_ecco.sh /path/to/venv
#
# ecco 0.1.2's own metadata asks for scikit-learn~=0.23 and PyYAML~=5.4, which have no wheels
# for Python 3.11 (and PyYAML 5.4 does not build with Cython 3), so ecco goes in with --no-deps
# and its imports are pinned here to releases that work together on Python 3.11:
# - tokenizers 0.19.1 (what transformers 4.40.2 needs; it has cp311 wheels), huggingface_hub < 1;
# - matplotlib < 3.9: ecco's lm_plots imports matplotlib.cm.get_cmap, removed in 3.9;
# - numpy 1.26 (transformers 4.40 predates numpy 2);
# - captum 0.7.0 (ecco asks for captum~=0.4; 0.7 has the same IntegratedGradients defaults:
#   n_steps=50, method="gausslegendre", zero baseline, one batch of all steps);
# - seaborn, scikit-learn, IPython, PyYAML: imported by ecco at import time.
# The weights: bench/peers/smollm2_hf.py (run with the project's venv) writes /tmp/smollm2-hf.
set -euo pipefail

VENV="${1:-/tmp/ecco-venv}"
PY="${PYTHON:-python3}"

"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q \
  "torch==2.13.0" \
  "transformers==4.40.2" "tokenizers==0.19.1" "huggingface_hub==0.36.2" "safetensors==0.8.0" \
  "numpy==1.26.4" "captum==0.7.0" "matplotlib==3.8.4" "seaborn==0.13.2" "pandas==3.0.6" \
  "scikit-learn==1.9.1" "ipython==9.18.1" "PyYAML==6.0.4" "packaging"
"$VENV/bin/pip" install -q --no-deps "ecco==0.1.2"
"$VENV/bin/python" - <<'EOF'
import captum
import ecco
import tokenizers
import torch
import transformers

print(f"ecco {ecco.__version__}, transformers {transformers.__version__}, "
      f"tokenizers {tokenizers.__version__}, captum {captum.__version__}, torch {torch.__version__}")
EOF
echo "ecco venv ready: $VENV/bin/python"
