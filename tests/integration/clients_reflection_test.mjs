#!/usr/bin/env node
// Drives wagate the way grpcurl does, from Node and with no wagate .proto:
// server reflection (grpc.reflection.v1alpha, Debian's grpc-proto) lists the
// services, returns the FileDescriptorProtos holding wagate.v1.SendRequest
// (with their doc comments: the gateway serves source info), and those
// descriptors alone build the request that invokes Messaging/Send from JSON.
//
//   node tests/integration/clients_reflection_test.mjs --address HOST:PORT \
//       --phone_number_id ID
//
// Prints what it checks and the Send answer as JSON; exits 1 on the first
// failed check. Run by clients_reflection_test.py against `wagate --sandbox`.
import assert from 'node:assert/strict';
import {parseArgs} from 'node:util';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const {values: args} = parseArgs({
  options: {
    address: {type: 'string'},
    phone_number_id: {type: 'string'},
    reflection_proto: {
      type: 'string',
      default: '/usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto',
    },
  },
});
assert.ok(args.address && args.phone_number_id, 'need --address and --phone_number_id');

const reflectionDef = protoLoader.loadSync(args.reflection_proto, {
  keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
});
const {ServerReflection} =
    grpc.loadPackageDefinition(reflectionDef).grpc.reflection.v1alpha;
const reflection = new ServerReflection(args.address, grpc.credentials.createInsecure());
const deadline = () => ({deadline: new Date(Date.now() + 10000)});

// One request, one response, on the bidirectional ServerReflectionInfo stream.
function ask(request) {
  return new Promise((resolve, reject) => {
    const call = reflection.ServerReflectionInfo(deadline());
    call.on('data', (response) => {
      resolve(response);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

function check(what, condition) {
  assert.ok(condition, what);
  console.log(`ok - ${what}`);
}

// 1. list
const listed = await ask({list_services: ''});
assert.ok(listed.list_services_response, JSON.stringify(listed));
const services = listed.list_services_response.service.map((s) => s.name).sort();
console.log(`services: ${services.join(' ')}`);
for (const name of ['wagate.v1.Accounts', 'wagate.v1.Events', 'wagate.v1.Media',
                    'wagate.v1.Messaging', 'wagate.v1.PhoneNumbers',
                    'wagate.v1.Templates', 'grpc.health.v1.Health']) {
  check(`list shows ${name}`, services.includes(name));
}
check('list shows the 6 wagate.v1 services',
      services.filter((s) => s.startsWith('wagate.v1.')).length === 6);

// 2. describe: the file holding SendRequest, then its dependencies by name,
// as grpcurl does, until the set is closed.
const files = new Map();  // name -> FileDescriptorProto
async function fetchFiles(request) {
  const response = await ask(request);
  assert.ok(response.file_descriptor_response, JSON.stringify(response));
  const names = [];
  for (const bytes of response.file_descriptor_response.file_descriptor_proto) {
    const file = descriptor.FileDescriptorProto.decode(bytes);
    if (!files.has(file.name)) files.set(file.name, file);
    names.push(file.name);
  }
  return names;
}
const [sendFile] = await fetchFiles({file_containing_symbol: 'wagate.v1.SendRequest'});
check('file_containing_symbol wagate.v1.SendRequest answers wagate/v1/messaging.proto',
      sendFile === 'wagate/v1/messaging.proto');
for (let pending = [sendFile]; pending.length;) {
  const file = files.get(pending.pop());
  for (const dep of file.dependency || []) {
    if (!files.has(dep)) pending.push(...await fetchFiles({file_by_filename: dep}));
  }
}
console.log(`files: ${[...files.keys()].sort().join(' ')}`);

const messaging = files.get(sendFile);
const index = messaging.messageType.findIndex((m) => m.name === 'SendRequest');
check('SendRequest is a message of wagate/v1/messaging.proto', index >= 0);
const fieldNames = messaging.messageType[index].field.map((f) => f.name);
console.log(`SendRequest fields: ${fieldNames.join(' ')}`);
for (const f of ['phone_number_id', 'to', 'text', 'image', 'template', 'idempotency_key']) {
  check(`SendRequest has field ${f}`, fieldNames.includes(f));
}
// Source info: path [4 (messageType), index] is the message itself.
const locations = (messaging.sourceCodeInfo || {}).location || [];
const comment = locations.find((l) => l.path.length === 2 && l.path[0] === 4 &&
                                      l.path[1] === index);
check('SendRequest carries its doc comment',
      comment && /One message to send/.test(comment.leadingComments || ''));
console.log(`SendRequest doc: ${comment.leadingComments.trim()}`);
const phoneField = messaging.messageType[index].field.findIndex(
    (f) => f.name === 'phone_number_id');
const fieldComment = locations.find(
    (l) => l.path.join('.') === `4.${index}.2.${phoneField}`);
check('SendRequest.phone_number_id carries its doc comment',
      fieldComment && /phone number ID/.test(fieldComment.leadingComments || ''));

// 3. invoke Messaging/Send from JSON with the reflected descriptors only.
const [messagingFile] = await fetchFiles({file_containing_symbol: 'wagate.v1.Messaging'});
const service = files.get(messagingFile).service.find((s) => s.name === 'Messaging');
const method = service.method.find((m) => m.name === 'Send');
check('Messaging.Send is unary SendRequest -> SendResponse',
      method.inputType === '.wagate.v1.SendRequest' &&
      method.outputType === '.wagate.v1.SendResponse' &&
      !method.clientStreaming && !method.serverStreaming);
const root = protobuf.Root.fromDescriptor(
    descriptor.FileDescriptorSet.create({file: [...files.values()]}));
const SendRequest = root.lookupType(method.inputType.slice(1));
const SendResponse = root.lookupType(method.outputType.slice(1));
const json = {phone_number_id: args.phone_number_id, to: '16505551234',
              text: {body: 'Hello from a reflection client'}};
const invalid = SendRequest.verify(json);
check('the JSON request matches the reflected SendRequest', invalid === null);

const client = new grpc.Client(args.address, grpc.credentials.createInsecure());
const answer = await new Promise((resolve, reject) => {
  client.makeUnaryRequest(
      `/wagate.v1.Messaging/${method.name}`,
      (message) => Buffer.from(SendRequest.encode(SendRequest.fromObject(message)).finish()),
      (bytes) => SendResponse.toObject(SendResponse.decode(bytes),
                                       {enums: String, longs: String}),
      json, new grpc.Metadata(), deadline(),
      (err, response) => (err ? reject(err) : resolve(response)));
});
console.log(`Send answered: ${JSON.stringify(answer)}`);
check('Send answers a wamid', /^wamid\./.test(answer.message_id || ''));
client.close();
reflection.close();
console.log('reflection client: all checks passed');
