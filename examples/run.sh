#!/bin/bash
# Runs `homeage activate` on the built-in example in a throw-away home folder,
# then shows where the secrets went. Nothing outside that folder is touched
# (as root, a small tmpfs is mounted inside it and unmounted at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cli="$here/../bin/homeage.js"
work=$(mktemp -d "${TMPDIR:-/tmp}/homeage-example.XXXXXX")
mounted=""
cleanup() {
    [ -n "$mounted" ] && umount "$mounted" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export HOME="$work/home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_STATE_HOME="$HOME/.local/state"
mkdir -p "$XDG_CONFIG_HOME/homeage" "$HOME/dotfiles"
install -m 0600 "$here/identity.txt" "$XDG_CONFIG_HOME/homeage/identity.txt"
cp -r "$here/secrets" "$HOME/dotfiles/"

# Plaintext belongs in memory: a tmpfs of our own as root, else a private folder
# in the user's runtime dir, else (no tmpfs at all) a normal folder, with a warning.
persistent=""
if [ "$(id -u)" = 0 ] && mkdir -p "$work/run" && mount -t tmpfs -o size=4m,mode=0700 tmpfs "$work/run"; then
    mounted="$work/run"
    export XDG_RUNTIME_DIR="$work/run"
elif [ -n "${XDG_RUNTIME_DIR:-}" ] && [ "$(stat -fc %T "$XDG_RUNTIME_DIR" 2>/dev/null)" = tmpfs ]; then
    export XDG_RUNTIME_DIR=$(mktemp -d "$XDG_RUNTIME_DIR/homeage-example.XXXXXX")
    trap 'rm -rf "$XDG_RUNTIME_DIR"; cleanup' EXIT
else
    mkdir -m 0700 "$work/run"
    export XDG_RUNTIME_DIR="$work/run"
    persistent="allowPersistentRuntimeDir = true"
fi
{ echo "$persistent"; cat "$here/homeage.toml"; } > "$HOME/dotfiles/homeage.toml"

cd "$HOME/dotfiles"
echo "\$ homeage activate      (HOME=$HOME)"
node "$cli" activate
echo
echo "\$ homeage status"
node "$cli" status
echo
echo "Where the secrets went:"
for link in "$HOME/.config/example-app/token" "$HOME/.netrc"; do
    if [ -L "$link" ]; then
        echo "  ${link/#$HOME/\~} -> $(readlink "$link")"
    else
        echo "  ${link/#$HOME/\~} (a copy, mode $(stat -c %a "$link"))"
    fi
done
echo
echo "\$ homeage deactivate"
node "$cli" deactivate
