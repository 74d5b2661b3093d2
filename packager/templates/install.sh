#!/bin/sh
# Install @NAME@ for you alone (no administrator rights): the program in
# ~/.local/share/@COMMAND@, the command ~/.local/bin/@COMMAND@, an entry in the applications menu,
# and with --autostart an entry that starts it when you log in. uninstall.sh removes all of it.
#   ./install.sh [--autostart]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
config=${XDG_CONFIG_HOME:-$HOME/.config}
bin=$HOME/.local/bin
app=$data/@COMMAND@
autostart=0
for arg in "$@"; do
  case $arg in
    --autostart) autostart=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

# What this install creates, so uninstall.sh removes exactly that, folders it made included.
record=$(mktemp)
made() { printf '%s\n' "$1" >> "$record"; }
folder() { # make a folder (and its parents), remembering the ones that did not exist
  [ -d "$1" ] && return 0
  folder "$(dirname "$1")"
  mkdir "$1"
  made "dir:$1"
}

if [ -d "$app" ]; then
  echo "Replacing the installed @NAME@ in $app"
  "$app/uninstall.sh" --keep-pairings --quiet
fi
folder "$data"
folder "$bin"
folder "$data/applications"
echo "Installing @NAME@ into $app"
cp -R "$here/app" "$app"
made "dir:$app"
cp "$here/uninstall.sh" "$app/uninstall.sh"
chmod +x "$app/uninstall.sh" "$app/@EXECUTABLE@"
if [ -e "$bin/@COMMAND@" ] || [ -L "$bin/@COMMAND@" ]; then
  echo "install.sh: $bin/@COMMAND@ exists and is not ours: move it away first." >&2
  rm -rf "$app"
  exit 1
fi
ln -s "$app/@EXECUTABLE@" "$bin/@COMMAND@"
made "file:$bin/@COMMAND@"

entry() { # a desktop entry that starts the companion (server and results window)
  cat <<DESKTOP
[Desktop Entry]
Type=Application
Name=@NAME@
GenericName=Shop the Look
Comment=@COMMENT@
Exec="$app/@EXECUTABLE@" serve
Icon=$app/icon.png
Terminal=false
Categories=Utility;Graphics;
StartupNotify=false
DESKTOP
}
entry > "$data/applications/@COMMAND@.desktop"
made "file:$data/applications/@COMMAND@.desktop"
if [ "$autostart" = 1 ]; then
  folder "$config/autostart"
  { entry; echo "X-GNOME-Autostart-enabled=true"; } > "$config/autostart/@COMMAND@.desktop"
  made "file:$config/autostart/@COMMAND@.desktop"
fi
# The settings folder (paired browsers) is made by the program when it first pairs.
made "dir:$config/@COMMAND@"
mv "$record" "$app/.installed"

echo "Installed. Start it from the applications menu, or run: @COMMAND@"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "($bin is not on your PATH: add it, or run $bin/@COMMAND@)" ;;
esac
echo "Then add the browser extension (see extension/README.txt) and pair it."
