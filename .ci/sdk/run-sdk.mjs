#!/usr/bin/env node
// Drives the official camb.ai TypeScript SDK (@camb-ai/sdk, unmodified)
// through cambmock scenarios: create a text-to-sound task, poll its status
// until it is terminal (moving the mock's manual clock between polls), fetch
// the audio on SUCCESS, and ask the bulk results endpoint for its URL. The
// SDK's own retries (429, 5xx) do their work; this script adds only what a
// real client adds on top: it polls again after a network error or a
// timeout, and downloads the audio again if the body was cut off.
//
//   node run-sdk.mjs --base URL --admin URL [options] [SCENARIO ...]
//
//   --base URL        the SDK's baseUrl (the mock's /apis, or a proxy)
//   --admin URL       the mock's root, for /__admin/ (and, with --via prism,
//                     the untouched audio to compare against)
//   --via KIND        none (default), prism or validator: what sits between
//                     the SDK and the mock, and how it reports violations
//   --validator URL   the validating proxy's root (with --via validator)
//   --select HOW      header (default): pick the scenario with the
//                     X-Cambmock-Scenario header; prompt: with a
//                     [scenario:NAME] token in the prompt
//   --expect-violations
//                     control run: every scenario named must make the proxy
//                     report a violation (proves the detection works)
//   --label TEXT      printed in front of the summary
//   --poll-timeout S  the SDK's per-request timeout for polls (default 1.5;
//                     below the mock's --hang-limit, above slow-poll's 1 s)
//   --result-timeout S  the same for the audio download (default 5)
//   --max-polls N     polls before giving up on a task (default 12)
//   --deadline S      wall-clock limit per scenario (default 60)
//   --step D          how far to move the mock's clock between polls (5s)
//
// Without SCENARIO names it runs every on-spec built-in scenario the mock
// lists (GET /__admin/scenarios, off_spec false). It prints a line per
// scenario and exits 1 if any failed or any violation was reported.
import { parseArgs } from 'node:util';

import { CambApiError, CambApiTimeoutError, CambClient } from '@camb-ai/sdk';
import { errorKind, isWav, mockAdmin } from './common.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    base: { type: 'string' },
    admin: { type: 'string' },
    via: { type: 'string', default: 'none' },
    validator: { type: 'string' },
    select: { type: 'string', default: 'header' },
    'expect-violations': { type: 'boolean', default: false },
    label: { type: 'string', default: '' },
    'poll-timeout': { type: 'string', default: '1.5' },
    'result-timeout': { type: 'string', default: '5' },
    'max-polls': { type: 'string', default: '12' },
    deadline: { type: 'string', default: '60' },
    step: { type: 'string', default: '5s' },
    'api-key': { type: 'string', default: 'cambmock-sdk-harness' },
  },
});
function usage(msg) {
  console.error(`run-sdk: ${msg}\nusage: node run-sdk.mjs --base URL --admin URL [--via none|prism|validator] [--validator URL] [--select header|prompt] [--expect-violations] [SCENARIO ...]`);
  process.exit(2);
}
if (!opt.base || !opt.admin) usage('--base and --admin are required');
if (!['none', 'prism', 'validator'].includes(opt.via)) usage(`--via ${opt.via}: not none, prism or validator`);
if (opt.via === 'validator' && !opt.validator) usage('--via validator needs --validator URL');
if (!['header', 'prompt'].includes(opt.select)) usage(`--select ${opt.select}: not header or prompt`);
const admin = opt.admin.replace(/\/+$/, '');
const { adminJSON, advanceClock } = mockAdmin(admin, opt.step);
const pollTimeout = Number(opt['poll-timeout']);
const resultTimeout = Number(opt['result-timeout']);
const maxPolls = Number(opt['max-polls']);
const deadlineMs = Number(opt.deadline) * 1000;
const expectViolations = opt['expect-violations'];

