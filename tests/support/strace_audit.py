"""The companion watched from outside, with strace: every connection it opens and every file it
writes, native code included (Python's audit hooks see neither ONNX Runtime's C++ threads nor
any other library's). ``Traced`` runs a command under strace; ``violations`` reads the trace.

What counts, and why:

- ``dns``: a connect or send to port 53 (any address: 127.0.0.53 is a resolver that forwards), a
  connect to a local name service (nscd, systemd-resolved), or opening ``/etc/resolv.conf``,
  which glibc reads only when a look-up goes to DNS. The companion resolves no names at all.
- ``network``: a connect, send or bind to an IPv4/IPv6 address that is not loopback, a connect to
  any other local socket (nothing the companion runs needs another process), or a socket family
  that is neither. Kernel queries (netlink) and the event loop's own socketpairs are not network.
- ``write``: opening a file to write (write, read-write, create, truncate, append, O_TMPFILE),
  creating, renaming (either name), linking, removing, truncating or chmod-ing a path outside
  the folders the test allows, ``/dev/null`` aside (it keeps nothing). An attempt counts even
  where it failed: a read-only HOME must not hide an attempt to write there.
"""

from __future__ import annotations

import codecs
import contextlib
import ipaddress
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# What strace stops on (--seccomp-bpf: every other system call runs at full speed).
TRACED_CALLS = (
    "%network", "open", "openat", "openat2", "creat", "rename", "renameat", "renameat2", "link",
    "linkat", "symlink", "symlinkat", "mkdir", "mkdirat", "unlink", "unlinkat", "rmdir",
    "truncate", "chmod", "fchmodat", "mknod", "mknodat",
)
STRACE = "strace"
# One file per thread (-ff: no interleaved <unfinished ...> lines), times of day, descriptors
# annotated with their paths and socket endpoints (-yy), so relative paths can be resolved.
STRACE_OPTIONS = ("-f", "-ff", "-qq", "--seccomp-bpf", "-yy", "-tt", "-s", "80")

# (index of the directory descriptor or None for the working directory, index of the path) for
# each call that changes the file system; open calls count only when their flags write.
PATH_ARGS: dict[str, tuple[tuple[int | None, int], ...]] = {
    "open": ((None, 0),), "openat": ((0, 1),), "openat2": ((0, 1),), "creat": ((None, 0),),
    "rename": ((None, 0), (None, 1)), "renameat": ((0, 1), (2, 3)),
    "renameat2": ((0, 1), (2, 3)), "link": ((None, 1),), "linkat": ((2, 3),),
    "symlink": ((None, 1),), "symlinkat": ((1, 2),), "mkdir": ((None, 0),),
    "mkdirat": ((0, 1),), "unlink": ((None, 0),), "unlinkat": ((0, 1),), "rmdir": ((None, 0),),
    "truncate": ((None, 0),), "chmod": ((None, 0),), "fchmodat": ((0, 1),),
    "mknod": ((None, 0),), "mknodat": ((0, 1),),
}
OPEN_FLAGS_ARG = {"open": 1, "openat": 2, "openat2": 2}
WRITE_FLAGS = re.compile(r"\bO_(?:WRONLY|RDWR|CREAT|TRUNC|APPEND|TMPFILE)\b")
SENDS = {"sendto": 4, "sendmsg": 1, "sendmmsg": 1}  # call -> the argument holding the address
NAME_SERVICE_SOCKETS = ("/var/run/nscd/socket", "/run/nscd/socket",
                        "/run/systemd/resolve/io.systemd.Resolve")
RESOLVER_CONFIG = "/etc/resolv.conf"
KEEPS_NOTHING = ("/dev/null",)

CALL = re.compile(r"^(?:\d+ +)?(?:\d\d:\d\d:\d\d(?:\.\d+)? +)?(?P<call>\w+)\((?P<args>.*)$")
FAMILY = re.compile(r"sa_family=(AF_\w+)")
PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
IPV4 = re.compile(r'inet_addr\("([^"]+)"\)')
IPV6 = re.compile(r'inet_pton\(AF_INET6, "([^"]+)"')
UNIX_PATH = re.compile(r'sun_path=(@?)("(?:[^"\\]|\\.)*")')
MESSAGE_NAME = re.compile(r"msg_name=(\{[^}]*\})")
ENDPOINTS = re.compile(r"<(?:TCP|UDP)(?:v6)?:\[(?P<ends>.*)\]>")


