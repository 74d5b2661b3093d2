"""``shop-the-look models list``: the shipped models and whether their files are intact (in a CPU
bundle each file is the model's optimised graph, and the list says which file it was made from)."""

from __future__ import annotations


def register(commands) -> None:
    models = commands.add_parser("models", help="inspect the shipped models")
    actions = models.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="name, task, size, licence and checksum state")
    listing.set_defaults(handler=run_list)
    models.set_defaults(handler=lambda _args: models.print_help() or 2)


def run_list(_args) -> int:
    """One line per model; 1 when any model file does not match its checksum."""
    from companion.inference.manifest import file_sha256
    from companion.inference.optimized import origin
    from companion.inference.store import ModelStore

    store = ModelStore()
    print(f"{'name':<20} {'task':<18} {'size':>8}  {'sha256':<8}  licence")
    broken = 0
    for name in store.available():
        manifest = store.manifest(name)
        ok = manifest.path.is_file() and file_sha256(manifest.path) == manifest.sha256
        broken += not ok
        print(f"{name:<20} {manifest.task:<18} {manifest.size_bytes / 1e6:>6.1f}MB  "
              f"{'ok' if ok else 'BAD':<8}  {manifest.licence}")
        made = origin(manifest)  # a CPU bundle ships the graph in place of the model's file
        if made is not None:
            print(f"{'':<20} {manifest.path.name}: {made.describe()}")
    return 1 if broken else 0
