// The peer wagate is compared with: whatsapp-api-js (npm), unmodified, doing
// the same two jobs. Driven by wagate-bench (peer-send, peer-webhook); can be
// run by hand:
//
//   node bench/peer/peer.mjs webhook --secret S
//     Node's http server with the library's node:http middleware
//     (handle_post: signature check + JSON parse + dispatch to on.status /
//     on.message). Prints {"port":N} once listening; POST /_quit stops it
//     and prints its counters.
//   node bench/peer/peer.mjs send --graph URL --token T --pnid ID[,ID...]
//        --seconds S --in_flight N
//     sendMessage(Text) in a closed loop against the emulator; prints one
//     JSON line {achieved_rate, ok, errors, latency_ms}.
//
// Run from the repository root (the library comes from its node_modules).
// Node 18 (Debian 12) has Web Crypto only as node:crypto's webcrypto;
// whatsapp-api-js looks for the global `crypto.subtle` (Node 19+).
import { webcrypto } from "node:crypto";
if (!globalThis.crypto) globalThis.crypto = webcrypto;
import http from "node:http";

const args = Object.fromEntries(
  process.argv.slice(3).reduce((acc, a, i, all) => {
    if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []));
const mode = process.argv[2];

let WhatsAppAPI, Text;
try {
  ({ WhatsAppAPI } = await import("whatsapp-api-js/middleware/node-http"));
  ({ Text } = await import("whatsapp-api-js/messages"));
} catch (e) {
  console.log(JSON.stringify({ error: `whatsapp-api-js not installed: ${e}` }));
  process.exit(3);
}

function percentiles(values) {
  values.sort((a, b) => a - b);
  const at = (p) => values.length === 0 ? 0 :
    values[Math.min(values.length - 1, Math.ceil(p / 100 * values.length) - 1)];
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9),
           max: values.length ? values[values.length - 1] : 0 };
}

if (mode === "webhook") {
  const wa = new WhatsAppAPI({ token: "unused", appSecret: args.secret,
                               v: "v24.0" });
  const counts = { status: 0, message: 0, posts: 0, rejected: 0 };
  wa.on.status = () => { counts.status++; };
  wa.on.message = () => { counts.message++; };
  const server = http.createServer(async (req, res) => {
    if (req.url === "/_quit") {
      res.end(JSON.stringify(counts));
      console.log(JSON.stringify(counts));
      server.close();
      setImmediate(() => process.exit(0));
      return;
    }
    if (req.method === "POST") {
      counts.posts++;
      const code = await wa.handle_post(req);
      if (code !== 200) counts.rejected++;
      res.statusCode = code;
      res.end();
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, "127.0.0.1", () => {
    console.log(JSON.stringify({ port: server.address().port }));
  });
} else if (mode === "send") {
  const graph = args.graph;
  const wa = new WhatsAppAPI({
    token: args.token, secure: false, v: "v24.0",
    ponyfill: {
      fetch: (url, options) =>
        fetch(String(url).replace("https://graph.facebook.com", graph), options),
    },
  });
  const pnids = args.pnid.split(",");
  const seconds = Number(args.seconds || 10);
  const inFlight = Number(args.in_flight || 64);
  const recipients = 50000;
  const latencies = [];
  const errors = {};
  let next = 0, ok = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let last = start;
  async function worker() {
    while (performance.now() < end) {
      const i = next++;
      const to = `1650${String(Math.floor(i / pnids.length) % recipients)
        .padStart(7, "0")}`;
      const t0 = performance.now();
      try {
        const r = await wa.sendMessage(pnids[i % pnids.length], to,
          new Text("Your order #4821 has shipped and will arrive on Tuesday."));
        if (r?.messages?.[0]?.id) {
          ok++;
          latencies.push(performance.now() - t0);
        } else {
          const code = String(r?.error?.code ?? "NO_ID");
          errors[code] = (errors[code] || 0) + 1;
        }
      } catch (e) {
        errors[e.name || "exception"] = (errors[e.name || "exception"] || 0) + 1;
      }
      last = performance.now();
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (last - start) / 1000;
  console.log(JSON.stringify({ achieved_rate: ok / elapsed, ok, errors,
                               elapsed_s: elapsed,
                               latency_ms: percentiles(latencies) }));
} else {
  console.error("usage: peer.mjs webhook|send [--flags]");
  process.exit(2);
}
