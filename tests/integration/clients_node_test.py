#!/usr/bin/python3
"""The Node examples (clients/node/examples) against `wagate --sandbox`: the
same contract as the Python ones (clients_harness.ExampleTests, including
every row of ERROR_CASES: each Graph error mapping decoded from Node).
Skipped, loudly, only when node_modules is absent (scripts/setup installs
it)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients_harness import NODE, SOURCE_DIR, ExampleTests, node_modules_present  # noqa: E402

EXAMPLES = os.path.join(SOURCE_DIR, "clients", "node", "examples")


@unittest.skipUnless(node_modules_present(), "node_modules is absent")
class NodeClientTest(ExampleTests, unittest.TestCase):
    SEND = [NODE, os.path.join(EXAMPLES, "send_text.mjs")]
    SUBSCRIBE = [NODE, os.path.join(EXAMPLES, "subscribe.mjs")]


if __name__ == "__main__":
    unittest.main(verbosity=2)
