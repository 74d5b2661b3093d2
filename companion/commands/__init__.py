"""The ``shop-the-look`` commands, one module each: ``register(commands)`` adds its parser to the
command line's subparsers and points it at the function that runs it.

Each module imports the heavy parts (models, catalog, window) only when its command runs, so
``--help`` stays instant.
"""
