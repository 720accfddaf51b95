#!/usr/bin/env node
// Sends one WhatsApp text message through wagate and prints its message id.
//
//   node clients/node/examples/send_text.mjs --address 127.0.0.1:50051 \
//       --from PHONE_NUMBER_ID --to 16505551234 --text "Hello from Node"
//
// On failure it prints the gRPC code and message and the decoded
// wagate.v1.GraphError (Graph code, subcode, fbtrace_id, details, retry
// delay), and exits 1. The API key (--api_key or $WAGATE_API_KEY) goes in
// the `authorization: Bearer <key>` metadata.
import {parseArgs} from 'node:util';

import * as wagate from '../wagate.mjs';

const {values: args} = parseArgs({
  options: {
    address: {type: 'string', default: '127.0.0.1:50051'},
    api_key: {type: 'string', default: process.env.WAGATE_API_KEY || ''},
    from: {type: 'string'},
    to: {type: 'string'},
    text: {type: 'string'},
    timeout: {type: 'string', default: '30'},
  },
});
if (!args.from || !args.to || args.text === undefined) {
  console.error('usage: send_text.mjs [--address HOST:PORT] [--api_key KEY] ' +
                '--from PHONE_NUMBER_ID --to NUMBER --text TEXT [--timeout S]');
  process.exit(2);
}

const api = wagate.load();
const client = new api.v1.Messaging(args.address, wagate.credentials());
const request = {
  phone_number_id: args.from,
  to: args.to,
  text: {body: args.text},
};
const deadline = new Date(Date.now() + Number(args.timeout) * 1000);
client.Send(request, wagate.metadata(args.api_key), {deadline},
            (err, response) => {
              client.close();
              if (err) {
                console.error(wagate.describeError(err));
                process.exitCode = 1;
                return;
              }
              console.log(response.message_id);
            });
