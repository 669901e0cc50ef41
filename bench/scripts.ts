/**
 * The shell-and-age ways homeage is compared with, as the shell scripts the
 * benchmark writes and runs. Each reads a list file with one secret per line:
 * `SOURCE NAME SYMLINK` (no spaces in any of them).
 */

/**
 * One secret the per-secret way, as one unit per secret would run it: a
 * fresh `sh -c` making the folder, decrypting into a temp file under a
 * restrictive umask, then chmod, mv and `ln -sf`.
 * Arguments: SOURCE DIR NAME SYMLINK IDENTITY.
 */
const PER_SECRET_STEP = `set -e
mkdir -p "$2"
umask 077
tmp=$(mktemp "$2/.$3.XXXXXX")
age -d -i "$5" -o "$tmp" "$1"
chmod 0400 "$tmp"
mv -f "$tmp" "$2/$3"
ln -sf "$2/$3" "$4"`

/**
 * The per-secret way for a whole list: a driver loop starting one fresh
 * shell per secret, one after the other.
 * Arguments: LIST RUNTIME-DIR IDENTITY.
 */
export const PER_SECRET_SCRIPT = `set -e
step='${PER_SECRET_STEP}'
while read -r src name link; do
    sh -c "$step" per-secret "$src" "$2" "$name" "$link" "$3"
done < "$1"
`

/**
 * The single-loop way: one shell looping \`age -d\` over every secret into a
 * new generation folder, pointing \`current\` at it, and linking each target
 * through \`current\`. Arguments: LIST RUNTIME-DIR IDENTITY.
 */
export const SINGLE_LOOP_SCRIPT = `set -e
umask 077
generation="$2/generation.$$"
mkdir -p "$generation"
while read -r src name link; do
    age -d -i "$3" -o "$generation/$name" "$src"
    chmod 0400 "$generation/$name"
done < "$1"
ln -sfn "$generation" "$2/current"
while read -r src name link; do
    ln -sf "$2/current/$name" "$link"
done < "$1"
`

/**
 * Encrypts many small secrets with Go age in one shell: each list line is
 * `NAME CONTENT` (CONTENT without spaces), written to DIR/NAME.age with a
 * trailing newline. Arguments: LIST DIR RECIPIENT.
 */
export const ENCRYPT_SCRIPT = `set -e
while read -r name content; do
    printf '%s\\n' "$content" | age -r "$3" -o "$2/$name.age"
done < "$1"
`