// What each built-in on-spec scenario must end in. A scenario not listed
// here (one loaded with --scenarios) must reach some terminal status.
const EXPECT = {
  success: 'SUCCESS',
  'slow-success': 'SUCCESS',
  'connection-reset': 'SUCCESS',
  'empty-response': 'SUCCESS',
  hang: 'SUCCESS',
  jittery: 'SUCCESS',
  maintenance: 'SUCCESS',
  'rate-limited': 'SUCCESS',
  'server-error': 'SUCCESS',
  'slow-poll': 'SUCCESS',
  'create-rate-limited': 'SUCCESS',
  'result-server-error': 'SUCCESS',
  'result-truncated': 'SUCCESS',
  'extra-fields': 'SUCCESS',
  error: 'ERROR',
  'harmful-content': 'ERROR',
  'unknown-reason': 'ERROR',
  timeout: 'TIMEOUT',
  'payment-required': 'PAYMENT_REQUIRED',
  stuck: 'PENDING', // never ends: passes when still PENDING at the deadline
};
// HTTP answers the SDK must have met (and retried through) on the way.
const MUST_SEE = {
  'rate-limited': { poll: [429, 429] },
  'create-rate-limited': { create: [429] },
  'server-error': { poll: [500, 503] },
  maintenance: { poll: [503] },
  'result-server-error': { result: [500] },
};

// ---- observing the SDK's HTTP exchanges -------------------------------
// The SDK takes a `fetch` option; this one calls the real fetch and notes
// what came back, without touching the request or the response.
let call = null; // the attempts of the SDK call in progress
const findings = []; // violations reported by the proxy, per scenario
let scenarioFindings = [];

async function observedFetch(url, init) {
  const attempt = { code: null, err: null, t0: Date.now(), ms: 0 };
  call?.attempts.push(attempt);
  try {
    const res = await fetch(url, init);
    attempt.ms = Date.now() - attempt.t0;
    attempt.code = res.status;
    if (opt.via === 'prism') await notePrism(url, init, res, attempt);
    return res;
  } catch (e) {
    attempt.ms = Date.now() - attempt.t0;
    attempt.err = e?.name === 'AbortError' || e === 'timeout' ? 'abort' : 'net';
    throw e;
  }
}

async function notePrism(url, init, res, attempt) {
  const where = `${init?.method ?? 'GET'} ${new URL(url).pathname} -> ${res.status}`;
  const header = res.headers.get('sl-violations');
  if (header) {
    let list;
    try {
      list = JSON.parse(header);
    } catch {
      list = [{ message: header }];
    }
    for (const v of list) scenarioFindings.push(`prism ${where}: ${v.severity ?? ''} ${JSON.stringify(v.location ?? [])} ${v.code ?? ''} ${v.message}`.replace(/\s+/g, ' '));
  }
  if ((res.headers.get('content-type') || '').includes('application/problem+json')) {
    const problem = await res.clone().json().catch(() => ({}));
    const type = String(problem.type ?? '');
    if (type === 'FetchError' && /invalid json response body/i.test(problem.title ?? '')) {
      // The mock's body said application/json but did not parse.
      scenarioFindings.push(`prism ${where}: ${type} ${problem.title}`);
    } else if (type === 'FetchError') {
      // Prism lost the connection to the mock (a fault the scenario plays:
      // reset, empty answer, cut-off body) and answers 500 itself: not a
      // violation, and not an answer of the mock's.
      attempt.proxy = 'prism-upstream-fault';
    } else if (!header) {
      scenarioFindings.push(`prism ${where}: ${type} ${problem.title ?? ''} ${problem.detail ?? ''}`.trim());
    }
  }
}

async function validatorFindings(since) {
  const res = await fetch(`${opt.validator.replace(/\/+$/, '')}/__validator/violations?since=${since}`);
  const list = await res.json();
  return list.map((v) => `validator ${v.side} ${v.method} ${v.path} -> ${v.status ?? '-'} [${v.rule}] ${v.message}`);
}
async function validatorCount() {
  if (opt.via !== 'validator') return 0;
  const res = await fetch(`${opt.validator.replace(/\/+$/, '')}/__validator/stats`);
  return (await res.json()).violations;
}

const client = new CambClient({
  apiKey: opt['api-key'],
  baseUrl: opt.base,
  fetch: observedFetch,
});
const tta = client.textToAudio;

