#!/usr/bin/python3
"""The Python examples (clients/python/examples) against `wagate --sandbox`:
send prints a wamid; subscribe prints its sent/delivered/read statuses as JSON;
--after the first cursor resumes with the rest; a too-long text and Graph
errors print the gRPC code and the decoded GraphError, exit 1 — one test per
row of clients_harness.ERROR_CASES (every gRPC code the Graph error mapping
produces, faults injected through the emulator's control API)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients_harness import PYTHON, SOURCE_DIR, ExampleTests  # noqa: E402

EXAMPLES = os.path.join(SOURCE_DIR, "clients", "python", "examples")


class PythonClientTest(ExampleTests, unittest.TestCase):
    SEND = [PYTHON, os.path.join(EXAMPLES, "send_text.py")]
    SUBSCRIBE = [PYTHON, os.path.join(EXAMPLES, "subscribe.py")]


if __name__ == "__main__":
    unittest.main(verbosity=2)
