#!/usr/bin/python3
"""The Python examples (clients/python/examples) against `wagate --sandbox`:
send prints a wamid; subscribe prints its sent/delivered/read statuses as JSON;
--after the first cursor resumes with the rest; a too-long text and Graph
errors print the gRPC code and the decoded GraphError, exit 1."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients_harness import PYTHON, SOURCE_DIR, SandboxGateway, json_lines, run  # noqa: E402

EXAMPLES = os.path.join(SOURCE_DIR, "clients", "python", "examples")
SEND = [PYTHON, os.path.join(EXAMPLES, "send_text.py")]
SUBSCRIBE = [PYTHON, os.path.join(EXAMPLES, "subscribe.py")]


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = SandboxGateway.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def send(self, *extra, sender=None):
        return run(SEND + ["--address", self.gw.grpc_address, "--api_key", "test-key",
                           "--from", sender or self.gw.phone_number_id,
                           "--to", "16505551234"] + list(extra))

    def test_send_subscribe_resume(self):
        sent = self.send("--text", "Hello from the Python example")
        self.assertEqual(sent.returncode, 0, sent.stderr)
        wamid = sent.stdout.strip()
        self.assertTrue(wamid.startswith("wamid."), sent.stdout)

        sub = run(SUBSCRIBE + ["--address", self.gw.grpc_address, "--from-oldest",
                               "--kind", "status", "--limit", "3", "--timeout", "20"])
        self.assertEqual(sub.returncode, 0, sub.stderr)
        events = json_lines(sub.stdout)
        self.assertEqual([e["status"]["status"] for e in events],
                         ["STATUS_SENT", "STATUS_DELIVERED", "STATUS_READ"])
        for e in events:
            self.assertEqual(e["status"]["message_id"], wamid)
            self.assertEqual(e["phone_number_id"], self.gw.phone_number_id)

        resumed = run(SUBSCRIBE + ["--address", self.gw.grpc_address,
                                   "--after", events[0]["cursor"], "--kind", "status",
                                   "--limit", "2", "--timeout", "20"])
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
