#!/usr/bin/env node
// A small OpenAPI validating reverse proxy, independent of cambmock's Go
// code and of kin-openapi: routing and JSON Schema validation come from
// openapi-backend (Ajv), the rest (declared status codes, media types,
// required headers) is checked here from the parsed openapi.yaml.
//
// Unlike Prism's proxy, it passes every byte through untouched (Prism
// re-encodes non-JSON bodies as UTF-8 text, which corrupts WAV audio) and
// reproduces upstream connection faults (a reset or an empty answer
// upstream becomes a dropped connection for the client, not a 500).
//
// Request bodies are validated as JSON, or, for multipart/form-data and
// urlencoded forms, as the object of their fields (text fields read as the
// schema's types, as FastAPI reads them; files as strings).
//
// It never changes a response. Each violation is logged to stderr as a line
// starting with "VIOLATION" and kept; GET /__validator/violations returns
// them (?since=N skips the first N), GET /__validator/stats counts what was
// checked.
//
//   node validating-proxy.mjs --spec ../../openapi.yaml \
//     --upstream http://127.0.0.1:8080/apis [--port 0] [--prefix /apis]
//
// Prints "validating proxy listening on http://127.0.0.1:PORT/apis" once
// it listens. Clients use that URL as their base URL.
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import addFormats from 'ajv-formats';
import yaml from 'js-yaml';
import { OpenAPIBackend } from 'openapi-backend';

const { values: opt } = parseArgs({
  options: {
    spec: { type: 'string', default: '../../openapi.yaml' },
    upstream: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    prefix: { type: 'string', default: '/apis' },
  },
});
if (!opt.upstream) {
  console.error('validating-proxy: --upstream URL is required, e.g. http://127.0.0.1:8080/apis');
  process.exit(2);
}
const upstream = new URL(opt.upstream.replace(/\/+$/, ''));
const prefix = opt.prefix.replace(/\/+$/, '');

// OpenAPI 3.0 schemas are not quite JSON Schema draft 7, which Ajv speaks:
// there exclusiveMinimum/exclusiveMaximum are booleans that qualify
// minimum/maximum. Rewrite them into the draft-7 form, which means the same.
// (Ajv knows OpenAPI's `nullable` itself.)
function toDraft7(node) {
  if (Array.isArray(node)) return node.map(toDraft7);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = toDraft7(v);
  for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']]) {
    if (typeof out[ex] === 'boolean') {
      if (out[ex] && typeof out[bound] === 'number') {
        out[ex] = out[bound];
        delete out[bound];
      } else {
        delete out[ex];
      }
    }
  }
  return out;
}

const definition = yaml.load(fs.readFileSync(opt.spec, 'utf8'));
const api = new OpenAPIBackend({
  definition: toDraft7(definition),
  apiRoot: prefix || '/',
  strict: true,
  quick: true, // lazy compilation; the linters validate the document itself
  customizeAjv: (ajv) => {
    addFormats(ajv);
    return ajv;
  },
});
await api.init();

const violations = [];
const stats = { requests: 0, responses: 0, faults: 0, byOperation: {} };

function violation(v) {
  violations.push({ at: new Date().toISOString(), ...v });
  console.error(`VIOLATION ${v.side} ${v.method} ${v.path} ${v.status ?? '-'} [${v.rule}] ${v.message}`);
}

function mediaType(ct) {
  return (ct || '').split(';')[0].trim().toLowerCase();
}

function ajvMessages(errors) {
  return (errors || []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && e.params.allowedValues ? ': ' + e.params.allowedValues.join(', ') : ''}`);
}

// The response object declared for a status: exact code, then 2XX-style
// ranges, then default.
function declaredResponse(op, status) {
  const responses = op.responses || {};
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default ?? null;
}

function declaredMedia(content, mt) {
  if (!content) return null;
  if (content[mt]) return content[mt];
  const [type] = mt.split('/');
  return content[`${type}/*`] ?? content['*/*'] ?? null;
}

// A form field's text as the type its schema names, as FastAPI reads
// form fields; text that does not parse stays text (and fails the schema).
function coerceField(text, schema) {
  switch (schema?.type) {
    case 'integer':
      return /^-?[0-9]+$/.test(text) ? Number(text) : text;
    case 'number': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
  }
  return text;
}

