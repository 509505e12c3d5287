# Sourced by the wrk scripts, from the repository root: the benchmark's
# secret, a check that wrk is there, and a scratch directory that is removed,
# with any server still running, on exit.
export PRETS_SECRET="whsec_BenchBenchBenchBenchBenchBenchBenchBench123"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
TMP="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
