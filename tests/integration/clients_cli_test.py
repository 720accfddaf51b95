#!/usr/bin/python3
"""wagate-cli against `wagate --sandbox`: send (every content kind and a JSON
file) prints a wamid; subscribe prints the sent/delivered/read statuses
(JSON lines and pretty), resumes --after a cursor, shares a consumer group
with --ack; errors print the code and the decoded GraphError and exit 1; the
resource commands (templates, numbers, media) either work or answer
UNIMPLEMENTED cleanly until those RPCs land."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients_harness import BINARY_DIR, SandboxGateway, json_lines, run  # noqa: E402

CLI = os.path.join(BINARY_DIR, "clients", "cli", "wagate-cli")
TO = "16505551234"


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = SandboxGateway.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def cli(self, *args, timeout=30):
        return run([CLI] + list(args) + ["--address", self.gw.grpc_address,
                                         "--api_key", "test-key"],
                   timeout=timeout)

    def send(self, *args):
        out = self.cli("send", "--from", self.gw.phone_number_id, "--to", TO,
                       *args)
        self.assertEqual(out.returncode, 0, out.stderr)
        wamid = out.stdout.strip()
        self.assertTrue(wamid.startswith("wamid."), out.stdout)
        return wamid

    def statuses_of(self, wamid, events):
        return [e["status"]["status"] for e in events
                if e["status"]["message_id"] == wamid]

    def test_1_send_subscribe_resume(self):
        # Runs first: the event log then holds only this message's statuses.
        wamid = self.send("--text", "Hello from wagate-cli")
        sub = self.cli("subscribe", "--from_oldest", "--kind", "status",
                       "--limit", "3", "--json", "--timeout", "20s")
        self.assertEqual(sub.returncode, 0, sub.stderr)
        events = json_lines(sub.stdout)
        self.assertEqual(self.statuses_of(wamid, events),
                         ["STATUS_SENT", "STATUS_DELIVERED", "STATUS_READ"])

        resumed = self.cli("subscribe", "--after", events[0]["cursor"],
                           "--kind", "status", "--limit", "2", "--json",
                           "--timeout", "20s")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual([e["cursor"] for e in json_lines(resumed.stdout)],
                         [e["cursor"] for e in events[1:]])

        pretty = self.cli("subscribe", "--from_oldest", "--kind", "status",
                          "--limit", "1", "--timeout", "20s")
        self.assertEqual(pretty.returncode, 0, pretty.stderr)
        self.assertIn("  status  %s  sent %s to %s" %
                      (self.gw.phone_number_id, wamid, TO), pretty.stdout)

    def test_3_send_every_kind(self):
        self.send("--template_name", "hello_world", "--language", "en_US")
        self.send("--buttons", "yes:Yes please,no:No", "--body", "Confirm?")
        self.send("--latitude", "52.52", "--longitude", "13.405",
                  "--location_name", "Berlin")
        self.send("--image", "https://example.com/cat.jpg", "--caption", "cat")
        self.send("--document", "https://example.com/a.pdf", "--filename", "a.pdf")
        wamid = self.send("--text", "to react to")
        self.send("--react_to", wamid, "--emoji", "\U0001F44D")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"to": TO, "text": {"body": "from a JSON file"},
                       "biz_opaque_callback_data": "cli-json"}, f)
        try:
            self.send("--json_file", f.name)
        finally:
            os.unlink(f.name)

    def test_2_group_with_ack(self):
        # Runs second: test_1 saw its read status, so no other status is due.
        # The first subscribe creates the group at the live end of the log.
        first = self.cli("subscribe", "--group", "cli-test", "--ack",
                         "--kind", "status", "--timeout", "1s")
        self.assertEqual(first.returncode, 0, first.stderr)
        wamid = self.send("--text", "for the group")
        one = self.cli("subscribe", "--group", "cli-test", "--ack", "--kind",
                       "status", "--limit", "2", "--json", "--timeout", "20s")
        self.assertEqual(one.returncode, 0, one.stderr)
        two = self.cli("subscribe", "--group", "cli-test", "--ack", "--kind",
                       "status", "--limit", "1", "--json", "--timeout", "20s")
        self.assertEqual(two.returncode, 0, two.stderr)
        # Acked events are not delivered again: the second run gets the rest.
        self.assertEqual(self.statuses_of(wamid, json_lines(one.stdout)) +
                         self.statuses_of(wamid, json_lines(two.stdout)),
                         ["STATUS_SENT", "STATUS_DELIVERED", "STATUS_READ"])

    def test_errors(self):
        out = self.cli("send", "--from", self.gw.phone_number_id, "--to", TO,
                       "--text", "a" * 5000)
        self.assertEqual(out.returncode, 1)
        self.assertIn("error: INVALID_ARGUMENT", out.stderr)
        self.assertIn("text.body", out.stderr)

        out = self.cli("send", "--from", "999000111", "--to", TO, "--text", "hi")
        self.assertEqual(out.returncode, 1)
        self.assertIn("error: NOT_FOUND", out.stderr)
        self.assertIn("graph_error: code=100 subcode=33", out.stderr)
        self.assertRegex(out.stderr, r"fbtrace_id=[A-Za-z0-9_-]{5,}")

        out = self.cli("send", "--from", self.gw.phone_number_id, "--to", TO)
        self.assertEqual(out.returncode, 2)
        self.assertIn("nothing to send", out.stderr)
        out = self.cli("bogus")
        self.assertEqual(out.returncode, 2)

    def check_resource(self, out, expect_in_stdout):
        """Works (exit 0, expected output) or is cleanly not there yet."""
        if out.returncode == 0:
            self.assertIn(expect_in_stdout, out.stdout)
        else:
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertRegex(out.stderr, r"^error: UNIMPLEMENTED: ")

    def test_resource_commands(self):
        self.check_resource(self.cli("numbers", "list", "--waba_id", self.gw.waba_id),
                            self.gw.phone_number_id)
        self.check_resource(self.cli("numbers", "get", self.gw.phone_number_id),
                            self.gw.phone_number_id)
        self.check_resource(self.cli("templates", "list", "--waba_id", self.gw.waba_id),
                            "hello_world")
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "note.txt")
            with open(src, "wb") as f:
                f.write(b"wagate-cli media round trip\n" * 5000)
            up = self.cli("media", "upload", src, "--from", self.gw.phone_number_id,
                          "--mime_type", "text/plain")
            self.check_resource(up, "")
            if up.returncode == 0:
                back = os.path.join(tmp, "back.txt")
                down = self.cli("media", "download", up.stdout.strip(), "--from",
                                self.gw.phone_number_id, "--out", back)
                self.check_resource(down, "")
                if down.returncode == 0:
                    with open(src, "rb") as a, open(back, "rb") as b:
                        self.assertEqual(a.read(), b.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
