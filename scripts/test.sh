#!/usr/bin/env bash
# Sets up the machine, builds flowlua and runs every test suite: unit tests of
# each layer and end-to-end tests of the built binary on real processes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/docker.sh   # a Docker daemon and the local test images
scripts/slurm.sh    # a single-node Slurm cluster on loopback
swift build --build-tests
swift test --skip-build "$@"
