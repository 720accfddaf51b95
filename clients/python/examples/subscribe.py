#!/usr/bin/python3
"""Streams wagate events (messages, statuses, ...) as one JSON object a line.

    /usr/bin/python3 clients/python/examples/subscribe.py --address 127.0.0.1:50051 \
        --from-oldest --kind status --limit 3

--after CURSOR resumes after an event's `cursor` (the events after it, never
it again); --from-oldest starts at the oldest stored event; neither: only new
events. --limit N exits after N events. Field names are the proto names
(snake_case), enums their names, timestamps RFC 3339.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

import wagate_errors  # noqa: E402
import wagate_stubs  # noqa: E402,F401
from wagate.v1 import events_pb2, events_pb2_grpc  # noqa: E402


def event_kind(name):
    """'status' or 'EVENT_KIND_STATUS' -> events_pb2.EVENT_KIND_STATUS."""
    full = name.upper()
    if not full.startswith("EVENT_KIND_"):
        full = "EVENT_KIND_" + full
    try:
        return events_pb2.EventKind.Value(full)
    except ValueError:
        raise argparse.ArgumentTypeError("unknown event kind: " + name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="127.0.0.1:50051",
                        help="wagate gRPC address (host:port)")
    parser.add_argument("--api_key", default=os.environ.get("WAGATE_API_KEY", ""),
                        help="API key (default: $WAGATE_API_KEY)")
    parser.add_argument("--from-oldest", action="store_true",
                        help="start at the oldest stored event")
    parser.add_argument("--after", default="", metavar="CURSOR",
                        help="resume after this event cursor")
    parser.add_argument("--limit", type=int, default=0,
                        help="exit after N events (0: run until stopped)")
    parser.add_argument("--kind", type=event_kind, action="append", default=[],
                        help="only this kind (status, message, ...); repeatable")
    parser.add_argument("--phone_number_id", action="append", default=[],
                        help="only events of this phone number; repeatable")
    parser.add_argument("--timeout", type=float, default=None,
                        help="give up after this many seconds (default: never)")
    args = parser.parse_args()

    metadata = []
    if args.api_key:
        metadata.append(("authorization", "Bearer " + args.api_key))
    request = events_pb2.SubscribeRequest(
        phone_number_ids=args.phone_number_id, kinds=args.kind,
        after_cursor=args.after, from_oldest=args.from_oldest)
    seen = 0
    with grpc.insecure_channel(args.address) as channel:
        stub = events_pb2_grpc.EventsStub(channel)
        stream = stub.Subscribe(request, metadata=metadata, timeout=args.timeout)
        try:
            for event in stream:
                print(json_format.MessageToJson(
                    event, preserving_proto_field_name=True, indent=None),
                    flush=True)
                seen += 1
                if args.limit and seen >= args.limit:
                    stream.cancel()
                    break
        except grpc.RpcError as e:
            print(wagate_errors.describe(e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
