#!/usr/bin/env bash
# Sets up the machine, builds flowlua and runs every test suite: unit tests of
# each layer and end-to-end tests of the built binary on real processes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/docker.sh   # a Docker daemon and the local test images
scripts/slurm.sh    # a single-node Slurm cluster on loopback
swift build --build-tests
# The tests' scratch folders (stores, workspaces, run folders) go in one
# folder of their own, removed afterwards: a machine running the suite often
# does not collect hundreds of folders in /tmp a run.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/flowlua-tests.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"  # a test runs flowlua as another user in a folder under it
TMPDIR=$scratch swift test --skip-build "$@"
