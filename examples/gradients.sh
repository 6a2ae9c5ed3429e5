#!/usr/bin/env sh
# d/dx sum(x^2) at x = [1, 2, 3] with curl: POST a graph, ys, xs and feeds.
#   sh examples/gradients.sh [BASE_URL]        # prints {"gradients":[{... "data":[2.0,4.0,6.0]}]}
set -eu
BASE_URL="${1:-${GRADSERVE_BASE_URL:-http://127.0.0.1:8000}}"
curl -sS --fail-with-body "$BASE_URL/v1/gradients" -H 'content-type: application/json' -d '{
  "graph": {"nodes": [
    {"name": "x", "op": "Placeholder", "attrs": {"dtype": "float32", "shape": [3]}},
    {"name": "y", "op": "Square", "inputs": ["x"]}]},
  "ys": "y", "xs": "x",
  "feeds": {"x": {"dtype": "float32", "shape": [3], "data": [1, 2, 3]}}}'
echo