@dataclass(frozen=True)
class Violation:
    kind: str  # "dns", "network" or "write"
    target: str  # the address, socket or path
    line: str  # the strace line, for the failure message

    def __str__(self) -> str:
        return f"{self.kind}: {self.target}\n    {self.line}"


def split_args(text: str) -> list[str]:
    """The top-level arguments of one call, ``text`` being everything after ``call(``; quoted
    strings, ``{…}``, ``[…]`` and ``<…>`` annotations (which hold ``->``) are kept whole."""
    args, current, depth, i = [], [], 0, 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            current.append(text[i:end])
            i = end
            continue
        if char == "<":
            end = _annotation_end(text, i)
            current.append(text[i:end])
            i = end
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif char == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    args.append("".join(current).strip())
    return args


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _annotation_end(text: str, start: int) -> int:
    depth, i = 0, start + 1
    while i < len(text):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
        elif text[i] == ">" and depth <= 0:
            return i + 1
        i += 1
    return i


def unquote(text: str) -> str | None:
    """The value of a strace string (``"a\\x62"`` → ``ab``), or None for anything else."""
    match = re.match(r'"((?:[^"\\]|\\.)*)"', text.strip())
    if not match:
        return None
    raw = codecs.escape_decode(match.group(1).encode("latin-1", "backslashreplace"))[0]
    return raw.decode("utf-8", "surrogateescape")


def annotated_path(arg: str) -> str | None:
    """The path strace -y prints after a descriptor (``6</tmp/x>``, ``AT_FDCWD</home>``)."""
    match = re.match(r"^[\w-]+<(.*)>$", arg.strip(), re.DOTALL)
    return match.group(1) if match else None


def _resolve(args: list[str], dir_index: int | None, path_index: int, cwd: str) -> str | None:
    path = unquote(args[path_index]) if path_index < len(args) else None
    if path is None:
        return None
    if path.startswith("/"):
        return os.path.normpath(path)
    base = cwd if dir_index is None else annotated_path(args[dir_index])
    if base is None:
        return f"(relative to an unknown folder) {path}"
    return os.path.normpath(os.path.join(base, path))


def _changed_paths(call: str, args: list[str], cwd: str) -> list[str]:
    """The paths one call changes (none for an open that only reads)."""
    flags_index = OPEN_FLAGS_ARG.get(call)
    if flags_index is not None and not (
            flags_index < len(args) and WRITE_FLAGS.search(args[flags_index])):
        return []
    paths = (_resolve(args, dir_index, path_index, cwd)
             for dir_index, path_index in PATH_ARGS.get(call, ()))
    return [path for path in paths if path is not None]


def calls(lines: Iterable[str]) -> Iterable[tuple[str, list[str], str]]:
    """(call, its arguments, the line) for each system call line of a trace."""
    for line in lines:
        match = CALL.match(line)
        if match:
            yield match["call"], split_args(match["args"]), line.strip()


def file_changes(lines: Iterable[str], cwd: str) -> list[tuple[str, str]]:
    """(path, line) for every change to the file system in the trace; relative paths resolved
    against the descriptor's annotated folder, or ``cwd`` where the call has no descriptor."""
    return [(path, line) for call, args, line in calls(lines)
            for path in _changed_paths(call, args, cwd)]


def _inside(path: str, folders: Sequence[str]) -> bool:
    return path in KEEPS_NOTHING or any(
        path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)


def _address_violation(address: str) -> tuple[str, str] | None:
    """(kind, target) for a sockaddr strace printed, or None where it stays on the machine."""
    family = FAMILY.search(address)
    if not family or family.group(1) in ("AF_NETLINK", "AF_UNSPEC"):
        return None
    if family.group(1) == "AF_UNIX":
        path = UNIX_PATH.search(address)
        name = (path.group(1) + (unquote(path.group(2)) or "")) if path else "(unnamed)"
        return ("dns" if name in NAME_SERVICE_SOCKETS else "network"), f"unix:{name}"
    if family.group(1) not in ("AF_INET", "AF_INET6"):
        return "network", family.group(1)
    host = IPV4.search(address) or IPV6.search(address)
    port = PORT.search(address)
    return _host_violation(host.group(1) if host else "?", port.group(1) if port else "?")


