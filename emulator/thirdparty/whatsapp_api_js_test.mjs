// An unmodified third-party Cloud API client (whatsapp-api-js from npm)
// against wagate-emulator: it sends text, template and interactive messages
// with its fetch pointed at the emulator, parses the answers, and checks
// the emulator's webhook signatures with the library's own verifier.
//
// Run by CTest (emulator/CMakeLists.txt) as:
//   EMULATOR_BIN=.../wagate-emulator node --test whatsapp_api_js_test.mjs
// Node 18 (Debian 12) has Web Crypto only as node:crypto's webcrypto;
// whatsapp-api-js looks for the global `crypto.subtle` (Node 19+).
import { webcrypto } from "node:crypto";
if (!globalThis.crypto) globalThis.crypto = webcrypto;
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { once } from "node:events";

// The library comes from the repository's node_modules (scripts/setup); the
// tests are skipped, not failed, on a checkout where it is not installed.
let WhatsAppAPI, Text, Template, Language, Interactive, ActionButtons, Button,
  Body;
let missing = false;
try {
  ({ WhatsAppAPI } = await import("whatsapp-api-js"));
  ({ Text, Template, Language, Interactive, ActionButtons, Button, Body } =
    await import("whatsapp-api-js/messages"));
} catch {
  missing = "whatsapp-api-js is not installed (add it to package.json)";
}

const TOKEN = "wajs-token";
const SECRET = "wajs-app-secret";
const PNID = "106540352242922";

let emulator, baseUrl, receiver;
const webhooks = [];  // {raw, signature}
let waiters = [];

function waitForWebhooks(n, ms = 5000) {
  if (webhooks.length >= n) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      `only ${webhooks.length} of ${n} webhooks arrived`)), ms);
    waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
  });
}

before(async () => {
  if (missing) return;
  receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      webhooks.push({
        raw: Buffer.concat(chunks).toString("utf8"),
        signature: req.headers["x-hub-signature-256"],
      });
      res.writeHead(200).end("ok");
      waiters = waiters.filter((w) => {
        if (webhooks.length >= w.n) { w.resolve(); return false; }
        return true;
      });
    });
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  const hook = `http://127.0.0.1:${receiver.address().port}/webhook`;

  emulator = spawn(process.env.EMULATOR_BIN, [
    "--address=127.0.0.1:0", `--access_token=${TOKEN}`,
    `--app_secret=${SECRET}`, `--webhook_url=${hook}`,
    "--delivered_delay=1ms", "--read_delay=1ms",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  // The emulator logs {"msg":"listening","address":"127.0.0.1:PORT"} once bound.
  baseUrl = await new Promise((resolve, reject) => {
    let buf = "";
    emulator.stderr.on("data", (d) => {
      buf += d;
      for (const line of buf.split("\n")) {
        try {
          const j = JSON.parse(line);
          if (j.component === "emulator" && j.msg === "listening") {
            resolve(`http://${j.address}`);
          }
        } catch { /* partial line */ }
      }
    });
    emulator.on("exit", (code) => reject(new Error(`emulator exited ${code}`)));
  });
});

after(async () => {
  emulator?.kill("SIGTERM");
  receiver?.close();
});

function api() {
  return new WhatsAppAPI({
    token: TOKEN,
    appSecret: SECRET,
    v: "v23.0",
    ponyfill: {
      // The library's own requests, sent to the emulator instead of Meta.
      fetch: (url, options) =>
        fetch(String(url).replace("https://graph.facebook.com", baseUrl),
              options),
    },
  });
}

test("text, template and interactive messages are accepted", { skip: missing }, async () => {
  const wa = api();
  const text = await wa.sendMessage(PNID, "16505551234", new Text("Hello from wajs"));
  assert.equal(text.messaging_product, "whatsapp");
  assert.equal(text.contacts[0].wa_id, "16505551234");
  assert.match(text.messages[0].id, /^wamid\./);

  const tpl = await wa.sendMessage(PNID, "16505551234",
    new Template("hello_world", new Language("en_US")));
  assert.match(tpl.messages[0].id, /^wamid\./);
  assert.equal(tpl.messages[0].message_status, "accepted");

  const inter = await wa.sendMessage(PNID, "16505551234", new Interactive(
    new ActionButtons(new Button("yes", "Yes"), new Button("no", "No")),
    new Body("Shall we?")));
  assert.match(inter.messages[0].id, /^wamid\./);
});

test("Meta's error envelope is parsed", { skip: missing }, async () => {
  const wa = api();
  const r = await wa.sendMessage(PNID, "16505551234",
    new Template("no_such_template", new Language("en_US")));
  assert.equal(r.error.code, 132001);
  assert.equal(r.error.type, "OAuthException");
  assert.ok(r.error.fbtrace_id);
  const bad = new WhatsAppAPI({ token: "wrong", appSecret: SECRET, v: "v23.0",
    ponyfill: { fetch: (u, o) => fetch(String(u).replace("https://graph.facebook.com", baseUrl), o) } });
  const unauthorized = await bad.sendMessage(PNID, "16505551234", new Text("x"));
  assert.equal(unauthorized.error.code, 190);
});

test("webhook signatures verify with the library's verifier", { skip: missing },
     async () => {
  // A non-ASCII inbound message: the library re-escapes the raw body before
  // verifying, which matches only if the emulator sends ASCII as Meta does.
  const r = await fetch(`${baseUrl}/_emulator/inbound`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ from: "16505551234", name: "José", text: "olá 😀" }),
  });
  assert.equal(r.status, 200);
  await waitForWebhooks(10);  // sent, delivered, read for 3 messages + 1
  const wa = api();
  const statuses = [];
  const messages = [];
  wa.on.status = ({ status, id }) => { statuses.push([status, id]); };
  wa.on.message = ({ message }) => { messages.push(message); };
  for (const { raw, signature } of webhooks) {
    assert.ok(signature.startsWith("sha256="));
    assert.equal(await wa.verifyRequestSignature(raw, signature), true);
    // post() checks the signature itself, then dispatches to on.status.
    await wa.post(JSON.parse(raw), raw, signature);
  }
  assert.ok(statuses.some(([s]) => s === "sent"));
  assert.ok(statuses.some(([s]) => s === "delivered"));
  assert.ok(statuses.some(([s]) => s === "read"));
  assert.equal(messages.length, 1);
  assert.equal(messages[0].text.body, "olá 😀");
  // A tampered body fails verification.
  const { raw, signature } = webhooks[0];
  assert.equal(await wa.verifyRequestSignature(raw + " ", signature), false);
  await assert.rejects(wa.post(JSON.parse(raw), raw + " ", signature));
});
