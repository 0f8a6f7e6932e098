#!/usr/bin/env bash
# Starts a single-node Slurm cluster on loopback when none answers, for the
# tests and examples of the Slurm worker:
#   munged      as the munge user, with the key the munge package made
#   slurmctld   and slurmd as root: one node (this host, all its CPUs, 4000 MB)
#               in one partition "debug"; state, spool, pids and logs under
#               /tmp/slurm
# No slurmdbd, so no sacct: squeue -t all and scontrol show job still know a
# finished job for MinJobAge (5 minutes). Installs slurmctld, slurmd,
# slurm-client and munge with apt-get when they are missing.
# Safe to run again and again: quick when the node answers idle, mixed or
# allocated on the configuration below; a changed configuration restarts the
# daemons (running jobs go on).
set -euo pipefail

dir=/tmp/slurm
conf=/etc/slurm/slurm.conf
cgroup_conf=/etc/slurm/cgroup.conf
host=$(hostname -s)

node_state() { { timeout 5 sinfo -h -n "$host" -o %T 2>/dev/null || true; } | head -1; }
# A daemon runs, not just its zombie (pid 1 here is slow to reap them).
alive() { pgrep -x -r D,R,S "$1" >/dev/null; }
# sinfo takes 9 s to give up on a slurmctld that is not there: look first.
running() { alive slurmctld && alive slurmd; }
up() { running && [[ "$(node_state)" =~ ^(idle|mixed|allocated|completing)$ ]]; }
fail() {  # a message, then the end of the log that tells why
  echo "slurm.sh: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$2" ]; then
    echo "slurm.sh: last lines of $2:" >&2
    tail -n 20 "$2" >&2
  fi
  exit 1
}

# Memory limits need the cgroup v1 memory and freezer hierarchies (this kind
# of machine mounts them): a job that outgrows its --mem is killed and ends
# OUT_OF_MEMORY. Without them jobs run unconfined.
cgroups() { grep -q ' /sys/fs/cgroup/memory cgroup ' /proc/mounts && grep -q ' /sys/fs/cgroup/freezer cgroup ' /proc/mounts; }

# slurm.conf on standard output. The node as slurmd sees it: all its CPUs, and
# 4000 MB unless it has less. Memory is a consumable resource: a job gets its
# --mem, or else its CPUs' share of the node.
configuration() {
  local detected memory=4000 cpus
  cpus=$(nproc)
  detected=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  [ -n "$detected" ] && [ "$detected" -lt "$memory" ] && memory=$detected
  local proctrack=proctrack/linuxproc task=task/none
  if cgroups; then proctrack=proctrack/cgroup task=task/cgroup; fi
  cat <<EOF
# Written by scripts/slurm.sh: one node on loopback, root runs everything.
ClusterName=localcluster
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=$proctrack
TaskPlugin=$task
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((memory / cpus))
SchedulerType=sched/backfill
# A job starts within a second of its submission or of its dependency being
# met. One whose dependency can never be met (afterok on a job that failed) is
# cancelled instead of pending for ever with DependencyNeverSatisfied.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
DependencyParameters=kill_invalid_depend
# A job that asks for more than the partition has (cpus = 512) is refused by
# sbatch at once, as on most clusters; left to the scheduler, its pending
# reason (PartitionConfig) turns into Priority while other jobs wait.
EnforcePartLimits=ALL
# A finished job stays in squeue -t all and scontrol show job for 5 minutes.
MinJobAge=300
# SIGKILL 2 s after the SIGTERM of scancel or of a time limit. Time limits are
# whole minutes, checked every 30 s: --time=1 ends a job after 60 to 90 s.
KillWait=2
MailProg=/bin/true
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}
cgroup_configuration() {
  cat <<EOF
# Written by scripts/slurm.sh: a job's memory is its --mem, no more.
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainRAMSpace=yes
ConstrainSwapSpace=no
EOF
}
configured() {  # the files in /etc/slurm are the ones above
  cmp -s <(configuration) "$conf" && { ! cgroups || cmp -s <(cgroup_configuration) "$cgroup_conf"; }
}

if command -v slurmd >/dev/null && configured && up; then
  echo "slurm.sh: ok (Slurm $(sinfo -V | cut -d' ' -f2), node $host $(node_state))"
  exit 0
fi

packages=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "slurm.sh: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  # Waits for another apt-get (scripts/setup.sh, say) to let go of the lock.
  $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi
[ "$(id -u)" -eq 0 ] || fail "the daemons run as root and as munge: run this as root"

# munged: the package made the key; no systemd here starts the daemon.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || { mungekey --create >/dev/null && chown munge:munge /etc/munge/munge.key; }
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  alive munged || runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || fail "munged did not start" /var/log/munge/munged.log
fi

mkdir -p "$dir/state" "$dir/spool" "$dir/log" /etc/slurm
if ! configured; then
  # Daemons that run on another configuration start again on this one.
  for d in slurmd slurmctld; do
    pid=$(cat "$dir/$d.pid" 2>/dev/null || true)
    if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$d" ]; then continue; fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do ps -o stat= -p "$pid" | grep -q '^[^Z]' || break; sleep 0.1; done
  done
  configuration >"$conf"
  if cgroups; then cgroup_configuration >"$cgroup_conf"; fi
fi

alive slurmctld || slurmctld || fail "slurmctld did not start" "$dir/log/slurmctld.log"
alive slurmd || slurmd || fail "slurmd did not start" "$dir/log/slurmd.log"
state=""
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ]; do
  state=$(node_state)
  case "$state" in
    idle | mixed | allocated | completing) break ;;
    down* | drain* | fail*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
  esac
  sleep 0.5
  running || break  # a daemon that died tells why in its log
done
if ! up; then
  alive slurmctld || fail "slurmctld is not running" "$dir/log/slurmctld.log"
  alive slurmd || fail "slurmd is not running" "$dir/log/slurmd.log"
  fail "node $host is ${state:-unknown to sinfo} after 30 s" "$dir/log/slurmd.log"
fi
echo "slurm.sh: ok (Slurm $(sinfo -V | cut -d' ' -f2), node $host $(node_state))"
