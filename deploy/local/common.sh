# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh. Source it; do not run it.
#
# Provides: DEPLOY_DIR, REPO, STATE, the CRM_*_PORT defaults, and the helpers
# log, die, wait_for, port_open, pid_alive, pid_gone, stop_pid, lock_service, apt_install.
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$DEPLOY_DIR/../.." && pwd -P)"

: "${CRM_KAFKA_PORT:=19092}"
: "${CRM_KAFKA_CONTROLLER_PORT:=19093}"
: "${CRM_PG_PORT:=55432}"
: "${CRM_REDIS_PORT:=56379}"
export CRM_KAFKA_PORT CRM_KAFKA_CONTROLLER_PORT CRM_PG_PORT CRM_REDIS_PORT

STATE="${CRM_STATE_DIR:-$REPO/.local}"
mkdir -p "$STATE/logs" "$STATE/run"
STATE="$(cd "$STATE" && pwd -P)"   # always absolute, symlinks resolved

log() { printf '[%s] %s: %s\n' "$(date +%H:%M:%S)" "${LOG_TAG:-crm-local}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_for SECONDS DESCRIPTION CMD [ARGS...]
# Runs CMD every 0.5 s until it succeeds (returns 0) or SECONDS pass (returns 1).
wait_for() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

# port_open PORT [HOST] -- true if something accepts TCP connections there.
port_open() {
    # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${2:-127.0.0.1}" "$1" 2>/dev/null
}

# pid_alive PIDFILE -- true if the file names a running process.
pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    ! pid_gone "$pid"
}

# pid_gone PID -- true if the process has exited (a zombie not yet reaped counts as exited).
pid_gone() {
    local stat
    kill -0 "$1" 2>/dev/null || return 0
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ ${stat:0:1} == Z ]]
}

# stop_pid PIDFILE NAME [SECONDS] -- SIGTERM, wait, then SIGKILL.
stop_pid() {
    local pidfile=$1 name=$2 grace=${3:-60} pid
    if ! pid_alive "$pidfile"; then
        log "$name is not running"
        rm -f "$pidfile"
        return 0
    fi
    pid=$(<"$pidfile")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for "$grace" "$name to exit" pid_gone "$pid"; then
        log "$name did not exit after ${grace}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for 10 "$name to die" pid_gone "$pid" || die "could not kill $name (pid $pid)"
    fi
    rm -f "$pidfile"
    log "$name stopped"
}

# lock_service NAME -- serialise start/stop of one service across concurrent callers.
# Holds fd 9 until the script exits: daemons started while it is held must be
# launched with 9>&- so they do not inherit (and keep) the lock.
lock_service() {
    exec 9>"$STATE/run/$1.lock"
    flock -w 300 9 || die "another start/stop of $1 is still running (lock $STATE/run/$1.lock)"
}

# apt_install PACKAGE... -- install Debian packages without prompts.
# Runs `apt-get update` only when a package has no install candidate yet,
# or when installing from the existing lists fails (stale lists).
apt_install() {
    [[ $EUID -eq 0 ]] || die "installing $* needs root (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    local pkg need_update=0
    for pkg in "$@"; do
        if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
            need_update=1
        fi
    done
    if ((need_update)); then
        log "apt-get update"
        apt-get update -q </dev/null >&2
    fi
    log "apt-get install -y $*"
    if ! apt-get install -y -q -o Dpkg::Use-Pty=0 "$@" </dev/null >&2; then
        ((need_update)) && die "apt-get install $* failed"
        log "install failed; refreshing package lists and retrying"
        apt-get update -q </dev/null >&2
        apt-get install -y -q -o Dpkg::Use-Pty=0 "$@" </dev/null >&2
    fi
}