// sdk runs one SDK call, noting each HTTP attempt: "poll:429>429>200".
async function sdk(log, name, fn) {
  call = { attempts: [] };
  const mine = call;
  // An attempt that took 0.5 s or more shows how long: "200(1.0s)".
  const slow = (a) => (a.ms >= 500 ? `(${(a.ms / 1000).toFixed(1)}s)` : '');
  const attempts = () => mine.attempts.map((a) => (a.err ? a.err : a.proxy ? `${a.code}(${a.proxy})` : String(a.code)) + slow(a)).join('>');
  try {
    const out = await fn();
    log.push(`${name}:${attempts()}`);
    return out;
  } catch (e) {
    log.push(`${name}:${attempts() || '-'}!${errorKind(e)}`);
    throw e;
  } finally {
    call = null;
  }
}

// ---- checks -----------------------------------------------------------

// Prism's proxy reads every non-JSON body as UTF-8 text and re-encodes it
// (prism-http dist/utils/parseResponse.js: response.text()), so the WAV it
// passes on has each invalid UTF-8 byte replaced by U+FFFD. Compare with
// the same bytes taken straight from the mock, put through that decoding.
async function prismAudioMatches(runId, got) {
  const res = await fetch(`${admin}/apis/text-to-sound-result/${runId}`, { headers: { 'x-api-key': opt['api-key'] } });
  const orig = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 || !isWav(orig)) return { ok: false, why: `the mock's own copy is not a WAV (HTTP ${res.status})` };
  const lossy = Buffer.from(orig.toString('utf8'), 'utf8');
  if (got.equals(orig)) return { ok: true, note: 'byte-exact' };
  if (got.equals(lossy)) return { ok: true, note: `UTF-8-mangled by Prism; the mock sent a valid ${orig.length}-byte WAV` };
  return { ok: false, why: `${got.length} bytes differ from the mock's ${orig.length}-byte WAV, even allowing for Prism's UTF-8 re-encoding` };
}

