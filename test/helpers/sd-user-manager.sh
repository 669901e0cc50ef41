#!/bin/bash
# Starts or stops a real `systemd --user` manager for USER on a machine where
# systemd is not PID 1, for the tests. Must run as root.
#
#   sd-user-manager.sh start USER     start it; exit 0 once it answers
#   sd-user-manager.sh stop USER      stop it (its units' ExecStop runs) and clean up
#   sd-user-manager.sh status USER    exit 0 when it runs
#
# It does what user@UID.service would do: a cgroup delegated to the user,
# /run/user/UID as XDG_RUNTIME_DIR, and the marker /run/systemd/system that makes
# the manager believe it was booted by systemd. The manager is always started
# alone in its own cgroup: started from a shared cgroup it would move every
# process there (from the root cgroup: every process of the machine) into its
# init.scope.
#
# Environment:
#   SDU_HOME        HOME for the manager (default: the user's home from passwd)
#   SDU_LOG         file for the manager's own output (default /tmp/sd-user-manager-UID.log)
#   SDU_LOG_TARGET  SYSTEMD_LOG_TARGET of the manager (default auto)
#   SDU_UNIT_OUTPUT set to "inherit": units write their output into the
#                   manager's log (SDU_LOG). There is no journald here, so
#                   without it their output is lost (systemd sends it to
#                   /dev/null when it cannot reach the journal); with it, the
#                   log stands in for the journal and tests can read it.
#
# The marker is created only if missing, and removed by the stop of the last
# manager started by this script, and only if this script created it.
set -u

STATE=/run/homeage-sd-user-manager        # pid files, marker record, lock
MARKER=/run/systemd/system
MANAGER=/usr/lib/systemd/systemd
START_TRIES=200                           # 200 x 0.05 s = 10 s
STOP_TRIES=100                            # 100 x 0.05 s = 5 s

cmd=${1:-}
user=${2:-}
if [ -z "$cmd" ] || [ -z "$user" ]; then
    echo "usage: $0 start|stop|status USER" >&2
    exit 2
fi
if [ "$(id -u)" != 0 ]; then
    echo "$0: must run as root" >&2
    exit 2
fi

uid=$(id -u "$user") || exit 2
gid=$(id -g "$user")
home=${SDU_HOME:-$(getent passwd "$user" | cut -d: -f6)}
runtime=/run/user/$uid
slice=user.slice/user-$uid.slice
cgroup=$slice/user@$uid.service
pidfile=$STATE/manager-$uid.pid
log=${SDU_LOG:-/tmp/sd-user-manager-$uid.log}

# The hierarchies the manager uses: the one cgroup2 mount, or on a hybrid or v1
# layout the named "systemd" hierarchy and the cgroup2 one beside it.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    hierarchies=/sys/fs/cgroup
else
    hierarchies=""
    for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
        [ -d "$h" ] && hierarchies="$hierarchies $h"
    done
fi
last_hierarchy=${hierarchies##* }

# A zombie counts as dead: PID 1 here may reap orphans late, so kill -0 is not enough.
alive() {
    [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]
}

as_user() {
    setpriv --reuid="$uid" --regid="$gid" --init-groups env XDG_RUNTIME_DIR="$runtime" "$@"
}

up() {
    [ "$1" = running ] || [ "$1" = degraded ]
}

running() {
    [ -f "$pidfile" ] && alive "$(cat "$pidfile")"
}

mkdir -p "$STATE"
exec 9>"$STATE/lock"
flock 9

start() {
    if running; then
        echo "$0: a manager for $user already runs (pid $(cat "$pidfile")); if no test" \
            "uses it, stop it with: $0 stop $user" >&2
        exit 1
    fi

    if [ ! -d "$MARKER" ]; then
        mkdir -p "$MARKER" && touch "$STATE/marker-created"
    fi
    install -d -m 0700 -o "$uid" -g "$gid" "$runtime"
    for h in $hierarchies; do
        mkdir -p "$h/$cgroup" && chown -R "$uid:$gid" "$h/$cgroup" || exit 1
    done

    output=()
    case ${SDU_UNIT_OUTPUT:-} in
    "") ;;
    inherit) output=(--default-standard-output=inherit --default-standard-error=inherit) ;;
    *) echo "$0: SDU_UNIT_OUTPUT must be empty or inherit" >&2; exit 2 ;;
    esac

    # The child first moves itself, and only itself, into the new cgroup, then
    # becomes the manager with a clean environment.
    setsid bash -c '
        for h in $1; do echo $$ > "$h/$2/cgroup.procs" || exit 1; done
        exec setpriv --reuid="$3" --regid="$4" --init-groups env -i HOME="$5" USER="$6" \
            LOGNAME="$6" SHELL=/bin/sh PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            XDG_RUNTIME_DIR="$7" SYSTEMD_LOG_TARGET="$8" "$9" --user "${@:10}"
    ' sd-user-manager "$hierarchies" "$cgroup" "$uid" "$gid" "$home" "$user" "$runtime" \
        "${SDU_LOG_TARGET:-auto}" "$MANAGER" "${output[@]}" </dev/null >>"$log" 2>&1 9>&- &
    child=$!

    for i in $(seq 1 $START_TRIES); do
        # "degraded" (a unit failed) is up too: tests make units fail on purpose.
        if [ -S "$runtime/systemd/private" ] && up "$(as_user systemctl --user \
            is-system-running --wait 2>/dev/null)"; then
            head -n 1 "$last_hierarchy/$cgroup/init.scope/cgroup.procs" > "$pidfile"
            exit 0
        fi
        if [ "$i" -gt 20 ] && ! alive "$child" && [ -z "$(cat "$last_hierarchy/$cgroup/cgroup.procs" \
            "$last_hierarchy/$cgroup/init.scope/cgroup.procs" 2>/dev/null)" ]; then
            break
        fi
        sleep 0.05
    done

    echo "$0: systemd --user for $user did not start (its log: $log)" >&2
    stop_manager
    exit 1
}

stop_manager() {
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile")
        if alive "$pid"; then
            kill -TERM "$pid"                 # the manager stops its units, then exits
            for _ in $(seq 1 $STOP_TRIES); do
                alive "$pid" || break
                sleep 0.05
            done
            alive "$pid" && kill -KILL "$pid"
        fi
        rm -f "$pidfile"
    fi

    for h in $hierarchies; do
        [ -d "$h/$slice" ] || continue
        for procs in $(find "$h/$slice" -name cgroup.procs); do
            for p in $(cat "$procs"); do kill -KILL "$p" 2>/dev/null; done
        done
        for _ in $(seq 1 $STOP_TRIES); do
            find "$h/$slice" -depth -type d -exec rmdir {} \; 2>/dev/null
            [ -d "$h/$slice" ] || break
            sleep 0.05
        done
        rmdir "$h/user.slice" 2>/dev/null
    done
    rm -rf "$runtime"

    # Remove the marker only when this script made it and no manager it started still runs.
    if [ -f "$STATE/marker-created" ] && [ -z "$(find "$STATE" -name 'manager-*.pid')" ]; then
        rmdir "$MARKER" 2>/dev/null
        rm -f "$STATE/marker-created"
    fi
}

case $cmd in
start) start ;;
stop) stop_manager; exit 0 ;;
status) running ;;
*) echo "usage: $0 start|stop|status USER" >&2; exit 2 ;;
esac
