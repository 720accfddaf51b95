#!/usr/bin/env node
// Streams wagate events (messages, statuses, ...) as one JSON object a line.
//
//   node clients/node/examples/subscribe.mjs --address 127.0.0.1:50051 \
//       --from-oldest --kind status --limit 3
//
// --after CURSOR resumes after an event's `cursor` (the events after it,
// never it again); --from-oldest starts at the oldest stored event; neither:
// only new events. --limit N exits after N events. Field names are the proto
// names (snake_case), enums their names, timestamps RFC 3339.
import {parseArgs} from 'node:util';

import * as wagate from '../wagate.mjs';

const {values: args} = parseArgs({
  options: {
    'address': {type: 'string', default: '127.0.0.1:50051'},
    'api_key': {type: 'string', default: process.env.WAGATE_API_KEY || ''},
    'from-oldest': {type: 'boolean', default: false},
    'after': {type: 'string', default: ''},
    'limit': {type: 'string', default: '0'},
    'kind': {type: 'string', multiple: true, default: []},
    'phone_number_id': {type: 'string', multiple: true, default: []},
    'timeout': {type: 'string'},
  },
});

// 'status' or 'EVENT_KIND_STATUS' -> 'EVENT_KIND_STATUS'.
const kinds = args.kind.map((k) => {
  const upper = k.toUpperCase();
  return upper.startsWith('EVENT_KIND_') ? upper : `EVENT_KIND_${upper}`;
});
const limit = Number(args.limit);

const api = wagate.load();
const client = new api.v1.Events(args.address, wagate.credentials());
const options = {};
if (args.timeout) {
  options.deadline = new Date(Date.now() + Number(args.timeout) * 1000);
}
const call = client.Subscribe(
    {
      phone_number_ids: args.phone_number_id,
      kinds,
      after_cursor: args.after,
      from_oldest: args['from-oldest'],
    },
    wagate.metadata(args.api_key), options);

let seen = 0;
let done = false;
call.on('data', (event) => {
  if (done) return;
  process.stdout.write(wagate.toJson('wagate.v1.Event', event) + '\n');
  seen += 1;
  if (limit > 0 && seen >= limit) {
    done = true;
    call.cancel();
    client.close();
  }
});
call.on('error', (err) => {
  if (done) return;  // our own cancel after --limit
  console.error(wagate.describeError(err));
  process.exitCode = 1;
  client.close();
});
call.on('end', () => client.close());
