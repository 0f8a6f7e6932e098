#!/usr/bin/env bash
# Starts a Docker daemon when none answers, and builds the local images the
# tests and examples use (no registry can be reached here):
#   local/busybox:1   busybox-static and a link for every applet
#   local/python:3    Debian 12 (debootstrap) with python3 and pip: the base
#                     of the notebook images nbdocker workers build
# Safe to run again and again: quick when the daemon runs and the image exists.
set -euo pipefail

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "docker.sh: dockerd is not installed (scripts/setup.sh installs docker.io)" >&2; exit 1; }
  # The daemon leaves the host's network alone; containers run with --network none.
  nohup dockerd --iptables=false --bridge=none >/tmp/flowlua-dockerd.log 2>&1 &
  for _ in $(seq 1 100); do
    docker info >/dev/null 2>&1 && break
    sleep 0.1
  done
  docker info >/dev/null 2>&1 || { echo "docker.sh: dockerd did not start; see /tmp/flowlua-dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect local/busybox:1 >/dev/null 2>&1; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/work"
  chmod 1777 "$root/tmp"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - local/busybox:1 >/dev/null
  rm -rf "$root"
fi
if ! docker image inspect local/python:3 >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "docker.sh: debootstrap is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
  echo "docker.sh: building local/python:3 with debootstrap (about a minute)"
  pyroot=$(mktemp -d)
  trap 'rm -rf "$pyroot"' EXIT
  debootstrap --variant=minbase --include=python3,python3-pip bookworm "$pyroot" http://deb.debian.org/debian \
    >/tmp/flowlua-debootstrap.log 2>&1 \
    || { echo "docker.sh: debootstrap failed; see /tmp/flowlua-debootstrap.log" >&2; exit 1; }
  rm -rf "$pyroot"/var/cache/apt/archives/*.deb "$pyroot"/var/lib/apt/lists/*
  # The image trusts what the host trusts (a TLS-inspecting proxy in front of PyPI, say).
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$pyroot/etc/ssl/certs/"
  tar -C "$pyroot" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'ENV LANG=C.UTF-8' \
    -c 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' -c 'CMD ["/usr/bin/python3"]' - local/python:3 >/dev/null
fi
echo "docker.sh: ok ($(docker version --format '{{.Server.Version}}' 2>/dev/null), local/busybox:1, local/python:3)"
