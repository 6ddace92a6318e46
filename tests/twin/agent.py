#!/usr/bin/env python3
"""The twin's tiny servers and probes (tests/twin). One process reaches every namespace.

A socket belongs to the network namespace of the thread that created it, so this process
enters a namespace (setns), creates a socket there and moves on: one process serves every
host of the twin, and one probe run sends every probe of the intent table in parallel.
It runs inside the twin's private mount namespace, where /run/netns/<name> exist.

  agent.py serve CONFIG.json   listen on every host's ports; print "ready" when all are bound
  agent.py probe PROBES.json   run the probes in parallel; print one JSON result per probe

Servers answer with the name of the host they stand for, so a probe knows who replied:
  - raw TCP: "<name> <port>/tcp from <peer>\n" after the client's first line, or after
    0.3 s of silence (SSH-style, server speaks first);
  - HTTP (and HTTPS, detected by the TLS ClientHello): 200 with a JSON body naming the
    host, the port, the peer address and the Host header;
  - UDP: "<name> <port>/udp from <peer>\n" for any datagram.
"""
import ctypes
import json
import os
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter(ns):
    """Move the calling thread into network namespace `ns` (a name under /run/netns)."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {ns}: {os.strerror(err)}")
    finally:
        os.close(fd)


# --- servers ---------------------------------------------------------------------------------------

REQUEST_LINE = re.compile(rb"^[A-Z]{3,7} \S+ HTTP/1\.[01]\r?\n?$")


def read_until(conn, marker, limit=65536):
    data = b""
    while marker not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def http_answer(conn, head, name, port, scheme, peer):
    lines = head.split(b"\r\n")
    method, path = (lines[0].split(b" ") + [b"", b""])[:2]
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    body = json.dumps({
        "name": name, "port": port, "scheme": scheme, "from": peer, "method": method.decode("latin-1"),
        "path": path.decode("latin-1"), "host": headers.get("host"), "xff": headers.get("x-forwarded-for"),
        "authorization": headers.get("authorization"),
    }).encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)


def serve_tcp_conn(conn, peer, name, port, tls):
    banner = f"{name} {port}/tcp from {peer}\n".encode()
    try:
        conn.settimeout(0.3)
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            first = b""
        conn.settimeout(3)
        if first == b"\x16" and tls is not None:
            conn = tls.wrap_socket(conn, server_side=True)
            head = read_until(conn, b"\r\n\r\n")
            if REQUEST_LINE.match(head.split(b"\n", 1)[0] + b"\n"):
                http_answer(conn, head, name, port, "https", peer)
            else:
                conn.sendall(banner)
            return
        if not first:
            conn.sendall(banner)
            return
        head = read_until(conn, b"\n", 4096)
        if REQUEST_LINE.match(head.split(b"\n", 1)[0] + b"\n"):
            if b"\r\n\r\n" not in head:
                head += read_until(conn, b"\r\n\r\n")
            http_answer(conn, head, name, port, "http", peer)
        else:
            conn.sendall(banner)
    except Exception as e:  # a probe that hangs up early is not the server's failure
        print(f"{name} {port}/tcp: {e!r}", file=sys.stderr, flush=True)
    finally:
        try:
            conn.close()
        except OSError:
            pass


def family(address):
    """The socket family of an address: the twin is IPv4, except where a test turns IPv6 on."""
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def accept_loop(sock, name, port, tls):
    while True:
        conn, peer_address = sock.accept()
        peer = peer_address[0]
        threading.Thread(target=serve_tcp_conn, args=(conn, peer, name, port, tls), daemon=True).start()


def udp_loop(sock, name, port):
    while True:
        data, peer_address = sock.recvfrom(65535)
        sock.sendto(f"{name} {port}/udp from {peer_address[0]}\n".encode(), peer_address)


def serve(config):
    tls = None
    if config.get("cert"):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(config["cert"], config["key"])
    threads = []
    for h in config["hosts"]:
        enter(h["ns"])
        # A TLS backend presents its own certificate, the one the proxy verifies it against.
        own = {}
        for port, pair in h.get("tls", {}).items():
            own[int(port)] = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            own[int(port)].load_cert_chain(pair["cert"], pair["key"])
        for port in h.get("tcp", []):
            s = socket.socket(family(h["address"]), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((h["address"], port))
            s.listen(64)
            threads.append(threading.Thread(target=accept_loop, args=(s, h["name"], port, own.get(port, tls)), daemon=True))
        for port in h.get("udp", []):
            s = socket.socket(family(h["address"]), socket.SOCK_DGRAM)
            s.bind((h["address"], port))
            threads.append(threading.Thread(target=udp_loop, args=(s, h["name"], port), daemon=True))
    for t in threads:
        t.start()
    print("ready", flush=True)
    # Bounded by the twin: its PID namespace ends this process with everything else.
    while True:
        time.sleep(3600)


# --- probes ----------------------------------------------------------------------------------------

def dns_query(qname):
    qid = random.randrange(1, 65535)
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q = b"".join(bytes([len(p)]) + p.encode() for p in qname.rstrip(".").split(".")) + b"\x00"
    return header + q + struct.pack("!HH", 1, 1)


RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}


def dns_text(reply):
    flags, _qd, an = struct.unpack("!HHH", reply[2:8])
    return f"dns {RCODES.get(flags & 0xF, flags & 0xF)} answers={an}"


NTP_REQUEST = bytes([0x23]) + bytes(47)  # LI 0, version 4, mode 3 (client)


def recv_line(sock, deadline):
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").split("\n")[0]


def classify(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, OSError) and e.errno in (113, 101):  # EHOSTUNREACH, ENETUNREACH
        return "unreachable"
    return "error"


def run_tcp(p, sock):
    timeout = p.get("timeout", 0.9)
    sock.settimeout(timeout)
    sock.connect((p["dst"], p["port"]))
    kind = p.get("kind", "line")
    deadline = time.monotonic() + p.get("replyTimeout", 2.5)
    if kind == "connect":
        return "reply", "connected"
    if kind == "dns":
        q = dns_query(p["qname"])
        sock.sendall(struct.pack("!H", len(q)) + q)
        sock.settimeout(p.get("replyTimeout", 2.5))
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return ("reply", dns_text(data[2:])) if len(data) > 8 else ("silent", "")
    if kind == "https":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock.settimeout(p.get("replyTimeout", 2.5))
        tls = ctx.wrap_socket(sock, server_hostname=p["host"])
        auth = f"Authorization: Basic {p['auth']}\r\n" if p.get("auth") else ""
        tls.sendall(f"GET {p.get('path', '/')} HTTP/1.1\r\nHost: {p['host']}\r\n{auth}Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ")[1].decode() if b" " in head else "?"
        return "reply", f"{status} {body.decode('utf-8', 'replace')}"
    if kind == "line":
        sock.sendall(b"PROBE\n")
    text = recv_line(sock, deadline)
    return ("reply", text) if text else ("silent", "")


def run_udp(p, sock):
    sock.connect((p["dst"], p["port"]))
    kind = p.get("kind", "line")
    payload = dns_query(p["qname"]) if kind == "dns" else NTP_REQUEST if kind == "ntp" else b"PROBE\n"
    sock.send(payload)
    sock.settimeout(p.get("timeout", 0.9))
    data = sock.recv(65535)
    if kind == "dns":
        return "reply", dns_text(data)
    if kind == "ntp":
        return "reply", f"ntp stratum={data[1]}" if len(data) >= 48 else "ntp short"
    return "reply", data.decode("utf-8", "replace").split("\n")[0]


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def run_ping(p, sock, ident):
    packet = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"twin-ping"
    packet = packet[:2] + struct.pack("!H", checksum(packet)) + packet[4:]
    sock.sendto(packet, (p["dst"], 0))
    deadline = time.monotonic() + p.get("timeout", 0.9)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        data, (src, _) = sock.recvfrom(65535)
        ihl = (data[0] & 0x0F) * 4
        icmp_type, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if icmp_type == 0 and rid == ident and src == p["dst"]:
            return "reply", "pong"


DHCP_OPTIONS = {1: "netmask", 3: "router", 6: "dns", 15: "domain", 42: "ntp", 51: "lease", 54: "server", 119: "search"}


def run_dhcp(p, sock):
    """A DHCPDISCOVER for p["mac"]; the OFFER's address and options, as JSON text."""
    xid = random.randrange(1, 2**32)
    mac = bytes.fromhex(p["mac"].replace(":", ""))
    packet = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4), bytes(4), bytes(4),
                         mac.ljust(16, b"\x00"), bytes(64), bytes(128))
    packet += b"\x63\x82\x53\x63" + bytes([53, 1, 1, 55, 8, 1, 3, 6, 15, 42, 51, 54, 119, 255])
    sock.sendto(packet, ("255.255.255.255", 67))
    deadline = time.monotonic() + p.get("timeout", 5)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        data = sock.recv(4096)
        if len(data) < 240 or data[0] != 2 or struct.unpack("!I", data[4:8])[0] != xid:
            continue
        offer = {"address": socket.inet_ntoa(data[16:20])}
        i = 240
        while i < len(data) and data[i] != 255:
            if data[i] == 0:
                i += 1
                continue
            code, length = data[i], data[i + 1]
            value = data[i + 2:i + 2 + length]
            i += 2 + length
            name = DHCP_OPTIONS.get(code)
            if code == 53:
                offer["type"] = value[0]
            elif code in (1, 3, 6, 42, 54):
                offer[name] = [socket.inet_ntoa(value[j:j + 4]) for j in range(0, len(value), 4)]
            elif code == 15:
                offer[name] = value.decode()
            elif code == 51:
                offer[name] = struct.unpack("!I", value)[0]
            elif code == 119:
                labels, j = [], 0
                while j < len(value) and value[j]:
                    labels.append(value[j + 1:j + 1 + value[j]].decode())
                    j += 1 + value[j]
                offer[name] = ".".join(labels)
        return "reply", json.dumps(offer, sort_keys=True)


