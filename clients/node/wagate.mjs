// Shared bits of the Node examples: the wagate.v1 API loaded from protos/ at
// run time with @grpc/proto-loader, the API key metadata, the GraphError
// detail of a failed call, and proto-JSON of a received message.
//
//   import * as wagate from '../wagate.mjs';
//   const api = wagate.load();
//   const client = new api.v1.Messaging(address, wagate.credentials());
//   client.Send(request, wagate.metadata(apiKey), {deadline}, (err, res) => {
//     if (err) console.error(wagate.describeError(err));
//   });
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROTOS_DIR =
    process.env.WAGATE_PROTOS_DIR || path.resolve(here, '../../protos');
const FILES = ['wagate/v1/messaging.proto', 'wagate/v1/events.proto',
               'wagate/v1/errors.proto'];

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
export const GRAPH_ERROR_TYPE_URL = 'type.googleapis.com/wagate.v1.GraphError';

// Proto field names as written (snake_case), enums as their names, int64 as
// strings: the same shape as the other clients' JSON.
const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: false,
  includeDirs: [PROTOS_DIR],
};

let root = null;
// The same protos as protobufjs types, for the error detail and for JSON.
function protobufRoot() {
  if (root === null) {
    root = new protobuf.Root();
    root.resolvePath = (origin, target) =>
        target.startsWith('google/protobuf/') ? target :
                                                path.join(PROTOS_DIR, target);
    root.loadSync([...FILES, 'google/protobuf/any.proto'], {keepCase: true});
    // google.rpc.Status (googleapis' status.proto) defined inline: three
    // fields, so no extra package is needed to read the details trailer.
    protobuf.parse(`syntax = "proto3";
      package google.rpc;
      message Status {
        int32 code = 1;
        string message = 2;
        repeated google.protobuf.Any details = 3;
      }`, root, {keepCase: true});
    root.resolveAll();
  }
  return root;
}

// {v1: {Messaging, Events, ...}}: service client constructors and types.
export function load() {
  const definition = protoLoader.loadSync(FILES, LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition).wagate;
}

export function credentials() {
  return grpc.credentials.createInsecure();
}

// The API key goes in `authorization: Bearer <key>`.
export function metadata(apiKey) {
  const md = new grpc.Metadata();
  if (apiKey) md.set('authorization', `Bearer ${apiKey}`);
  return md;
}

// The wagate.v1.GraphError attached to a failed call, as a plain object
// (snake_case fields, int64 as strings), or null.
export function graphError(err) {
  const values = err && err.metadata ? err.metadata.get(STATUS_DETAILS_KEY) : [];
  if (!values.length) return null;
  const r = protobufRoot();
  let status;
  try {
    status = r.lookupType('google.rpc.Status').decode(values[0]);
  } catch (e) {
    return null;
  }
  const GraphError = r.lookupType('wagate.v1.GraphError');
  for (const any of status.details || []) {
    if (any.type_url === GRAPH_ERROR_TYPE_URL) {
      return GraphError.toObject(GraphError.decode(any.value),
                                 {longs: String, enums: String});
    }
  }
  return null;
}

function seconds(duration) {
  return Number(duration.seconds || 0) + (duration.nanos || 0) / 1e9;
}

// A few lines for a person: the gRPC code and message, then the GraphError.
export function describeError(err) {
  const code = grpc.status[err.code] || String(err.code);
  const lines = [`error: ${code}: ${err.details}`];
  const g = graphError(err);
  if (g) {
    lines.push(`graph_error: code=${g.code || 0} subcode=${
        g.error_subcode || 0} type=${g.type || '-'} http_status=${
        g.http_status || 0} fbtrace_id=${g.fbtrace_id || '-'}`);
    if (g.message) lines.push(`  message: ${g.message}`);
    if (g.details) lines.push(`  details: ${g.details}`);
    if (g.error_user_title || g.error_user_msg) {
      lines.push(`  user: ${g.error_user_title || ''}: ${g.error_user_msg || ''}`);
    }
    if (g.retry_delay) {
      lines.push(`  retry_delay: ${seconds(g.retry_delay).toFixed(3)}s`);
    }
    if (g.is_transient) lines.push('  transient: retrying may succeed');
    if (g.outcome_unknown) {
      lines.push('  outcome_unknown: the message may have been sent; ' +
                 'resend only with the same idempotency_key');
    }
  }
  return lines.join('\n');
}

function rfc3339(ts) {
  const ms = Number(ts.seconds || 0) * 1000;
  // Like json_format: 0, 3, 6 or 9 fractional digits.
  let nanos = String(ts.nanos || 0).padStart(9, '0');
  while (nanos.length > 0 && nanos.endsWith('000')) nanos = nanos.slice(0, -3);
  const base = new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');
  return `${base}${nanos ? '.' + nanos : ''}Z`;
}

function convert(type, obj) {
  const out = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    const t = field && field.resolvedType;
    const one = (v) => {
      if (!(t instanceof protobuf.Type)) return v;
      if (t.fullName === '.google.protobuf.Timestamp') return rfc3339(v);
      if (t.fullName === '.google.protobuf.Duration') return `${seconds(v)}s`;
      if (t.fullName.startsWith('.google.protobuf.')) return v;
      return convert(t, v);
    };
    if (field && field.map) {
      out[key] = Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, one(v)]));
    } else {
      out[key] = Array.isArray(value) ? value.map(one) : one(value);
    }
  }
  return out;
}

// Proto JSON of a message proto-loader decoded: timestamps RFC 3339,
// durations "1.5s", like google.protobuf.json_format and grpcurl.
export function toJson(typeName, obj) {
  return JSON.stringify(convert(protobufRoot().lookupType(typeName), obj));
}