// ---- one scenario -----------------------------------------------------
async function runScenario(name) {
  const started = Date.now();
  const log = [];
  const statuses = [];
  const problems = [];
  const notes = [];
  scenarioFindings = [];
  const validatorSince = await validatorCount();
  const expected = EXPECT[name];
  let audioBytes = 0;

  let taskId;
  try {
    const prompt = opt.select === 'prompt' ? `cambmock sdk harness [scenario:${name}]` : 'cambmock sdk harness: rain on a tin roof';
    const created = await sdk(log, 'create', () =>
      tta.createTextToAudio(
        { prompt, duration: 2, audio_type: 'sound' },
        { headers: opt.select === 'header' ? { 'X-Cambmock-Scenario': name } : undefined, timeoutInSeconds: 10 },
      ),
    );
    taskId = created?.task_id;
    if (typeof taskId !== 'string' || taskId === '') problems.push(`create returned no task_id: ${JSON.stringify(created)}`);
  } catch (e) {
    problems.push(`create failed: ${errorKind(e)}`);
  }

  let last = null;
  let runId = null;
  if (taskId) {
    for (let i = 0; i < maxPolls && Date.now() - started < deadlineMs; i++) {
      try {
        const st = await sdk(log, 'poll', () => tta.getTextToAudioStatus({ task_id: taskId }, { timeoutInSeconds: pollTimeout }));
        last = st;
        // The SDK does not check what it parsed: a 200 whose body is not
        // JSON resolves to {ok: false, error: {reason: "non-json", ...}},
        // an empty one to undefined. Show that, and stop: it is no status.
        statuses.push(typeof st?.status === 'string' ? st.status : `(data ${String(JSON.stringify(st)).slice(0, 60)})`);
        if (st?.status !== 'PENDING') break;
      } catch (e) {
        statuses.push(`(${errorKind(e)})`);
      }
      await advanceClock();
    }
    const final = last?.status ?? null;
    if (expected === 'PENDING') {
      if (final !== 'PENDING') problems.push(`expected to stay PENDING, got ${final}`);
      else notes.push(`still PENDING after ${statuses.length} polls: gave up, as a client must`);
    } else if (final === 'PENDING' || final === null) {
      problems.push(`no terminal status within ${maxPolls} polls / ${deadlineMs / 1000}s`);
    } else if (expected && final !== expected) {
      problems.push(`expected ${expected}, got ${final}`);
    }
    if (final === 'SUCCESS') {
      runId = last.run_id;
      if (!Number.isInteger(runId)) problems.push(`SUCCESS without an integer run_id: ${JSON.stringify(last.run_id)}`);
    } else if (final && final !== 'PENDING') {
      if (last.exception_reason == null) notes.push(`${final} without exception_reason`);
    }
  }

  // The audio: the SDK hands back a BinaryResponse (arrayBuffer, blob,
  // stream, bytes). A body cut off mid-way fails on reading, after the SDK
  // has returned; fetch it again then, as a client would.
  let bulkOk = null;
  if (runId !== null && Number.isInteger(runId)) {
    let audio = null;
    for (let attempt = 0; attempt < 3 && !audio; attempt++) {
      try {
        const { data, rawResponse } = await sdk(log, 'result', () => tta.getTextToAudioResult({ run_id: runId }, { timeoutInSeconds: resultTimeout }).withRawResponse());
        const bytes = Buffer.from(await data.arrayBuffer());
        const ct = rawResponse.headers.get('content-type');
        if (!/^audio\/wav\b/.test(ct ?? '')) problems.push(`result Content-Type ${ct}, not audio/wav`);
        const cl = rawResponse.headers.get('content-length');
        if (cl !== null && Number(cl) !== bytes.length) problems.push(`result Content-Length ${cl} but ${bytes.length} bytes`);
        audio = bytes;
      } catch (e) {
        if (!(e instanceof CambApiError || e instanceof CambApiTimeoutError)) log.push(`result-body!${errorKind(e)}`);
        else if (opt.via === 'prism' && errorKind(e) === 'timeout') notes.push('Prism did not answer this download (it never answers when the upstream body is cut off); the SDK timed out, the next try got the audio');
      }
    }
    if (!audio) {
      problems.push('no audio after 3 tries');
    } else {
      audioBytes = audio.length;
      if (opt.via === 'prism') {
        const m = await prismAudioMatches(runId, audio);
        if (!m.ok) problems.push(`audio: ${m.why}`);
        else if (m.note !== 'byte-exact') notes.push(`audio ${m.note}`);
      } else if (!isWav(audio)) {
        problems.push(`audio does not start with RIFF....WAVE: ${audio.subarray(0, 12).toString('hex')}`);
      }
    }
    try {
      const bulk = await sdk(log, 'bulk', () => tta.getTextToSoundResults({ body: { run_ids: [runId] } }));
      const entry = bulk?.[String(runId)];
      if (!entry || typeof entry.output_url !== 'string' || !/^https?:\/\//.test(entry.output_url)) {
        problems.push(`bulk results lack ${runId}: ${JSON.stringify(bulk)}`);
      } else {
        // The pre-signed URL needs no key.
        const f = await fetch(entry.output_url);
        const b = Buffer.from(await f.arrayBuffer());
        if (f.status !== 200 || !isWav(b)) problems.push(`bulk output_url answered ${f.status} with ${b.length} bytes, not a WAV`);
        else bulkOk = true;
      }
    } catch (e) {
      problems.push(`bulk failed: ${errorKind(e)}`);
    }
  }

  for (const [op, codes] of Object.entries(MUST_SEE[name] ?? {})) {
    const seen = log.filter((l) => l.startsWith(op + ':')).flatMap((l) => l.slice(op.length + 1).split('!')[0].split('>')).map((c) => parseInt(c, 10));
    const missing = [...codes];
    for (const c of seen) {
      const at = missing.indexOf(c);
      if (at >= 0) missing.splice(at, 1);
    }
    if (missing.length) problems.push(`expected the SDK to meet ${codes.join(',')} on ${op} (and retry), met ${seen.join(',') || 'none'}`);
  }

  if (opt.via === 'validator') scenarioFindings.push(...(await validatorFindings(validatorSince)));
  // The same violation met on each retry is reported once, with a count.
  const counts = new Map();
  for (const f of scenarioFindings) counts.set(f, (counts.get(f) ?? 0) + 1);
  const found = [...counts].map(([f, n]) => (n > 1 ? `${f} (x${n})` : f));
  findings.push(...found.map((f) => `${name}: ${f}`));
  let pass;
  if (expectViolations) {
    pass = found.length > 0;
    if (!pass) problems.push('the proxy reported no violation for this off-spec scenario');
  } else {
    pass = problems.length === 0 && found.length === 0;
    problems.push(...found.map((f) => `VIOLATION ${f}`));
  }
  return {
    name,
    pass,
    statuses,
    audioBytes,
    bulkOk,
    log,
    problems,
    notes,
    violations: found,
    runId,
    ms: Date.now() - started,
  };
}

