#!/usr/bin/env bash
# A real single-node Slurm (munge, slurmctld, slurmd) on this machine, for tests/end_to_end/test_slurm.py and
# for trying `launcher=slurm` by hand. Needs root, Debian's slurm-wlm and munge (.ci/run installs
# them) and no other Slurm on ports 6817/6818.
#
#   tests/end_to_end/slurm/cluster.sh start DIR   # config, state, logs and pid files under DIR; node idle
#   export SLURM_CONF=DIR/slurm.conf   # what sbatch, squeue, scontrol (and the launcher) read
#   tests/end_to_end/slurm/cluster.sh stop DIR    # cancels the cluster's jobs, stops the daemons it started
#
# /etc/slurm is not touched. munged is started only when none answers on its default socket, and
# only a munged this script started is stopped. Every daemon is stopped by the pid it recorded in
# DIR (SIGTERM, then SIGKILL after 10 s). The config is a minimal one without cgroups or
# accounting (no slurmdbd: sacct fails, squeue answers), plus:
# memory is a consumable resource and a job step over its memory is killed (state
# FAILED with slurmstepd's "exceeded memory limit" in its stderr, checked every second), a killed
# or requeued job gets SIGKILL 2 s after SIGTERM (KillWait, 30 s by default: submitit ignores
# SIGTERM, and stop should not wait that long), and a requeued
# job starts again within seconds: Slurm holds it until the old job's credential expires
# (cred_expire, 120 s by default) and then waits for its next scheduling pass (sched_interval,
# 60 s by default).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

wait_for() {  # wait_for SECONDS WHAT COMMAND...: retry COMMAND every 0.5 s
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 2))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "cluster.sh: $what did not happen within $seconds s" >&2
    return 1
}

write_conf() {  # write_conf DIR
    local dir=$1 host node
    host=$(hostname -s)
    node=$(slurmd -C | head -1)  # this machine's NodeName=… CPUs=… RealMemory=…
    cat >"$dir/slurm.conf" <<EOF
ClusterName=gatelab
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
ReturnToService=2
MpiDefault=none
KillWait=2
AuthInfo=cred_expire=5
SchedulerParameters=sched_interval=2
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {  # start DIR
    local dir=$1
    [ "$(id -u)" = 0 ] || { echo "cluster.sh: needs root" >&2; exit 1; }
    mkdir -p "$dir/state" "$dir/spool"
    write_conf "$dir"
    export SLURM_CONF=$dir/slurm.conf
    if ! (munge -n | unmunge) >/dev/null 2>&1; then
        mkdir -p /run/munge /var/lib/munge /var/log/munge
        chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
        su -s /bin/sh munge -c /usr/sbin/munged
        wait_for 10 "munged answering" sh -c "munge -n | unmunge"
        cp /run/munge/munged.pid "$dir/munged.pid"  # ours: stop ends it
    fi
    if scontrol ping >/dev/null 2>&1; then  # e.g. left by a killed test session
        echo "cluster.sh: a slurmctld already answers on this host; stop it first" \
            "(tests/end_to_end/slurm/cluster.sh stop ITS_DIR)" >&2
        exit 1
    fi
    slurmctld -f "$SLURM_CONF"
    wait_for 20 "slurmctld answering" scontrol ping
    slurmd -f "$SLURM_CONF"
    wait_for 30 "the node idle" sh -c '[ "$(sinfo -h -o %T)" = idle ]'
}

stop_pid() {  # stop_pid PIDFILE: SIGTERM the recorded process, SIGKILL it after 10 s
    local file=$1 pid
    [ -s "$file" ] || return 0
    pid=$(cat "$file")
    if kill "$pid" 2>/dev/null; then
        wait_for 10 "pid $pid exiting" sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

stop() {  # stop DIR: what start DIR started, in reverse order
    local dir=$1
    export SLURM_CONF=$dir/slurm.conf
    if [ -s "$dir/slurmctld.pid" ] && scontrol ping >/dev/null 2>&1; then
        scancel --full --quiet --user=root || true  # steps end before slurmd, which reaps them
        wait_for 15 "the jobs ending" sh -c '[ -z "$(squeue -h -t running,completing)" ]' || true
    fi
    stop_pid "$dir/slurmd.pid"
    stop_pid "$dir/slurmctld.pid"
    stop_pid "$dir/munged.pid"
}

[ $# = 2 ] || usage
case $1 in
    start) start "$2" ;;
    stop) stop "$2" ;;
    *) usage ;;
esac
