#!/usr/bin/env bash
# Every benchmark script, run tiny on the bundled sample, to see that each still works (they check their own
# results); figures printed here mean nothing. Usage: benchmarks/smoke.sh [PYTHON]   (make bench-smoke)
set -euo pipefail
PY=${1:-python}
BIN=$(dirname "$PY")
work=build/bench-smoke
rm -rf "$work" && mkdir -p "$work"
"$BIN/kaggle-digits" download --from kaggle_digits/sample/digit-recognizer-sample.zip --data-dir "$work/data"
tiny=(--data-dir "$work/data" --preset mlp --hidden 16 --epochs 1 --no-augment)
"$BIN/kaggle-digits" train "${tiny[@]}" --folds 2 --seed 1 --runs-dir "$work/runs" --submissions-dir "$work/subs"
"$BIN/kaggle-digits" train "${tiny[@]}" --folds 2 --seed 2 --split-seed 1 --runs-dir "$work/runs" --submissions-dir "$work/subs"
first=$(ls -d "$work"/runs/* | head -1) && second=$(ls -d "$work"/runs/* | tail -1)

"$PY" benchmarks/bench_train.py --preset mlp --data-dir "$work/data" --epochs 1 --limit 256 --rounds 1
"$PY" benchmarks/profile_layers.py --preset cnn --batch-size 16 --steps 2 --rounds 1
"$PY" benchmarks/conv_variants.py --images 4
"$PY" benchmarks/conv_bounds.py --images 4
"$PY" benchmarks/recipe_trial.py --preset mlp --data-dir "$work/data" --folds 2 --runs-root "$work/trial" epochs=1 \
    hidden_sizes=16
"$PY" benchmarks/side_by_side.py --preset mlp --folds 2 --jobs 1,2 -- --data-dir "$work/data" --hidden 16 --epochs 1
"$PY" benchmarks/tta_gain.py "$first" --views 1,2
"$PY" benchmarks/paired_runs.py "$first" "$second"
"$PY" benchmarks/pseudo_label_trial.py "$first" --data-dir "$work/data" --threshold 0.9 epochs=1 hidden_sizes=16
"$PY" benchmarks/bench_cluster.py --sample --preset mlp --folds 2 --only jobs2,localcluster,loopback --overhead 3 \
    -- --hidden 8 --epochs 1
echo "bench-smoke: all $(ls benchmarks/*.py | wc -l) scripts ran"
