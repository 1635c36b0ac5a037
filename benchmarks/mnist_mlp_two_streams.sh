#!/bin/bash
# The mnist-mlp suite as two single-threaded streams at once with disjoint entries (each run
# shares the 2 cores with one other), from a git worktree of the commit being measured, so
# that edits to the working tree during the hours it runs do not reach it:
#
#   git worktree add --detach WORKTREE COMMIT
#   bash benchmarks/mnist_mlp_two_streams.sh WORKTREE      # logs: WORKTREE/suite-{A,B}.log
#
# then, from the repository: plastix bench --suite mnist-mlp --data-dir ../shared/datasets/mnist
# --out benchmarks/results/mnist-mlp --update BENCHMARKS.md (after copying WORKTREE's
# benchmarks/results/mnist-mlp here; finished runs are reused, none retrained).
set -euo pipefail
tree=$(cd "${1:?usage: mnist_mlp_two_streams.sh WORKTREE}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$tree"
export PYTHONPATH="$tree/src"
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
A=(--only "ff" --only "krotov-hopfield (paper's network)" --only "ldrl" --only "dtp"
   --only "krotov-hopfield random control" --only "tp")
B=()
while IFS= read -r label; do
  skip=0
  for ((i = 1; i < ${#A[@]}; i += 2)); do [[ "${A[$i]}" == "$label" ]] && skip=1; done
  ((skip)) || B+=(--only "$label")
done < <("$here/.venv/bin/python" -c "
from plastix.bench import SUITES
print('\n'.join(e.label for e in SUITES['mnist-mlp'].entries))")
run() {
  "$here/.venv/bin/plastix" bench --suite mnist-mlp --data-dir ../shared/datasets/mnist \
    --out benchmarks/results/mnist-mlp --no-progress "$@"
}
run "${A[@]}" > suite-A.log 2>&1 &
run "${B[@]}" > suite-B.log 2>&1 &
wait
