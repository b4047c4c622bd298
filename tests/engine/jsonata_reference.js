// The reference JSONata (jsonata@2.0.6, the version AWS Step Functions documents) with the functions
// Step Functions adds, for tests/test_jsonata_differential.py.
//
// Reads one JSON request per line on stdin: {"expression": "...", "bindings": {...}, "fixed": {...}}
// and writes one JSON answer per line on stdout, in the same order:
//   {"ok": true, "defined": true, "json": "<JSON.stringify of the value>"}   a value
//   {"ok": true, "defined": false}                                          undefined (or a function)
//   {"ok": false, "code": "T2010", "message": "..."}                        a failure
// "fixed" shadows nondeterministic functions with constants: {"millis": 1700000000123, "now": "...",
// "uuid": "...", "random": 0.25}, so both implementations see the same clock and the same dice.
'use strict';

const crypto = require('crypto');
const readline = require('readline');
const jsonata = require('jsonata');

// Step Functions' own functions, as AWS documents them ("Transforming data with JSONata"), and as
// its recordings show them (../shared/parity: $range(1, 9, 9) answers 1, a singleton sequence).
function fail(message) {
  const error = new Error(message);
  error.code = 'SFN';
  throw error;
}

function whole(value, what) {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(`${what} must be an integer`);
  return value;
}

const HASHES = { 'MD5': 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

const stepFunctions = {
  partition: [(array, size) => {
    if (!Array.isArray(array)) fail('$partition expects an array');
    const chunk = whole(size, "$partition's chunk size");
    if (chunk < 1) fail("$partition's chunk size must be 1 or more");
    const chunks = [];
    for (let start = 0; start < array.length; start += chunk) chunks.push(array.slice(start, start + chunk));
    return chunks;
  }, '<xn:a>'], // x, not a: JSONata's signatures would wrap a lone value into an array; AWS asks for an array
  range: [(first, last, step) => {
    const [a, b, s] = [whole(first, "$range's first"), whole(last, "$range's last"), whole(step, "$range's step")];
    if (s === 0) fail("$range's step must not be 0");
    const values = [];
    for (let v = a; s > 0 ? v <= b : v >= b; v += s) {
      values.push(v);
      if (values.length > 1000) fail('$range may return at most 1000 items');
    }
    values.sequence = true;
    return values;
  }, '<nnn:a>'],
  hash: [(value, algorithm) => {
    if (typeof value !== 'string') fail('$hash expects a string to hash');
    if (!Object.prototype.hasOwnProperty.call(HASHES, algorithm)) fail('$hash: unsupported algorithm');
    return crypto.createHash(HASHES[algorithm]).update(value, 'utf8').digest('hex');
  }, '<ss:s>'],
  random: [() => Math.random(), '<n?:n>'],
  uuid: [() => crypto.randomUUID(), '<:s>'],
  parse: [(text) => {
    if (typeof text !== 'string') fail('$parse expects a JSON string');
    try {
      return JSON.parse(text);
    } catch (error) {
      fail(`$parse could not read its argument as JSON: ${error.message}`);
    }
  }, '<s:x>'],
  eval: [() => fail('The JSONata function $eval is not supported by Step Functions'), '<x*:x>'],
};

const compiled = new Map(); // the corpus evaluates each expression under many bindings: parse once

function compile(text) {
  if (!compiled.has(text)) {
    const expression = jsonata(text);
    for (const [name, [implementation, signature]] of Object.entries(stepFunctions)) {
      expression.registerFunction(name, implementation, signature);
    }
    compiled.set(text, expression);
  }
  return compiled.get(text);
}

async function answer(request) {
  const expression = compile(request.expression);
  const bindings = { ...request.bindings };
  for (const [name, value] of Object.entries(request.fixed || {})) {
    bindings[name] = () => value;
  }
  const value = await expression.evaluate(undefined, bindings);
  const json = value === undefined ? undefined : JSON.stringify(value);
  // JSON.stringify leaves a function (a prototype member, say) undefined, as it would leave the state
  if (json === undefined) return { ok: true, defined: false };
  return { ok: true, defined: true, json };
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let reply;
    try {
      reply = await answer(JSON.parse(line));
    } catch (error) {
      reply = { ok: false, code: error.code || 'JS', message: error.message || String(error) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
}

main();