def _host_violation(host: str, port: str) -> tuple[str, str] | None:
    target = f"{host}:{port}"
    if port == "53":
        return "dns", target
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "network", target
    mapped = getattr(address, "ipv4_mapped", None)
    return None if (mapped or address).is_loopback else ("network", target)


def _endpoint_violation(descriptor: str) -> tuple[str, str] | None:
    """The remote end of a connected TCP/UDP socket, from strace -yy's annotation."""
    match = ENDPOINTS.search(descriptor)
    if not match or "->" not in match["ends"]:
        return None  # not connected: the connect or the send's own address says where
    host, _, port = match["ends"].split("->", 1)[1].rpartition(":")
    return _host_violation(host.strip("[]"), port)


def _network_violation(call: str, args: list[str]) -> tuple[str, str] | None:
    if call in ("connect", "bind"):
        found = _address_violation(args[1]) if len(args) > 1 else None
        if call == "bind" and found and found[1].startswith("unix:"):
            return None  # binding a local socket reaches no one
        return found
    if call in SENDS:
        where = SENDS[call]
        given = args[where] if len(args) > where else ""
        # a message's addresses only, never its data
        addresses = [given] if call == "sendto" else MESSAGE_NAME.findall(given)
        found = next(filter(None, map(_address_violation, addresses)), None)
        return found or _endpoint_violation(args[0])
    return None


def violations(lines: Iterable[str], writable: Sequence[Path], cwd: Path) -> list[Violation]:
    """Every DNS query, connection beyond loopback and file change outside ``writable``, in the
    order of the trace."""
    folders = [str(p) for folder in writable for p in {Path(folder), Path(folder).resolve()}]
    found = []
    for call, args, line in calls(lines):
        found += [Violation("write", path, line)
                  for path in _changed_paths(call, args, str(cwd)) if not _inside(path, folders)]
        if call in OPEN_FLAGS_ARG:
            dir_index, path_index = PATH_ARGS[call][0]
            if _resolve(args, dir_index, path_index, str(cwd)) == RESOLVER_CONFIG:
                found.append(Violation("dns", RESOLVER_CONFIG, line))
        network = _network_violation(call, args)
        if network:
            found.append(Violation(*network, line))
    return found


def read_trace(folder: Path) -> list[str]:
    """Every line of every thread's trace file (``trace.<tid>``), thread by thread."""
    return [line for path in sorted(folder.glob("trace.*"))
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]


def files_containing(folders: Iterable[Path], data: bytes) -> list[Path]:
    """The files under ``folders`` holding ``data`` whole, or a 4 KB stretch of its middle (a
    copy with a new header, or a prefix of it, still gives the photo away)."""
    middle = data[len(data) // 2: len(data) // 2 + 4096]
    return [path for folder in folders for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.is_symlink()
            and (data in (content := path.read_bytes()) or middle in content)]


class Traced:
    """A command run under strace, writing one trace file per thread into ``trace_dir``."""

    def __init__(self, command: Sequence[str], env: dict[str, str], cwd: Path,
                 trace_dir: Path) -> None:
        trace_dir.mkdir(parents=True, exist_ok=True)
        self.trace_dir = trace_dir
        self.process = subprocess.Popen(
            [STRACE, *STRACE_OPTIONS, "-e", "trace=" + ",".join(TRACED_CALLS),
             "-o", str(trace_dir / "trace"), *command],
            env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)

    def traced_pid(self, timeout: float = 30.0) -> int:
        """The command's own process id: strace does not pass SIGTERM on to it."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = children.read_text().split() if children.exists() else []
            if pids:
                return int(pids[0])
            time.sleep(0.05)
        raise TimeoutError("strace started no process")

    def stop(self, timeout: float = 60.0) -> str:
        """SIGTERM to the command, as a service manager stops it; its output."""
        if self.process.poll() is None:
            os.kill(self.traced_pid(), signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 60.0) -> str:
        try:
            return self.process.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError, TimeoutError):
                os.kill(self.traced_pid(timeout=1), signal.SIGKILL)
            self.process.kill()
            return self.process.communicate()[0]

    def lines(self) -> list[str]:
        return read_trace(self.trace_dir)