// formBody parses a multipart/form-data or urlencoded body (with the
// parser of Node's fetch) into the object its schema describes: text
// fields coerced to the schema's types, a file as a string (a
// `format: binary` property takes any string), a repeated field as an
// array when the schema says array.
async function formBody(body, contentType, schema) {
  const fd = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  const out = {};
  for (const [name, value] of fd.entries()) {
    const prop = schema?.properties?.[name] ?? (typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    const one = (s) => (typeof value === 'string' ? coerceField(value, s) : `(file ${JSON.stringify(value.name)}, ${value.size} bytes)`);
    if (prop?.type === 'array') (out[name] ??= []).push(one(prop.items));
    else out[name] = one(prop);
  }
  return out;
}

async function validateRequest(op, req, body, where) {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const mt = mediaType(headers['content-type']);
  let parsed = body.length ? body.toString('utf8') : undefined;
  if (parsed !== undefined && /json/.test(mt)) {
    try {
      parsed = JSON.parse(parsed);
    } catch (e) {
      violation({ side: 'request', ...where, rule: 'json', message: `request body is not JSON: ${e.message}` });
      return;
    }
  } else if (body.length && (mt === 'multipart/form-data' || mt === 'application/x-www-form-urlencoded')) {
    const declared = op.requestBody?.content?.[mt];
    if (!declared) {
      violation({ side: 'request', ...where, rule: 'media-type', message: `request Content-Type "${headers['content-type']}" is not declared (declared: ${Object.keys(op.requestBody?.content ?? {}).join(', ') || 'no body'})` });
      return;
    }
    try {
      parsed = await formBody(body, headers['content-type'], declared.schema);
    } catch (e) {
      violation({ side: 'request', ...where, rule: 'form', message: `request body is not a valid ${mt} body: ${e.message}` });
      return;
    }
  }
  const url = new URL(req.url, 'http://x');
  const res = api.validateRequest({
    method: req.method.toLowerCase(),
    path: url.pathname,
    query: url.search.slice(1),
    headers,
    body: parsed,
  }, op);
  if (!res.valid) {
    violation({ side: 'request', ...where, rule: 'schema', message: ajvMessages(res.errors).join('; ') });
  }
}

function validateResponse(op, status, headers, body, where) {
  const key = `${op.operationId} ${status}`;
  stats.byOperation[key] = (stats.byOperation[key] || 0) + 1;
  const declared = declaredResponse(op, status);
  if (!declared) {
    violation({ side: 'response', ...where, rule: 'status', message: `status ${status} is not declared for ${op.operationId} (declared: ${Object.keys(op.responses || {}).join(', ')})` });
    return;
  }
  // Headers: the declared ones that are present must match their schema
  // (openapi-backend), and the required ones must be present (here).
  for (const [name, h] of Object.entries(declared.headers || {})) {
    if (h.required && headers[name.toLowerCase()] === undefined) {
      violation({ side: 'response', ...where, rule: 'header-required', message: `required header ${name} is missing` });
    }
  }
  const hv = api.validateResponseHeaders(headers, op, { statusCode: status, setMatchType: 'any' });
  if (!hv.valid) {
    violation({ side: 'response', ...where, rule: 'header-schema', message: ajvMessages(hv.errors).join('; ') });
  }
  const content = declared.content;
  if (!content || Object.keys(content).length === 0) {
    if (body.length > 0) violation({ side: 'response', ...where, rule: 'body', message: `a body of ${body.length} bytes where the spec declares none` });
    return;
  }
  const mt = mediaType(headers['content-type']);
  const media = declaredMedia(content, mt);
  if (!media) {
    violation({ side: 'response', ...where, rule: 'media-type', message: `Content-Type "${headers['content-type'] ?? ''}" is not declared (declared: ${Object.keys(content).join(', ')})` });
    return;
  }
  if (mt === 'application/json' || mt.endsWith('+json')) {
    let parsed;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      violation({ side: 'response', ...where, rule: 'json', message: `body is not JSON: ${e.message}` });
      return;
    }
    const rv = api.validateResponse(parsed, op, status);
    if (!rv.valid) {
      violation({ side: 'response', ...where, rule: 'schema', message: ajvMessages(rv.errors).join('; ') });
    }
    return;
  }
  // A binary or text body: the schema (type string, format binary) takes
  // any bytes; an empty body is not a file.
  if (media.schema && media.schema.format === 'binary' && body.length === 0) {
    violation({ side: 'response', ...where, rule: 'body', message: `empty ${mt} body` });
  }
}

function admin(req, res) {
  const url = new URL(req.url, 'http://x');
  let out;
  if (url.pathname === '/__validator/violations') {
    out = violations.slice(Number(url.searchParams.get('since') || 0));
  } else if (url.pathname === '/__validator/stats') {
    out = { ...stats, violations: violations.length };
  } else {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"detail":"unknown validator endpoint"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(out));
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/__validator/')) return admin(req, res);
  stats.requests++;
  const url = new URL(req.url, 'http://x');
  const where = { method: req.method, path: url.pathname };
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const op = api.matchOperation({ method: req.method.toLowerCase(), path: url.pathname, headers: req.headers });
    if (!op) {
      violation({ side: 'request', ...where, rule: 'route', message: `no operation in the spec for ${req.method} ${url.pathname}` });
    } else {
      await validateRequest(op, req, body, where);
    }
    if (prefix && !url.pathname.startsWith(prefix + '/')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: `validating proxy: paths start with ${prefix}/` }));
      return;
    }
    const target = new URL(upstream.href);
    target.pathname = upstream.pathname + url.pathname.slice(prefix.length);
    target.search = url.search;
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers['content-length'] = String(body.length);

    const up = http.request(target, { method: req.method, headers });
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        up.destroy();
      }
    });
    up.on('response', (ur) => {
      const out = {};
      for (const [k, v] of Object.entries(ur.headers)) if (!HOP.has(k)) out[k] = v;
      res.writeHead(ur.statusCode, ur.statusMessage, out);
      const got = [];
      ur.on('data', (c) => {
        got.push(c);
        res.write(c);
      });
      ur.on('end', () => {
        res.end();
        stats.responses++;
        if (op) validateResponse(op, ur.statusCode, ur.headers, Buffer.concat(got), { ...where, status: ur.statusCode });
      });
      ur.on('error', () => {
        // Cut off mid-body upstream: cut the client off the same way.
        stats.faults++;
        res.destroy();
      });
    });
    up.on('error', () => {
      if (clientGone) return;
      // Reset, empty answer or refused upstream: the client sees its
      // connection dropped, as it would without the proxy.
      stats.faults++;
      res.destroy();
    });
    up.end(body);
  });
});
server.keepAliveTimeout = 5000;
server.listen(Number(opt.port), opt.host, () => {
  const { port } = server.address();
  console.log(`validating proxy listening on http://${opt.host}:${port}${prefix}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 500).unref();
  });
}