def probe(probes):
    results = [None] * len(probes)
    sockets = []
    # Sockets are made here, one namespace at a time; the threads only use them.
    for i, p in enumerate(probes):
        try:
            enter(p["ns"])
            if p["proto"] == "icmp":
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            elif p["proto"] == "dhcp":
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, p["iface"].encode())
                s.bind(("0.0.0.0", 68))
                sockets.append(s)
                continue
            else:
                s = socket.socket(family(p["dst"]), socket.SOCK_STREAM if p["proto"] == "tcp" else socket.SOCK_DGRAM)
            s.bind((p["src"], 0))
            sockets.append(s)
        except OSError as e:
            sockets.append(None)
            results[i] = {"id": p["id"], "outcome": "error", "text": f"setup: {e}", "ms": 0}

    def one(i, p, s):
        start = time.monotonic()
        try:
            if p["proto"] == "tcp":
                outcome, text = run_tcp(p, s)
            elif p["proto"] == "udp":
                outcome, text = run_udp(p, s)
            elif p["proto"] == "dhcp":
                outcome, text = run_dhcp(p, s)
            else:
                outcome, text = run_ping(p, s, 0x4000 + i)
        except Exception as e:  # noqa: BLE001 - every failure is a result
            outcome, text = classify(e), f"{type(e).__name__}: {e}"
        finally:
            try:
                s.close()
            except OSError:
                pass
        results[i] = {"id": p["id"], "outcome": outcome, "text": text, "ms": round((time.monotonic() - start) * 1000)}

    threads = [threading.Thread(target=one, args=(i, p, s)) for i, (p, s) in enumerate(zip(probes, sockets)) if s is not None]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for i, p in enumerate(probes):
        if results[i] is None:
            results[i] = {"id": p["id"], "outcome": "error", "text": "probe thread did not finish in 10 s", "ms": 10000}
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        data = json.load(f)
    if mode == "serve":
        serve(data)
    elif mode == "probe":
        probe(data)
    else:
        raise SystemExit(f"usage: agent.py serve|probe FILE (not {mode})")


if __name__ == "__main__":
    main()