// ---- main ---------------------------------------------------------------
const t0 = Date.now();
const health = await adminJSON('GET', '/__admin/health');
if (health.status !== 200) usage(`GET ${admin}/__admin/health answered ${health.status}`);
if (health.body.clock !== 'manual') console.log(`note: the mock runs on the ${health.body.clock} clock; polls will wait 1s each (start it with --clock manual)`);
let names = positionals;
if (names.length === 0) {
  const { body } = await adminJSON('GET', '/__admin/scenarios');
  names = body.filter((s) => !s.off_spec).map((s) => s.name);
}
await adminJSON('POST', '/__admin/reset');

const label = opt.label ? `${opt.label}: ` : '';
console.log(`${label}@camb-ai/sdk 1.0.1, baseUrl ${opt.base}, via ${opt.via}, scenario by ${opt.select}${expectViolations ? ', expecting violations' : ''}; ${names.length} scenarios`);
const results = [];
for (const name of names) {
  const r = await runScenario(name);
  results.push(r);
  const width = Math.max(...names.map((n) => n.length));
  const audio = r.audioBytes ? `${r.audioBytes} B` : '-';
  console.log(`${r.pass ? 'PASS' : 'FAIL'}  ${name.padEnd(width)}  statuses ${r.statuses.join(',') || '-'}  audio ${audio}  bulk ${r.bulkOk ? 'ok' : '-'}  ${(r.ms / 1000).toFixed(1)}s`);
  console.log(`      http ${r.log.join(' ')}`);
  for (const n of r.notes) console.log(`      note: ${n}`);
  for (const p of r.problems) console.log(`      ${expectViolations && r.pass ? 'off-spec effect: ' : 'problem: '}${p}`);
  if (expectViolations && r.pass) for (const v of r.violations) console.log(`      found: ${v}`);
}

// One more bulk call: every run that succeeded, plus one that does not
// exist. The known ones come back, the unknown one is left out.
let bulkAllFail = false;
const known = results.filter((r) => r.bulkOk).map((r) => r.runId);
if (!expectViolations && known.length > 0) {
  const unknown = 2_000_000_000;
  scenarioFindings = [];
  const since = await validatorCount();
  try {
    const all = await sdk([], 'bulk', () => tta.getTextToSoundResults({ body: { run_ids: [...known, unknown] } }));
    const missing = known.filter((id) => typeof all?.[String(id)]?.output_url !== 'string');
    if (missing.length || String(unknown) in (all ?? {})) {
      bulkAllFail = true;
      console.log(`FAIL  bulk results for ${known.length} runs + 1 unknown: missing ${missing.join(',') || 'none'}, unknown ${String(unknown) in (all ?? {}) ? 'present' : 'left out'}`);
    } else {
      console.log(`PASS  bulk results for ${known.length} runs + 1 unknown run id: ${Object.keys(all).length} entries, the unknown one left out`);
    }
  } catch (e) {
    bulkAllFail = true;
    console.log(`FAIL  bulk results for ${known.length} runs + 1 unknown: ${errorKind(e)}`);
  }
  if (opt.via === 'validator') scenarioFindings.push(...(await validatorFindings(since)));
  for (const f of scenarioFindings) {
    bulkAllFail = true;
    findings.push(`bulk: ${f}`);
    console.log(`      problem: VIOLATION ${f}`);
  }
}

const failed = results.filter((r) => !r.pass);
const secs = ((Date.now() - t0) / 1000).toFixed(1);
if (expectViolations) {
  console.log(`${label}${results.length - failed.length} passed, ${failed.length} failed (control: the proxy must flag each off-spec scenario) in ${secs}s`);
} else {
  console.log(`${label}${results.length - failed.length} passed, ${failed.length} failed; ${findings.length} violations reported by the proxy; ${secs}s`);
}
process.exit(failed.length || bulkAllFail ? 1 : 0);
