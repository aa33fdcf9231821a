#!/usr/bin/env bash
# The methods table of docs/methods.md: every method on every dataset, one MLflow sweep per dataset,
# paired against standard RAG, written as one markdown table per dataset.
#
#   make methods-table                      # full sets (about 70 minutes on an idle 2-core CPU; run it alone)
#   MAX_QUERIES=10 make methods-table       # the first 10 questions of each set (a smoke run)
#   OUT=runs/methods DATASETS="demo hotpotqa" bench/methods_table.sh
#
# Answers and steps are never read from the generation cache (generation_cache=null), so latencies
# and tokens/s are measured, not cache reads.
set -euo pipefail
BIN=${BIN:-.venv/bin}
OUT=${OUT:-runs/methods_table}
DATASETS=${DATASETS:-"demo flashrag_nq hotpotqa musique conversations"}
METHODS=${METHODS:-standard,closed_book,oracle,rewrite,hyde,multi_query,decompose,iterative,adaptive,refine,refine_summary}
CONVERSATION_METHODS=${CONVERSATION_METHODS:-standard,conversational_concat,conversational}
BATCH_SIZE=${BATCH_SIZE:-8}
K=${K:-5}
limit=()
if [ -n "${MAX_QUERIES:-}" ]; then limit=("max_queries=$MAX_QUERIES"); fi
mkdir -p "$OUT"
for dataset in $DATASETS; do
  methods=$METHODS
  if [ "$dataset" = conversations ]; then methods=$CONVERSATION_METHODS; fi
  echo "== $dataset: method=$methods ($(date -u +%H:%M:%S) UTC)"
  "$BIN/ragbench" run -m "dataset=$dataset" "method=$methods" "${limit[@]}" \
    "batch_size=$BATCH_SIZE" "k=$K" generation_cache=null \
    --baseline method=standard --table-metric em --table-metric f1 --table-metric match \
    --table-metric "recall@$K" --markdown "$OUT/table_$dataset.md"
done
echo "== done ($(date -u +%H:%M:%S) UTC): tables in $OUT/"
