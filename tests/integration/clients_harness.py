"""Harness for the client tests (clients_*_test.py): runs `wagate --sandbox`
on free loopback ports as a child process and runs client programs against it.

    gw = SandboxGateway.start()          # gw.grpc_address, gw.phone_number_id
    out = run([...], timeout=20)         # CompletedProcess with text output
    gw.set_faults({"error_rates": {"131026": 1.0}})   # emulator control API
    gw.stop()

Paths come from $WAGATE_BINARY_DIR and $WAGATE_SOURCE_DIR (set by CTest).
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

SOURCE_DIR = os.environ.get(
    "WAGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BINARY_DIR = os.environ.get("WAGATE_BINARY_DIR", os.path.join(SOURCE_DIR, "build", "release"))
PYTHON = "/usr/bin/python3"  # Debian's, with python3-grpcio


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, timeout=30, env=None, input=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=full_env, input=input)


class SandboxGateway:
    """`wagate --sandbox` with its store in a temp dir; ports from its output."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="wagate_clients_")
        self.proc = None
        self.stdout_lines = []
        self.grpc_address = ""
        self.http_address = ""
        self.graph_base_url = ""
        self.phone_number_id = ""
        self.waba_id = ""

    @classmethod
    def start(cls, attempts=3):
        last = None
        for _ in range(attempts):  # the free HTTP port may be taken meanwhile
            gw = cls()
            try:
                gw._start()
                return gw
            except RuntimeError as e:
                last = e
                gw.stop()
        raise last

    def _start(self):
        wagate = os.path.join(BINARY_DIR, "service", "wagate")
        self.http_address = "127.0.0.1:%d" % free_port()
        self.stderr_path = os.path.join(self.tmp.name, "wagate.stderr")
        stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [wagate, "--sandbox", "--grpc_address=127.0.0.1:0",
             "--http_address=" + self.http_address,
             "--store=sqlite:" + os.path.join(self.tmp.name, "w.db")],
            stdout=subprocess.PIPE, stderr=stderr, text=True)
        stderr.close()
        done = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.stdout_lines.append(line)
                if "Stop: Ctrl-C" in line:
                    done.set()
            done.set()

        threading.Thread(target=read, daemon=True).start()
        if not done.wait(20) or self.proc.poll() is not None:
            raise RuntimeError("wagate --sandbox did not start:\n" + self.stderr())
        text = "".join(self.stdout_lines)
        m = re.search(r"grpcurl -plaintext (\S+) list", text)
        self.grpc_address = m.group(1) if m else ""
        m = re.search(r"phone_number_id (\S+?),", text)
        self.phone_number_id = m.group(1) if m else ""
        m = re.search(r"waba_id (\S+?),", text)
        self.waba_id = m.group(1) if m else ""
        m = re.search(r"embedded emulator at\s+(\S+?),", text)
        self.graph_base_url = m.group(1) if m else ""
        if not (self.grpc_address and self.phone_number_id and self.graph_base_url):
            raise RuntimeError("unexpected sandbox output:\n" + text)

    def stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def set_faults(self, faults):
        """POSTs /_emulator/faults (see emulator/control_api.cc)."""
        req = urllib.request.Request(
            self.graph_base_url.rstrip("/") + "/_emulator/faults",
            data=json.dumps(faults).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.tmp.cleanup()


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
