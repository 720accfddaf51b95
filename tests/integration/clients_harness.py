"""Harness for the client tests (clients_*_test.py): runs `wagate --sandbox`
on free loopback ports as a child process and runs client programs against it.

    gw = SandboxGateway.start()          # gw.grpc_address, gw.phone_number_id
    out = run([...], timeout=20)         # CompletedProcess with text output
    gw.set_faults({"error_rates": {"131026": 1.0}})   # emulator control API
    gw.stop()

ExampleTests holds the tests every language's send/subscribe examples pass.
Paths come from $WAGATE_BINARY_DIR and $WAGATE_SOURCE_DIR (set by CTest).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SOURCE_DIR = os.environ.get(
    "WAGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BINARY_DIR = os.environ.get("WAGATE_BINARY_DIR", os.path.join(SOURCE_DIR, "build", "release"))
PYTHON = "/usr/bin/python3"  # Debian's, with python3-grpcio
NODE = "node"
NODE_MODULES = os.path.join(SOURCE_DIR, "node_modules")


def node_modules_present():
    """True if the npm packages are installed; else says so loudly on stderr."""
    if os.path.isdir(os.path.join(NODE_MODULES, "@grpc", "grpc-js")):
        return True
    sys.stderr.write("\n" + "!" * 72 + "\n!! SKIPPING the Node client tests: " +
                     NODE_MODULES + "/@grpc/grpc-js is missing.\n!! Run "
                     "`bash scripts/setup` (npm ci) to install it.\n" +
                     "!" * 72 + "\n\n")
    return False


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


class ExampleTests:
    """The contract every language's examples meet; a subclass sets SEND and
    SUBSCRIBE (argv prefixes) and also derives from unittest.TestCase."""
    SEND = []
    SUBSCRIBE = []

    @classmethod
    def setUpClass(cls):
        cls.gw = SandboxGateway.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def send(self, *extra, sender=None):
        return run(self.SEND + ["--address", self.gw.grpc_address,
                                "--api_key", "test-key",
                                "--from", sender or self.gw.phone_number_id,
                                "--to", "16505551234"] + list(extra))

    def test_send_subscribe_resume(self):
        sent = self.send("--text", "Hello from the example")
        self.assertEqual(sent.returncode, 0, sent.stderr)
        wamid = sent.stdout.strip()
        self.assertTrue(wamid.startswith("wamid."), sent.stdout)

        sub = run(self.SUBSCRIBE + ["--address", self.gw.grpc_address,
                                    "--from-oldest", "--kind", "status",
                                    "--limit", "3", "--timeout", "20"])
        self.assertEqual(sub.returncode, 0, sub.stderr)
        events = json_lines(sub.stdout)
        self.assertEqual([e["status"]["status"] for e in events],
                         ["STATUS_SENT", "STATUS_DELIVERED", "STATUS_READ"])
        for e in events:
            self.assertEqual(e["status"]["message_id"], wamid)
            self.assertEqual(e["phone_number_id"], self.gw.phone_number_id)

        resumed = run(self.SUBSCRIBE + ["--address", self.gw.grpc_address,
                                        "--after", events[0]["cursor"],
                                        "--kind", "status", "--limit", "2",
                                        "--timeout", "20"])
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        rest = json_lines(resumed.stdout)
        self.assertEqual([e["cursor"] for e in rest], [e["cursor"] for e in events[1:]])

    def test_too_long_text_is_invalid_argument(self):
        out = self.send("--text", "a" * 5000)
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("INVALID_ARGUMENT", out.stderr)
        self.assertIn("text.body", out.stderr)
        self.assertEqual(out.stdout, "")

    def test_unknown_phone_number_shows_graph_error(self):
        out = self.send("--text", "hi", sender="999000111")
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("error: NOT_FOUND", out.stderr)
        self.assertIn("graph_error: code=100 subcode=33", out.stderr)
        self.assertRegex(out.stderr, r"fbtrace_id=[A-Za-z0-9_-]{5,}")

    def test_injected_rate_limit_shows_retry_delay(self):
        self.gw.set_faults({"error_rates": {"130429": 1.0}})
        try:
            out = self.send("--text", "hi", "--timeout", "5")
        finally:
            self.gw.set_faults({})
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("error: RESOURCE_EXHAUSTED", out.stderr)
        self.assertIn("graph_error: code=130429", out.stderr)
        self.assertRegex(out.stderr, r"retry_delay: \d+\.\d{3}s")
