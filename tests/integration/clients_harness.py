"""Harness for the client tests (clients_*_test.py): runs `wagate --sandbox`
on free loopback ports as a child process and runs client programs against it.

    gw = SandboxGateway.start()          # gw.grpc_address, gw.phone_number_id
    out = run([...], timeout=20)         # CompletedProcess with text output
    gw.set_faults({"error_rates": {"131026": 1.0}})   # emulator control API
    gw.stop()

ExampleTests holds the tests every language's send/subscribe examples pass,
among them one per row of ERROR_CASES: every gRPC code graph_error.cc's
mapping can produce from what the emulator can inject, decoded by the
example (gRPC code, GraphError code, subcode, type, http_status, fbtrace_id,
retry_delay, outcome_unknown) and checked here.
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
             "--admin_address=127.0.0.1:0",
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

    def counters(self):
        """GET /_emulator/counters as a dict."""
        with urllib.request.urlopen(
                self.graph_base_url.rstrip("/") + "/_emulator/counters",
                timeout=10) as resp:
            return json.loads(resp.read())

    def errors_by_code(self, code):
        """How many times the emulator has answered Graph error `code`."""
        counts = self.counters().get("messages", {}).get("errors_by_code", {})
        return int(counts.get(str(code), 0))

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

    def send(self, *extra, sender=None, to="16505551234"):
        return run(self.SEND + ["--address", self.gw.grpc_address,
                                "--api_key", "test-key",
                                "--from", sender or self.gw.phone_number_id,
                                "--to", to] + list(extra))

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

    def check_error_case(self, case, index):
        """Injects case.faults, sends once, and checks what the example
        printed against the case."""
        before = self.gw.errors_by_code(case.code) if case.min_attempts else 0
        if case.faults is not None:
            self.gw.set_faults(case.faults)
        try:
            # A recipient per case: no case spends another's pair budget.
            out = self.send("--text", "hi", "--timeout", str(case.timeout),
                            sender=case.sender,
                            to="1650555%04d" % (3000 + index))
        finally:
            if case.faults is not None:
                self.gw.set_faults({})
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertEqual(out.stdout, "")
        got = parse_error(out.stderr)
        self.assertIsNotNone(got, out.stderr)
        want = {
            "grpc_code": case.grpc_code, "code": case.code,
            "subcode": case.subcode, "type": case.type,
            "http_status": case.http_status,
            "retry_delay": case.retry_delay,
            "outcome_unknown": case.outcome_unknown,
        }
        self.assertEqual({k: got[k] for k in want}, want, out.stderr)
        if case.fbtrace:
            self.assertRegex(got["fbtrace_id"], r"^[A-Za-z0-9_-]{5,}$")
        else:
            self.assertEqual(got["fbtrace_id"], "-")
        if case.min_attempts:
            self.assertGreaterEqual(self.gw.errors_by_code(case.code) - before,
                                    case.min_attempts, out.stderr)


def parse_error(text):
    """The fields of wagate_errors.describe / wagate.describeError output (the
    Python and Node examples print the same lines), or None."""
    m = re.search(r"^error: ([A-Z_]+): ", text, re.M)
    g = re.search(r"^graph_error: code=(\d+) subcode=(\d+) type=(\S+) "
                  r"http_status=(\d+) fbtrace_id=(\S+)$", text, re.M)
    if not m or not g:
        return None
    delay = re.search(r"^  retry_delay: (\d+\.\d{3})s$", text, re.M)
    return {
        "grpc_code": m.group(1),
        "code": int(g.group(1)),
        "subcode": int(g.group(2)),
        "type": g.group(3),
        "http_status": int(g.group(4)),
        "fbtrace_id": g.group(5),
        "retry_delay": delay.group(1) if delay else None,
        "outcome_unknown": re.search(r"^  outcome_unknown: ", text, re.M)
                           is not None,
    }


class ErrorCase:
    """One row of ERROR_CASES: what to inject and what the client must print.
    faults: the emulator's faults during the send (None: none set); sender:
    phone_number_id (None: the sandbox's); min_attempts: how many times the
    emulator must have answered `code` (retries happened)."""

    def __init__(self, name, grpc_code, code, http_status, faults=None,
                 subcode=0, type="OAuthException", fbtrace=True,
                 retry_delay=None, outcome_unknown=False, timeout=5,
                 sender=None, min_attempts=0):
        self.name = name
        self.grpc_code = grpc_code
        self.code = code
        self.http_status = http_status
        self.faults = faults
        self.subcode = subcode
        self.type = type
        self.fbtrace = fbtrace
        self.retry_delay = retry_delay
        self.outcome_unknown = outcome_unknown
        self.timeout = timeout
        self.sender = sender
        self.min_attempts = min_attempts


def _inject(code):
    return {"error_rates": {str(code): 1.0}}


# One representative Graph error per gRPC code the mapping (service/graph/
# graph_error.h) produces, plus its special cases. The emulator answers an
# injected code with the HTTP status Meta uses for it (400 for codes it does
# not list), so codes decided by the HTTP status alone (501 UNIMPLEMENTED,
# 504 DEADLINE_EXCEEDED, others UNKNOWN, a bare 404/409) cannot be injected.
ERROR_CASES = [
    ErrorCase("expired_token_190", "UNAUTHENTICATED", 190, 401, _inject(190)),
    ErrorCase("permission_10", "PERMISSION_DENIED", 10, 403, _inject(10)),
    # Refused with Meta's delay once no retry fits before the deadline.
    ErrorCase("rate_limit_130429", "RESOURCE_EXHAUSTED", 130429, 400,
              _inject(130429), subcode=2494055, retry_delay="1.000",
              timeout=1, min_attempts=1),
    # No fault: an unknown phone_number_id is Graph's 100 with subcode 33.
    ErrorCase("unknown_object_100_33", "NOT_FOUND", 100, 400, subcode=33,
              sender="999000111"),
    # The same code without subcode 33 is a bad parameter.
    ErrorCase("invalid_parameter_100", "INVALID_ARGUMENT", 100, 400,
              _inject(100)),
    ErrorCase("window_closed_131047", "FAILED_PRECONDITION", 131047, 400,
              _inject(131047)),
    ErrorCase("list_changed_139102", "ABORTED", 139102, 400, _inject(139102)),
    # 5xx (Graph code 2, transient): retried, then UNAVAILABLE.
    ErrorCase("service_5xx_2", "UNAVAILABLE", 2, 503, {"http_5xx_rate": 1.0},
              retry_delay="1.000", timeout=2, min_attempts=2),
    # Code 1 ("unknown, try again") is not resent: it may have gone out.
    ErrorCase("api_unknown_1", "UNAVAILABLE", 1, 400, _inject(1),
              retry_delay="1.000", min_attempts=1),
    ErrorCase("unexpected_131000", "UNAVAILABLE", 131000, 500,
              _inject(131000), retry_delay="1.000", min_attempts=1),
    # The emulator closes the connection after reading the request: the
    # message may have gone out, so it is reported, never resent.
    ErrorCase("dropped_connection", "UNAVAILABLE", 0, 0,
              {"drop_connection_rate": 1.0}, type="-", fbtrace=False,
              outcome_unknown=True),
    # No answer before the deadline: the HTTP exchange ends first, so the
    # caller hears outcome_unknown rather than its own bare deadline. (The
    # late answer is an error so that no message is accepted behind the
    # other tests' backs.)
    ErrorCase("no_answer_in_time", "DEADLINE_EXCEEDED", 0, 0,
              {"error_rates": {"131000": 1.0}, "added_latency_ms": 5000},
              type="-", fbtrace=False, outcome_unknown=True, timeout=1.5),
]


def _error_test(case, index):
    def test(self):
        self.check_error_case(case, index)
    test.__doc__ = "%s: %s" % (case.name, case.grpc_code)
    return test


for _i, _case in enumerate(ERROR_CASES):
    setattr(ExampleTests, "test_error_" + _case.name, _error_test(_case, _i))
