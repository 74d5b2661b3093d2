"""The bundled companion's entry point (PyInstaller's script).

Started with no arguments, as a double-click or a menu entry does, it runs ``serve``: the
server the extension talks to, with the results window. With arguments it is the whole
``shop-the-look`` command line (``look``, ``doctor``, ``index build``, …).
"""

import sys

from companion.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["serve"]))
