"""Reads the wagate.v1.GraphError detail of a failed wagate call.

wagate puts a google.rpc.Status in the `grpc-status-details-bin` trailer; its
`details` hold a google.protobuf.Any of type
type.googleapis.com/wagate.v1.GraphError. Debian has no python3 package with
google.rpc.Status, so its three fields are read here straight off the
protobuf wire format:

    message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
    message Any    { string type_url = 1; bytes value = 2; }

    try:
        stub.Send(request, metadata=auth)
    except grpc.RpcError as e:
        graph = wagate_errors.graph_error(e)   # errors_pb2.GraphError or None
        print(wagate_errors.describe(e))
"""
import wagate_stubs  # noqa: F401  (makes wagate.v1 importable)
from wagate.v1 import errors_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"
GRAPH_ERROR_TYPE_URL = "type.googleapis.com/wagate.v1.GraphError"


def _varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf):
    """Yields (field_number, value) for each field; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(buf, pos)
        elif wire_type == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            value, pos = bytes(buf[pos:pos + length]), pos + length
        elif wire_type == 1:
            value, pos = bytes(buf[pos:pos + 8]), pos + 8
        elif wire_type == 5:
            value, pos = bytes(buf[pos:pos + 4]), pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire_type)
        yield number, value


def decode_status(data):
    """google.rpc.Status bytes -> (code, message, [(type_url, value), ...])."""
    code, message, details = 0, "", []
    for number, value in _fields(data):
        if number == 1 and isinstance(value, int):
            code = value
        elif number == 2 and isinstance(value, bytes):
            message = value.decode("utf-8", "replace")
        elif number == 3 and isinstance(value, bytes):
            type_url, any_value = "", b""
            for n, v in _fields(value):
                if n == 1 and isinstance(v, bytes):
                    type_url = v.decode("utf-8", "replace")
                elif n == 2 and isinstance(v, bytes):
                    any_value = v
            details.append((type_url, any_value))
    return code, message, details


def graph_error(rpc_error):
    """The GraphError attached to a failed call (grpc.RpcError), or None."""
    trailers = rpc_error.trailing_metadata() or ()
    for key, value in trailers:
        if key != STATUS_DETAILS_KEY:
            continue
        try:
            _, _, details = decode_status(value)
        except ValueError:
            return None
        for type_url, payload in details:
            if type_url == GRAPH_ERROR_TYPE_URL:
                return errors_pb2.GraphError.FromString(payload)
    return None


def describe(rpc_error):
    """A few lines for a person: the gRPC code and message, then the GraphError."""
    lines = ["error: %s: %s" % (rpc_error.code().name, rpc_error.details())]
    g = graph_error(rpc_error)
    if g is not None:
        lines.append("graph_error: code=%d subcode=%d type=%s http_status=%d "
                     "fbtrace_id=%s" % (g.code, g.error_subcode, g.type or "-",
                                        g.http_status, g.fbtrace_id or "-"))
        if g.message:
            lines.append("  message: " + g.message)
        if g.details:
            lines.append("  details: " + g.details)
        if g.error_user_title or g.error_user_msg:
            lines.append("  user: %s: %s" % (g.error_user_title,
                                            g.error_user_msg))
        if g.HasField("retry_delay"):
            delay = g.retry_delay.seconds + g.retry_delay.nanos / 1e9
            lines.append("  retry_delay: %.3fs" % delay)
        if g.is_transient:
            lines.append("  transient: retrying may succeed")
        if g.outcome_unknown:
            lines.append("  outcome_unknown: the message may have been sent; "
                         "resend only with the same idempotency_key")
    return "\n".join(lines)
