"""The OS-level privacy test's reading of strace (``tests.support.strace_audit``), on lines
recorded from real runs of ``serve`` (folders shortened to /t/user): ONNX Runtime's telemetry
and DNS look-ups are reported; the companion's own loopback traffic, pairing file and reads
are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.strace_audit import file_changes, split_args, violations

USER = Path("/t/user")
CWD = USER / "home"
CONFIG = USER / "config" / "shop-the-look"
INDEX = Path("/t/index")
ORT = "/t/user/cache/Microsoft/DeveloperTools/.onnxruntime"

# Recorded with telemetry left on (strace -f -ff -yy -tt).
TELEMETRY = [
    '16:07:36.851480 mkdir("/t/user/cache/Microsoft", 0700) = 0',
    f'16:07:36.853586 openat(AT_FDCWD</t/user/home>, "{ORT}/onnxruntime.db", '
    f"O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0644) = 3<{ORT}/onnxruntime.db>",
    f'16:07:36.853992 chmod("{ORT}/onnxruntime.db-wal", 0600) = -1 ENOENT (No such file or '
    "directory)",
    '16:07:36.916416 openat(AT_FDCWD</t/user/home>, "/t/user/tmp/.ses", '
    "O_WRONLY|O_CREAT|O_TRUNC, 0666) = 6</t/user/tmp/.ses>",
    f'16:07:36.917391 linkat(6<{ORT}>, "deviceid.tmp.4b3d152c", 6<{ORT}>, "deviceid", 0) = 0',
    f'16:07:52.460434 unlink("{ORT}/onnxruntime.db-shm") = 0',
]
DNS = [
    '16:07:45.956194 connect(19<UNIX-STREAM:[214353]>, {sa_family=AF_UNIX, '
    'sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)',
    '16:07:45.956654 openat(AT_FDCWD</t/user/home>, "/etc/resolv.conf", O_RDONLY|O_CLOEXEC) '
    "= 19</etc/resolv.conf>",
    '16:07:45.956958 connect(19<UDP:[214363]>, {sa_family=AF_INET, sin_port=htons(53), '
    'sin_addr=inet_addr("10.255.255.53")}, 16) = 0',
    '16:02:36.645060 sendto(19<UDP:[192.0.2.2:44251->10.255.255.53:53]>, "\\335\\207\\1\\0\\0'
    '\\1\\0\\0\\0\\0\\0\\0\\6mobile\\6events\\4data\\tmicrosoft\\3com\\0\\0\\34\\0\\1", 50, '
    "MSG_NOSIGNAL, NULL, 0) = 50",
]
# Recorded with telemetry off: a pairing and a look.
COMPANION = [
    '16:00:23.285445 bind(6<TCP:[193112]>, {sa_family=AF_INET, sin_port=htons(60391), '
    'sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
    '16:00:23.560759 sendto(14<TCP:[127.0.0.1:60391->127.0.0.1:35438]>, "HTTP/1.1 200 OK\\r\\n'
    'Cache-Control: no-store\\r\\n"..., 235, 0, NULL, 0) = 235',
    '16:02:05.754163 sendto(5<UNIX-STREAM:[193111->193110]>, "\\0", 1, 0, NULL, 0) = 1',
    '16:00:23.680320 mkdir("/t/user/config/shop-the-look", 0777) = 0',
    '16:00:23.683939 openat(AT_FDCWD</t/user/home>, "/t/user/config/shop-the-look/.pairings-'
    'stz1ps_j", O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600) = 16</t/user/config/shop-the-'
    "look/.pairings-stz1ps_j>",
    '16:00:23.684224 rename("/t/user/config/shop-the-look/.pairings-stz1ps_j", '
    '"/t/user/config/shop-the-look/pairings.json") = 0',
    '16:00:22.797467 openat(AT_FDCWD</t/user/home>, "/repo/.venv/lib/python3.11/site-'
    'packages/aiohttp/__pycache__/resolver.cpython-311.pyc", O_RDONLY|O_CLOEXEC) = 3',
    '16:00:24.100000 openat(AT_FDCWD</t/user/home>, "/dev/null", O_WRONLY|O_CLOEXEC) = 7',
    "16:00:23.267188 socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, "
    "[4<UNIX-STREAM:[193110->193111]>, 5<UNIX-STREAM:[193111->193110]>]) = 0",
]


def found(lines: list[str]) -> list[tuple[str, str]]:
    return [(v.kind, v.target) for v in violations(lines, [CONFIG, INDEX], CWD)]


def test_the_companion_s_own_traffic_pairing_file_and_reads_are_not_violations():
    assert found(COMPANION) == []


def test_onnx_runtime_telemetry_files_are_reported_wherever_the_call_names_them():
    assert found(TELEMETRY) == [
        ("write", "/t/user/cache/Microsoft"),
        ("write", f"{ORT}/onnxruntime.db"),
        ("write", f"{ORT}/onnxruntime.db-wal"),  # an attempt that failed still counts
        ("write", "/t/user/tmp/.ses"),
        ("write", f"{ORT}/deviceid"),  # relative to the descriptor's folder
        ("write", f"{ORT}/onnxruntime.db-shm"),
    ]


def test_every_step_of_a_dns_look_up_is_reported():
    assert found(DNS) == [
        ("dns", "unix:/var/run/nscd/socket"),
        ("dns", "/etc/resolv.conf"),
        ("dns", "10.255.255.53:53"),
        ("dns", "10.255.255.53:53"),  # the query itself, on the connected socket
    ]


@pytest.mark.parametrize("line, expected", [
    ('connect(9<TCP:[1]>, {sa_family=AF_INET, sin_port=htons(443), '
     'sin_addr=inet_addr("20.42.65.92")}, 16) = -1 EINPROGRESS', ("network", "20.42.65.92:443")),
    ('connect(9<TCPv6:[1]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
     'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
     ("network", "2001:db8::1:443")),
    ('connect(9<UDP:[1]>, {sa_family=AF_INET, sin_port=htons(53), '
     'sin_addr=inet_addr("127.0.0.53")}, 16) = 0', ("dns", "127.0.0.53:53")),
    ('sendto(9<UDP:[1]>, "\\1\\2", 2, 0, {sa_family=AF_INET, sin_port=htons(53), '
     'sin_addr=inet_addr("8.8.8.8")}, 16) = 2', ("dns", "8.8.8.8:53")),
    ('sendto(9<UDP:[192.0.2.2:5000->203.0.113.5:443]>, "x", 1, 0, NULL, 0) = 1',
     ("network", "203.0.113.5:443")),
    ('sendmsg(9<UDP:[1]>, {msg_name={sa_family=AF_INET, sin_port=htons(123), '
     'sin_addr=inet_addr("192.0.2.9")}, msg_namelen=16, msg_iov=[{iov_base="x", iov_len=1}], '
     "msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1", ("network", "192.0.2.9:123")),
    ('bind(6<TCP:[1]>, {sa_family=AF_INET, sin_port=htons(17317), '
     'sin_addr=inet_addr("0.0.0.0")}, 16) = 0', ("network", "0.0.0.0:17317")),
    ('connect(9<UNIX-STREAM:[1]>, {sa_family=AF_UNIX, sun_path="/run/dbus/system_bus_socket"}'
     ", 110) = 0", ("network", "unix:/run/dbus/system_bus_socket")),
    # split by plain strace -f (no -ff): the address is printed before the call finishes
    ('4242 connect(8, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.1")}'
     ", 16 <unfinished ...>", ("dns", "10.0.0.1:53")),
    ('openat(AT_FDCWD</t/user/home>, "notes.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3',
     ("write", "/t/user/home/notes.txt")),
    ('openat(AT_FDCWD</t/user/home>, "../config/shop-the-look/../../tmp/x", O_RDWR) = 3',
     ("write", "/t/user/tmp/x")),
    ('renameat2(AT_FDCWD</t/user/home>, "/t/user/config/shop-the-look/a", AT_FDCWD</t/user/home>'
     ', "/t/user/data/a", RENAME_NOREPLACE) = 0', ("write", "/t/user/data/a")),
    ('openat(AT_FDCWD</t/user/home>, "/t/user/tmp/\\x70hoto.jpg", O_WRONLY|O_CREAT, 0600) = 3',
     ("write", "/t/user/tmp/photo.jpg")),
])
def test_what_leaves_the_machine_or_the_allowed_folders_is_reported(line, expected):
    assert found([line]) == [expected]


@pytest.mark.parametrize("line", [
    'connect(9<TCP:[1]>, {sa_family=AF_INET, sin_port=htons(17317), '
    'sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
    'connect(9<TCPv6:[1]>, {sa_family=AF_INET6, sin6_port=htons(17317), sin6_flowinfo=htonl(0), '
    'inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
    "sendto(3<NETLINK:[ROUTE:1]>, [{nlmsg_len=20, nlmsg_type=RTM_GETADDR}], 20, 0, "
    "{sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 20",
    'sendmsg(9<UNIX-STREAM:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="'
    'sa_family=AF_INET, sin_port=htons(53)", iov_len=36}], msg_iovlen=1}, 0) = 36',
    'openat(AT_FDCWD</t/user/home>, "/t/index/manifest.json", O_RDWR) = 3',
    'openat(AT_FDCWD</t/user/home>, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3',
    "4242 <... connect resumed>) = 0",
    "--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=1, si_uid=0} ---",
])
def test_what_stays_on_the_machine_and_in_the_allowed_folders_is_not(line):
    assert found([line]) == []


def test_the_changes_listed_include_allowed_ones_so_a_test_can_see_the_trace_is_live():
    changes = [path for path, _ in file_changes(COMPANION, str(CWD))]
    assert str(CONFIG / "pairings.json") in changes
    assert "/dev/null" in changes


def test_arguments_split_at_top_level_commas_only():
    text = ('14<TCP:[127.0.0.1:1->127.0.0.1:2]>, "a, \\"b\\"", {sa_family=AF_INET, '
            'sin_port=htons(5)}, [16 => 8]) = 0')
    assert split_args(text) == ["14<TCP:[127.0.0.1:1->127.0.0.1:2]>", '"a, \\"b\\""',
                                "{sa_family=AF_INET, sin_port=htons(5)}", "[16 => 8]"]
