#!/usr/bin/env bash
# One training step of the corpus MLP (batch 64, SGD and Adam) through
# generated code, at 1 and 2 threads, beside PyTorch's recorded step time
# (`pytorch_step_timing_ms` in ../shared/corpus/train_mlp/summary.json:
# zero_grad + forward + loss + backward + optimizer.step, median of 200
# steps). Ours is the median time of the compiled step function over the
# run (`tessera train` prints it); below 1 in the ratio column: tessera is
# faster. These machines are shared and noisy: read ratios, not times.
#
#   bash bench/train.sh            # builds tessera in release mode first
#   bash bench/train.sh --no-build # uses target/release/tessera as it is
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" != "--no-build" ]]; then
    cargo build --release -q --bin tessera
fi
corpus=../shared/corpus
tessera=target/release/tessera
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-10s %8s %12s %12s %8s\n' optimizer threads "tessera ms" "pytorch ms" ratio
for opt in sgd adam; do
    for threads in 1 2; do
        line=$(TESSERA_NUM_THREADS=$threads "$tessera" train "$corpus/mlp/model.onnx" \
            --input "input=$corpus/train_mlp/data_x.npy" --target "$corpus/train_mlp/data_y.npy" \
            --batch 64 --optimizer "$opt" --steps 500 --quiet --out "$out")
        ours=$(sed -E 's/.* ([0-9.]+) ms median in the step.*/\1/' <<<"$line")
        theirs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pytorch_step_timing_ms'][sys.argv[2]]['median_ms'])" \
            "$corpus/train_mlp/summary.json" "${opt}_${threads}t")
        python3 -c "import sys; o,t=map(float,sys.argv[3:]); print(f'{sys.argv[1]:<10} {sys.argv[2]:>8} {o:12.3f} {t:12.3f} {o/t:8.2f}')" \
            "$opt" "$threads" "$ours" "$theirs"
    done
done
