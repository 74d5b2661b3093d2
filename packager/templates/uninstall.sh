#!/bin/sh
# Remove @NAME@: everything install.sh put in place (the program, the command, the menu and
# autostart entries, the folders it made) and the paired browsers, unless --keep-pairings.
#   ~/.local/share/@COMMAND@/uninstall.sh [--keep-pairings]
set -eu

data=${XDG_DATA_HOME:-$HOME/.local/share}
config=${XDG_CONFIG_HOME:-$HOME/.config}
app=$data/@COMMAND@
settings=$config/@COMMAND@
keep=0
quiet=0
for arg in "$@"; do
  case $arg in
    --keep-pairings) keep=1 ;;
    --quiet) quiet=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [ ! -f "$app/.installed" ]; then
  echo "@NAME@ is not installed in $app." >&2
  exit 1
fi
[ "$quiet" = 1 ] || echo "Removing @NAME@ from $app"
made=$(tac "$app/.installed")  # the last made first: a folder after what is inside it
printf '%s\n' "$made" | while IFS= read -r line; do
  case $line in file:*) rm -f "${line#file:}" ;; esac
done
[ "$keep" = 1 ] || rm -rf "$settings"
rm -rf "$app"  # this script too: the shell goes on reading it from its open file
printf '%s\n' "$made" | while IFS= read -r line; do
  case $line in
    "dir:$app"|"dir:$settings") ;;
    dir:*) rmdir "${line#dir:}" 2>/dev/null || true ;;  # only if empty: others may use it
  esac
done
[ "$quiet" = 1 ] || echo "Removed."
