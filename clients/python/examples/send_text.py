#!/usr/bin/python3
"""Sends one WhatsApp text message through wagate and prints its message id.

    /usr/bin/python3 clients/python/examples/send_text.py --address 127.0.0.1:50051 \
        --from PHONE_NUMBER_ID --to 16505551234 --text "Hello from Python"

On failure it prints the gRPC code and message and the decoded
wagate.v1.GraphError (Graph code, subcode, fbtrace_id, details, retry delay),
and exits 1. The API key (--api_key or $WAGATE_API_KEY) goes in the
`authorization: Bearer <key>` metadata.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import grpc  # noqa: E402

import wagate_errors  # noqa: E402
import wagate_stubs  # noqa: E402,F401
from wagate.v1 import messaging_pb2, messaging_pb2_grpc  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="127.0.0.1:50051",
                        help="wagate gRPC address (host:port)")
    parser.add_argument("--api_key", default=os.environ.get("WAGATE_API_KEY", ""),
                        help="API key (default: $WAGATE_API_KEY)")
    parser.add_argument("--from", dest="sender", required=True,
                        help="sender's business phone_number_id")
    parser.add_argument("--to", required=True, help="recipient phone number")
    parser.add_argument("--text", required=True, help="message text")
    parser.add_argument("--timeout", type=float, default=30,
                        help="call deadline in seconds")
    args = parser.parse_args()

    metadata = []
    if args.api_key:
        metadata.append(("authorization", "Bearer " + args.api_key))
    request = messaging_pb2.SendRequest(
        phone_number_id=args.sender, to=args.to,
        text=messaging_pb2.Text(body=args.text))
    with grpc.insecure_channel(args.address) as channel:
        stub = messaging_pb2_grpc.MessagingStub(channel)
        try:
            response = stub.Send(request, metadata=metadata,
                                 timeout=args.timeout)
        except grpc.RpcError as e:
            print(wagate_errors.describe(e), file=sys.stderr)
            return 1
    print(response.message_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
