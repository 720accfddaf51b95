#!/usr/bin/python3
"""grpcurl's way into wagate from a non-C++ client: runs
clients_reflection_test.mjs (Node: reflection list, describe SendRequest with
its doc comments, Send from JSON through reflected descriptors only) against
`wagate --sandbox`. Skipped, loudly, only when node_modules is absent."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients_harness import NODE, SandboxGateway, node_modules_present, run  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "clients_reflection_test.mjs")


@unittest.skipUnless(node_modules_present(), "node_modules is absent")
class ReflectionClientTest(unittest.TestCase):
    def test_list_describe_and_send_through_reflection(self):
        gw = SandboxGateway.start()
        try:
            out = run([NODE, SCRIPT, "--address", gw.grpc_address,
                       "--phone_number_id", gw.phone_number_id])
        finally:
            gw.stop()
        sys.stdout.write(out.stdout)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("ok - list shows the 6 wagate.v1 services", out.stdout)
        self.assertIn("ok - SendRequest carries its doc comment", out.stdout)
        self.assertIn("ok - Send answers a wamid", out.stdout)
        self.assertIn("reflection client: all checks passed", out.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
