#!/usr/bin/env node
// Drives the official camb.ai TypeScript SDK (@camb-ai/sdk 1.0.1,
// unmodified) through every kind of task of camb.ai's polled-task family
// that cambmock serves: for each kind and scenario it creates a task with
// the kind's SDK method (the scenario picked by the X-Cambmock-Scenario
// header, sent with the SDK's per-request `headers` option), polls the
// kind's status method until the status is terminal (moving the mock's
// manual clock between polls), fetches the result with the kind's result
// method(s) and, where the kind has one, asks its bulk method for the run.
//
//   node run-family.mjs --base URL --admin URL [options]
//
//   --base URL        the SDK's baseUrl (the mock's /apis, or a proxy)
//   --admin URL       the mock's root, for /__admin/ (tasks, clock, kinds)
//   --via KIND        none (default), prism, validator or cambmock-proxy:
//                     what sits between the SDK and the mock, and where it
//                     reports violations
//   --validator URL   the validating proxy's root (with --via validator)
//   --cproxy URL      cambmock proxy's root (with --via cambmock-proxy)
//   --kinds LIST      comma-separated kinds (default: every kind the mock
//                     lists at GET /__admin/kinds)
//   --scenarios LIST  comma-separated scenarios (default: success,error);
//                     all: every on-spec scenario the mock lists
//   --label TEXT      printed in front of the summary
//   --poll-timeout S  the SDK's per-request timeout for polls (default 1.5)
//   --result-timeout S  the same for result calls (default 5)
//   --max-polls N     polls before giving up on a task (default 12)
//   --step D          how far to move the mock's clock between polls (5s)
//   --show-calls      print, per kind, the SDK methods called and their paths
//
// What is checked, per kind and scenario:
//   - every HTTP request the SDK sends has the method, path and query the
//     SDK is known to call (the table KINDS below), and the mock serves the
//     kind's operations at those paths (GET /__admin/kinds);
//   - the task the mock made has the kind and the scenario the header named
//     (GET /__admin/tasks/{id}): success is also the mock's default, so a
//     header the mock ignored would otherwise go unseen;
//   - the statuses end as the scenario says (SUCCESS, ERROR, ...), and the
//     SDK met (and retried through) the HTTP errors the scenario plays;
//   - on SUCCESS: the run_id is the task's run; each result the SDK returns
//     has the fields its SDK type names, with the right JSON types; every
//     URL in it downloads without the API key and is a RIFF/WAVE file sent
//     as audio/wav (the mock's files are all WAV); audio bytes are a
//     RIFF/WAVE file sent as audio/wav; the bulk answer has the run's entry,
//     in the same shape (its URLs downloaded too), and leaves out an
//     unknown run id;
//   - on a failing status: no run_id, and the SDK's result method(s) get no
//     result for the task's run (404, thrown as CambApiError), and the bulk
//     answer leaves the run out;
//   - the proxy in between reported no violation.
// The mock is reset before each kind: a scenario's create script plays
// per server, not per task (only the first create of create-rate-limited
// meets its 429).
// It prints a line per kind and scenario and exits 1 if any failed.
import { parseArgs } from 'node:util';

import { CambApiError, CambApiTimeoutError, CambClient } from '@camb-ai/sdk';
import { errorKind, isWav, mockAdmin } from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    admin: { type: 'string' },
    via: { type: 'string', default: 'none' },
    validator: { type: 'string' },
    cproxy: { type: 'string' },
    kinds: { type: 'string' },
    scenarios: { type: 'string', default: 'success,error' },
    label: { type: 'string', default: '' },
    'poll-timeout': { type: 'string', default: '1.5' },
    'result-timeout': { type: 'string', default: '5' },
    'max-polls': { type: 'string', default: '12' },
    step: { type: 'string', default: '5s' },
    'show-calls': { type: 'boolean', default: false },
    'api-key': { type: 'string', default: 'cambmock-sdk-harness' },
  },
});
function usage(msg) {
  console.error(`run-family: ${msg}\nusage: node run-family.mjs --base URL --admin URL [--via none|prism|validator|cambmock-proxy] [--validator URL] [--cproxy URL] [--kinds LIST] [--scenarios LIST]`);
  process.exit(2);
}
if (!opt.base || !opt.admin) usage('--base and --admin are required');
if (!['none', 'prism', 'validator', 'cambmock-proxy'].includes(opt.via)) usage(`--via ${opt.via}: not none, prism, validator or cambmock-proxy`);
if (opt.via === 'validator' && !opt.validator) usage('--via validator needs --validator URL');
if (opt.via === 'cambmock-proxy' && !opt.cproxy) usage('--via cambmock-proxy needs --cproxy URL');
const admin = opt.admin.replace(/\/+$/, '');
const { adminJSON, advanceClock } = mockAdmin(admin, opt.step);
const basePath = new URL(opt.base).pathname.replace(/\/+$/, '');
const pollTimeout = Number(opt['poll-timeout']);
const resultTimeout = Number(opt['result-timeout']);
const maxPolls = Number(opt['max-polls']);
const key = opt['api-key'];

// ---- what the SDK sends, and what its types say it gets back ----------
// A tiny upload for the multipart creates: a 0.01 s, 8-bit mono WAV. (The
// mock reads at most 1 MiB of a request body and ignores the file's bytes.)
const TINY_WAV = (() => {
  const samples = Buffer.alloc(80);
  for (let i = 0; i < samples.length; i++) samples[i] = 128 + Math.round(40 * Math.sin(i / 2));
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + samples.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(8000, 24); // sample rate
  h.writeUInt32LE(8000, 28); // byte rate
  h.writeUInt16LE(1, 32); // block align
  h.writeUInt16LE(8, 34); // bits per sample
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(samples.length, 40);
  return Buffer.concat([h, samples]);
})();
const upload = () => ({ data: TINY_WAV, filename: 'cambmock-harness.wav', contentType: 'audio/wav' });

// Shapes of the SDK's result types (dist/api/types/*.d.ts): 'url' is a
// string that must be an http(s) URL serving a WAV file; a key ending in
// '?' is optional; [x] is a non-empty array of x; 'a|b' either.
const TRANSCRIPT = { start: 'number', end: 'number', text: 'string', speaker: 'string' };
const TYPES = {
  OutputUrl: { output_url: 'url' }, // GetTtsResultOutFileUrl; bulk entries of text-to-sound and tts
  GetTextToVoiceResultOut: { previews: ['url'] },
  GetAudioSeparationResultOut: { foreground_audio_url: 'url', background_audio_url: 'url' },
  DubbingResult: { audio_url: 'url', transcript: [TRANSCRIPT], 'video_url?': 'url|null' },
  TranscriptionResult: { transcript: [TRANSCRIPT] },
  TranslationResult: { texts: ['string'] },
};

const TEXTS = ['Good morning, everyone.', 'See you tomorrow.'];

// One entry per kind: the SDK method of each role, the path it calls
// (relative to the base URL), and what its answer must be. result is a
// list: translated-tts has no result method of its own, and its run is
// fetched from tts's and translation's; tts's raw bytes are tried too.
const KINDS = {
  'text-to-sound': {
    create: { sdk: 'textToAudio.createTextToAudio', op: 'POST /text-to-sound', call: (c, o) => c.textToAudio.createTextToAudio({ prompt: 'cambmock family harness: a door creaks', duration: 1, audio_type: 'sound' }, o) },
    status: { sdk: 'textToAudio.getTextToAudioStatus', op: 'GET /text-to-sound/{task_id}', call: (c, task_id, o) => c.textToAudio.getTextToAudioStatus({ task_id }, o) },
    results: [{ sdk: 'textToAudio.getTextToAudioResult', op: 'GET /text-to-sound-result/{run_id}', expect: 'binary-wav', call: (c, run_id, o) => c.textToAudio.getTextToAudioResult({ run_id }, o) }],
    bulk: { sdk: 'textToAudio.getTextToSoundResults', op: 'POST /text-to-sound-results', entry: 'OutputUrl', call: (c, run_ids, o) => c.textToAudio.getTextToSoundResults({ body: { run_ids } }, o) },
  },
  tts: {
    create: { sdk: 'textToSpeech.createTts', op: 'POST /tts', call: (c, o) => c.textToSpeech.createTts({ text: 'Welcome aboard. Your journey starts here.', voice_id: 147320, language: 1 }, o) },
    // The SDK names the status method getTtsResult: it polls /tts/{task_id}.
    status: { sdk: 'textToSpeech.getTtsResult', op: 'GET /tts/{task_id}', call: (c, task_id, o) => c.textToSpeech.getTtsResult({ task_id }, o) },
    results: [
      { sdk: 'textToSpeech.getTtsRunInfo', label: 'file_url', op: 'GET /tts-result/{run_id}', query: 'output_type=file_url', expect: 'OutputUrl', call: (c, run_id, o) => c.textToSpeech.getTtsRunInfo({ run_id, output_type: 'file_url' }, o) },
      // Without output_type the answer is audio, which the SDK parses as
      // JSON and hands back as a "non-json" object holding the bytes as text.
      { sdk: 'textToSpeech.getTtsRunInfo', label: 'raw_bytes', op: 'GET /tts-result/{run_id}', expect: 'non-json-wav', call: (c, run_id, o) => c.textToSpeech.getTtsRunInfo({ run_id }, o) },
    ],
    bulk: { sdk: 'textToSpeech.getTtsResults', op: 'POST /tts-results', entry: 'OutputUrl', call: (c, run_ids, o) => c.textToSpeech.getTtsResults({ body: { run_ids } }, o) },
  },
  'text-to-voice': {
    create: {
      sdk: 'textToVoice.createTextToVoice',
      op: 'POST /text-to-voice',
      call: (c, o) =>
        c.textToVoice.createTextToVoice(
          {
            text: 'Welcome to our application. I will guide you through every feature.',
            voice_description: 'A warm and friendly middle-aged woman with a slight British accent, who speaks clearly and calmly, with a soothing tone that conveys expertise.',
          },
          o,
        ),
    },
    status: { sdk: 'textToVoice.getTextToVoiceStatus', op: 'GET /text-to-voice/{task_id}', call: (c, task_id, o) => c.textToVoice.getTextToVoiceStatus({ task_id }, o) },
    results: [{ sdk: 'textToVoice.getTextToVoiceResult', op: 'GET /text-to-voice-result/{run_id}', expect: 'GetTextToVoiceResultOut', call: (c, run_id, o) => c.textToVoice.getTextToVoiceResult({ run_id }, o) }],
    bulk: null,
  },
  'audio-separation': {
    create: { sdk: 'audioSeparation.createAudioSeparation', op: 'POST /audio-separation', multipart: true, call: (c, o) => c.audioSeparation.createAudioSeparation({ media_file: upload() }, o) },
    status: { sdk: 'audioSeparation.getAudioSeparationStatus', op: 'GET /audio-separation/{task_id}', call: (c, task_id, o) => c.audioSeparation.getAudioSeparationStatus({ task_id }, o) },
    results: [{ sdk: 'audioSeparation.getAudioSeparationRunInfo', op: 'GET /audio-separation-result/{run_id}', expect: 'GetAudioSeparationResultOut', call: (c, run_id, o) => c.audioSeparation.getAudioSeparationRunInfo({ run_id }, o) }],
    bulk: { sdk: 'audioSeparation.getAudioSeparationRunsResults', op: 'POST /audio-separation-results', entry: 'GetAudioSeparationResultOut', call: (c, run_ids, o) => c.audioSeparation.getAudioSeparationRunsResults({ body: { run_ids } }, o) },
  },
  dub: {
    create: { sdk: 'dub.endToEndDubbing', op: 'POST /dub', call: (c, o) => c.dub.endToEndDubbing({ video_url: 'https://media.example.org/videos/interview.mp4', source_language: 1, target_languages: [54] }, o) },
    status: { sdk: 'dub.getEndToEndDubbingStatus', op: 'GET /dub/{task_id}', call: (c, task_id, o) => c.dub.getEndToEndDubbingStatus({ task_id }, o) },
    // The SDK types the answer DubbingResult | Record<string, DubbingResult>;
    // the mock serves the first.
    results: [{ sdk: 'dub.getDubbedRunInfo', op: 'GET /dub-result/{run_id}', expect: 'DubbingResult', call: (c, run_id, o) => c.dub.getDubbedRunInfo({ run_id }, o) }],
    bulk: { sdk: 'dub.getDubbingRunsResults', op: 'POST /dubbing-results', entry: 'DubbingResult', call: (c, run_ids, o) => c.dub.getDubbingRunsResults({ body: { run_ids } }, o) },
  },
  transcription: {
    create: { sdk: 'transcription.createTranscription', op: 'POST /transcribe', multipart: true, call: (c, o) => c.transcription.createTranscription({ language: 1, media_file: upload() }, o) },
    status: { sdk: 'transcription.getTranscriptionTaskStatus', op: 'GET /transcribe/{task_id}', call: (c, task_id, o) => c.transcription.getTranscriptionTaskStatus({ task_id }, o) },
    results: [{ sdk: 'transcription.getTranscriptionResult', op: 'GET /transcription-result/{run_id}', expect: 'TranscriptionResult', call: (c, run_id, o) => c.transcription.getTranscriptionResult({ run_id }, o) }],
    bulk: { sdk: 'transcription.getTranscriptionResults', op: 'POST /transcription-results', entry: 'TranscriptionResult', call: (c, run_ids, o) => c.transcription.getTranscriptionResults({ body: { run_ids } }, o) },
  },
  translation: {
    create: { sdk: 'translation.createTranslation', op: 'POST /translate', call: (c, o) => c.translation.createTranslation({ texts: TEXTS, source_language: 1, target_language: 54 }, o) },
    status: { sdk: 'translation.getTranslationTaskStatus', op: 'GET /translate/{task_id}', call: (c, task_id, o) => c.translation.getTranslationTaskStatus({ task_id }, o) },
    results: [{ sdk: 'translation.getTranslationResult', op: 'GET /translation-result/{run_id}', expect: 'TranslationResult', texts: TEXTS.length, call: (c, run_id, o) => c.translation.getTranslationResult({ run_id }, o) }],
    bulk: { sdk: 'translation.getTranslationResults', op: 'POST /translation-results', entry: 'TranslationResult', call: (c, run_ids, o) => c.translation.getTranslationResults({ body: { run_ids } }, o) },
  },
  'translated-tts': {
    create: { sdk: 'translatedTts.createTranslatedTts', op: 'POST /translated-tts', call: (c, o) => c.translatedTts.createTranslatedTts({ text: 'Hello, how are you?', voice_id: 147320, source_language: 1, target_language: 54 }, o) },
    status: { sdk: 'translatedTts.getTranslatedTtsTaskStatus', op: 'GET /translated-tts/{task_id}', call: (c, task_id, o) => c.translatedTts.getTranslatedTtsTaskStatus({ task_id }, o) },
    // No result method of its own: the docs fetch the audio from
    // /tts-result and the translated text from /translation-result.
    results: [
      { sdk: 'textToSpeech.getTtsRunInfo', label: 'file_url', other: 'tts', op: 'GET /tts-result/{run_id}', query: 'output_type=file_url', expect: 'OutputUrl', call: (c, run_id, o) => c.textToSpeech.getTtsRunInfo({ run_id, output_type: 'file_url' }, o) },
      { sdk: 'translation.getTranslationResult', other: 'translation', op: 'GET /translation-result/{run_id}', expect: 'TranslationResult', texts: 1, call: (c, run_id, o) => c.translation.getTranslationResult({ run_id }, o) },
    ],
    bulk: null,
  },
};

// What each built-in on-spec scenario must end in (as in run-sdk.mjs); a
// scenario not listed must end in some terminal status.
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
  stuck: 'PENDING', // never ends: passes when still PENDING after --max-polls
};
// HTTP answers the SDK must have met (and retried through) on the way;
// "result" counts every result call of the kind.
const MUST_SEE = {
  'rate-limited': { poll: [429, 429] },
  'create-rate-limited': { create: [429] },
  'server-error': { poll: [500, 503] },
  maintenance: { poll: [503] },
  'result-server-error': { result: [500] },
};

// ---- observing the SDK's HTTP exchanges -------------------------------
let call = null; // the SDK call in progress: its attempts
let scenarioFindings = [];

async function observedFetch(url, init) {
  const u = new URL(url);
  const attempt = { method: init?.method ?? 'GET', path: u.pathname, query: u.search.slice(1), code: null, err: null, t0: Date.now(), ms: 0 };
  call?.attempts.push(attempt);
  try {
    const res = await fetch(url, init);
    attempt.ms = Date.now() - attempt.t0;
    attempt.code = res.status;
    if (opt.via === 'prism') notePrism(attempt, res);
    return res;
  } catch (e) {
    attempt.ms = Date.now() - attempt.t0;
    attempt.err = e?.name === 'AbortError' || e === 'timeout' ? 'abort' : 'net';
    throw e;
  }
}

// Prism reports violations in the sl-violations header of its answer.
function notePrism(attempt, res) {
  const header = res.headers.get('sl-violations');
  if (!header) return;
  let list;
  try {
    list = JSON.parse(header);
  } catch {
    list = [{ message: header }];
  }
  const where = `${attempt.method} ${attempt.path} -> ${res.status}`;
  for (const v of list) scenarioFindings.push(`prism ${where}: ${v.severity ?? ''} ${JSON.stringify(v.location ?? [])} ${v.code ?? ''} ${v.message}`.replace(/\s+/g, ' '));
}

async function getJSON(url) {
  const res = await fetch(url);
  return res.json();
}
// Where a proxy's violations stand now, to take the new ones later.
async function proxyMark() {
  if (opt.via === 'validator') return (await getJSON(`${opt.validator.replace(/\/+$/, '')}/__validator/stats`)).violations;
  if (opt.via === 'cambmock-proxy') {
    const s = await getJSON(`${opt.cproxy.replace(/\/+$/, '')}/__admin/violations`);
    return new Map(s.findings.map((f) => [`${f.check} ${f.operation}: ${f.problem}`, f.count]));
  }
  return null;
}
async function proxyFindings(mark) {
  if (opt.via === 'validator') {
    const list = await getJSON(`${opt.validator.replace(/\/+$/, '')}/__validator/violations?since=${mark}`);
    return list.map((v) => `validator ${v.side} ${v.method} ${v.path} -> ${v.status ?? '-'} [${v.rule}] ${v.message}`);
  }
  if (opt.via === 'cambmock-proxy') {
    const s = await getJSON(`${opt.cproxy.replace(/\/+$/, '')}/__admin/violations`);
    const out = [];
    for (const f of s.findings) {
      const k = `${f.check} ${f.operation}: ${f.problem}`;
      if (f.count > (mark.get(k) ?? 0)) out.push(`cambmock proxy ${k}`);
    }
    return out;
  }
  return [];
}

const client = new CambClient({ apiKey: key, baseUrl: opt.base, fetch: observedFetch });

// The path template of an operation as a regular expression.
function opRegex(op) {
  const [, path] = op.split(' ');
  return new RegExp('^' + path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$');
}

// sdk runs one SDK call, noting its HTTP attempts ("poll:429>200") in log
// and any request that is not the operation the table names in problems.
async function sdk(ctx, name, entry, fn) {
  call = { attempts: [] };
  const mine = call;
  const attempts = () => mine.attempts.map((a) => (a.err ? a.err : String(a.code)) + (a.ms >= 500 ? `(${(a.ms / 1000).toFixed(1)}s)` : '')).join('>');
  try {
    const out = await fn();
    ctx.log.push(`${name}:${attempts()}`);
    return out;
  } catch (e) {
    ctx.log.push(`${name}:${attempts() || '-'}!${errorKind(e)}`);
    throw e;
  } finally {
    call = null;
    const [method] = entry.op.split(' ');
    const re = opRegex(entry.op);
    for (const a of mine.attempts) {
      const rel = a.path.startsWith(basePath + '/') ? a.path.slice(basePath.length) : a.path;
      if (a.method !== method || !re.test(rel)) ctx.problems.push(`${entry.sdk} sent ${a.method} ${rel}; expected ${entry.op}`);
      if ((entry.query ?? '') !== a.query) ctx.problems.push(`${entry.sdk} sent the query "${a.query}"; expected "${entry.query ?? ''}"`);
    }
    if (mine.attempts.length === 0) ctx.problems.push(`${entry.sdk} sent no request`);
  }
}

// ---- content checks ---------------------------------------------------
// A Content-Type that says WAV: the mock's audio is always WAV, whatever
// else the spec declares (tts declares audio/flac too).
function isWavType(ct) {
  return /^audio\/(wav|x-wav|wave|vnd\.wave)\b/.test(ct ?? '');
}

// shape checks v against a TYPES shape, pushing problems and collecting
// the URLs it holds.
function shape(v, t, where, problems, urls) {
  if (typeof t === 'string' && t.includes('|')) {
    const alts = t.split('|');
    if (v === null && alts.includes('null')) return;
    return shape(v, alts.find((a) => a !== 'null'), where, problems, urls);
  }
  if (t === 'url') {
    if (typeof v !== 'string' || !/^https?:\/\//.test(v)) problems.push(`${where}: ${JSON.stringify(v)} is not an http(s) URL`);
    else urls.push({ where, url: v });
    return;
  }
  if (t === 'string' || t === 'number') {
    if (typeof v !== t) problems.push(`${where}: ${JSON.stringify(v)} is not a ${t}`);
    return;
  }
  if (Array.isArray(t)) {
    if (!Array.isArray(v) || v.length === 0) problems.push(`${where}: ${JSON.stringify(v)?.slice(0, 80)} is not a non-empty array`);
    else v.forEach((e, i) => shape(e, t[0], `${where}[${i}]`, problems, urls));
    return;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    problems.push(`${where}: ${JSON.stringify(v)?.slice(0, 80)} is not an object`);
    return;
  }
  for (const [k0, tk] of Object.entries(t)) {
    const optional = k0.endsWith('?');
    const k = optional ? k0.slice(0, -1) : k0;
    if (!(k in v) || v[k] === undefined) {
      if (!optional) problems.push(`${where}.${k} is missing`);
      continue;
    }
    shape(v[k], tk, `${where}.${k}`, problems, urls);
  }
}

// download fetches each URL without the API key and checks it is a WAV.
async function download(ctx, urls) {
  const sizes = new Map();
  for (const { where, url } of urls) {
    try {
      const res = await fetch(url);
      const b = Buffer.from(await res.arrayBuffer());
      ctx.downloads++;
      if (res.status !== 200) ctx.problems.push(`${where} answered ${res.status} without the API key`);
      else if (!isWav(b)) ctx.problems.push(`${where} is not a RIFF/WAVE file: ${b.subarray(0, 12).toString('hex')}`);
      else if (!isWavType(res.headers.get('content-type'))) ctx.problems.push(`${where}: a WAV file served as ${res.headers.get('content-type')}`);
      else sizes.set(url, b.length);
    } catch (e) {
      ctx.problems.push(`${where}: download failed: ${e?.cause?.code ?? e?.message ?? e}`);
    }
  }
  const distinct = new Set(urls.map((u) => u.url));
  if (distinct.size < urls.length) ctx.notes.push(`${urls.length - distinct.size} URL(s) repeated within one answer`);
  return [...sizes.values()];
}

// Prism re-encodes non-JSON bodies as UTF-8 text (see run-sdk.mjs): check
// the audio against the mock's own copy put through that decoding.
async function prismAudioMatches(path, got) {
  const res = await fetch(`${admin}/apis${path}`, { headers: { 'x-api-key': key } });
  const orig = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 || !isWav(orig)) return `the mock's own copy is not a WAV (HTTP ${res.status})`;
  if (got.equals(orig) || got.equals(Buffer.from(orig.toString('utf8'), 'utf8'))) return null;
  return `${got.length} bytes differ from the mock's ${orig.length}-byte WAV, even allowing for Prism's UTF-8 re-encoding`;
}

// checkResult checks one result answer of a SUCCESS run.
async function checkResult(ctx, r, runId, data, rawResponse) {
  const ct = rawResponse?.headers.get('content-type') ?? '';
  const name = r.label ? `${r.sdk}(${r.label})` : r.sdk;
  if (r.expect === 'binary-wav') {
    const bytes = Buffer.from(await data.arrayBuffer());
    if (!isWavType(ct)) ctx.problems.push(`${name}: Content-Type ${ct}, not audio/wav`);
    if (opt.via === 'prism') {
      const why = await prismAudioMatches(r.op.split(' ')[1].replace('{run_id}', runId), bytes);
      if (why) ctx.problems.push(`${name}: ${why}`);
      else if (!isWav(bytes)) ctx.notes.push(`${name}: audio UTF-8-mangled by Prism; the mock sent a valid WAV`);
    } else if (!isWav(bytes)) {
      ctx.problems.push(`${name}: not a RIFF/WAVE file: ${bytes.subarray(0, 12).toString('hex')}`);
    }
    return `wav ${bytes.length} B`;
  }
  if (r.expect === 'non-json-wav') {
    // The SDK resolves (no throw) to {ok: false, error: {reason: "non-json",
    // statusCode: 200, rawBody}}, rawBody being the audio read as UTF-8.
    const e = data?.error;
    if (data?.ok !== false || e?.reason !== 'non-json' || e?.statusCode !== 200 || typeof e?.rawBody !== 'string') {
      ctx.problems.push(`${name}: expected the SDK's "non-json" answer for raw audio, got ${JSON.stringify(data)?.slice(0, 100)}`);
      return 'raw ?';
    }
    if (!isWavType(ct)) ctx.problems.push(`${name}: Content-Type ${ct}, not audio/wav`);
    if (!/^RIFF[\s\S]{1,4}WAVE/.test(e.rawBody)) ctx.problems.push(`${name}: the raw body does not start RIFF....WAVE: ${JSON.stringify(e.rawBody.slice(0, 12))}`);
    return 'raw:non-json(RIFF)';
  }
  if (!/^application\/json\b/.test(ct)) ctx.problems.push(`${name}: Content-Type ${ct}, not application/json`);
  const urls = [];
  const before = ctx.problems.length;
  shape(data, TYPES[r.expect], r.expect, ctx.problems, urls);
  if (r.texts && Array.isArray(data?.texts) && data.texts.length !== r.texts) {
    ctx.notes.push(`${name}: ${r.texts} text(s) to translate, ${data.texts.length} translation(s) back (the mock builds texts from the schema's example)`);
  }
  const sizes = await download(ctx, urls);
  const fields = Object.keys(data ?? {}).join(',');
  return ctx.problems.length === before ? `${r.expect}{${fields}}${urls.length ? ` ${sizes.length}/${urls.length} url→wav` : ''}` : `${r.expect}?`;
}

// ---- one kind, one scenario -------------------------------------------
async function runOne(kindName, scenario) {
  const k = KINDS[kindName];
  const started = Date.now();
  const ctx = { log: [], problems: [], notes: [], downloads: 0 };
  const statuses = [];
  const results = [];
  let bulkNote = '-';
  scenarioFindings = [];
  const mark = await proxyMark();
  const expected = EXPECT[scenario];

  let taskId;
  try {
    const created = await sdk(ctx, 'create', k.create, () => k.create.call(client, { headers: { 'X-Cambmock-Scenario': scenario }, timeoutInSeconds: 10 }));
    taskId = created?.task_id;
    if (typeof taskId !== 'string' || taskId === '') ctx.problems.push(`create returned no task_id: ${JSON.stringify(created)?.slice(0, 100)}`);
  } catch (e) {
    ctx.problems.push(`create failed: ${errorKind(e)}${e?.body ? ' ' + JSON.stringify(e.body).slice(0, 200) : ''}`);
  }

  let task = null;
  if (taskId) {
    const { status, body } = await adminJSON('GET', `/__admin/tasks/${encodeURIComponent(taskId)}`);
    if (status !== 200) ctx.problems.push(`GET /__admin/tasks/${taskId} answered ${status}`);
    else {
      task = body;
      if (task.kind !== kindName) ctx.problems.push(`the mock made a ${task.kind} task, not ${kindName}`);
      if (task.scenario !== scenario) ctx.problems.push(`the mock plays ${task.scenario}, not the ${scenario} the X-Cambmock-Scenario header named`);
    }
  }

  let last = null;
  if (taskId) {
    for (let i = 0; i < maxPolls; i++) {
      try {
        const st = await sdk(ctx, 'poll', k.status, () => k.status.call(client, taskId, { timeoutInSeconds: pollTimeout }));
        last = st;
        statuses.push(typeof st?.status === 'string' ? st.status : `(data ${String(JSON.stringify(st)).slice(0, 60)})`);
        if (st?.status !== 'PENDING') break;
      } catch (e) {
        statuses.push(`(${errorKind(e)})`);
      }
      await advanceClock();
    }
  }
  const final = last?.status ?? null;
  if (taskId) {
    if (expected === 'PENDING') {
      if (final !== 'PENDING') ctx.problems.push(`expected to stay PENDING, got ${final}`);
      else ctx.notes.push(`still PENDING after ${statuses.length} polls: gave up, as a client must`);
    } else if (final === 'PENDING' || final === null) ctx.problems.push(`no terminal status within ${maxPolls} polls`);
    else if (expected && final !== expected) ctx.problems.push(`expected ${expected}, got ${final}`);
  }

  const unknown = 2_000_000_000;
  if (final === 'SUCCESS') {
    const runId = last.run_id;
    if (!Number.isInteger(runId)) ctx.problems.push(`SUCCESS without an integer run_id: ${JSON.stringify(runId)}`);
    else if (task && task.run_id !== runId) ctx.problems.push(`SUCCESS names run ${runId}; the mock's task has run ${task.run_id}`);
    if (Number.isInteger(runId)) {
      for (const r of k.results) {
        const name = r.label ? `result(${r.label})` : 'result';
        // A body cut off mid-way (result-truncated) fails the call (JSON)
        // or the reading of its BinaryResponse (audio): try again, as a
        // client would.
        let done = false;
        let failure = null;
        for (let attempt = 0; attempt < 3 && !done; attempt++) {
          try {
            const { data, rawResponse } = await sdk(ctx, name, r, () => r.call(client, runId, { timeoutInSeconds: resultTimeout }).withRawResponse());
            results.push(await checkResult(ctx, r, runId, data, rawResponse));
            done = true;
          } catch (e) {
            failure = errorKind(e) + (e?.body ? ' ' + JSON.stringify(e.body).slice(0, 200) : '');
            if (!(e instanceof CambApiError || e instanceof CambApiTimeoutError)) ctx.log.push(`${name}-body!${errorKind(e)}`);
            else if (e.statusCode === 404 || e.statusCode === 400) break;
          }
        }
        if (!done) ctx.problems.push(`${r.sdk}${r.label ? `(${r.label})` : ''} got no result: ${failure}`);
      }
      if (k.bulk) {
        try {
          const bulk = await sdk(ctx, 'bulk', k.bulk, () => k.bulk.call(client, [runId, unknown], {}));
          const entry = bulk?.[String(runId)];
          const urls = [];
          const before = ctx.problems.length;
          if (entry === undefined) ctx.problems.push(`bulk answer lacks run ${runId}: ${JSON.stringify(bulk)?.slice(0, 100)}`);
          else shape(entry, TYPES[k.bulk.entry], `bulk[${runId}]`, ctx.problems, urls);
          if (bulk && String(unknown) in bulk) ctx.problems.push(`bulk answer has an entry for the unknown run ${unknown}`);
          const sizes = await download(ctx, urls);
          if (ctx.problems.length === before) bulkNote = `ok ${k.bulk.entry}${urls.length ? ` ${sizes.length}/${urls.length} url→wav` : ''}, unknown run left out`;
        } catch (e) {
          ctx.problems.push(`bulk failed: ${errorKind(e)}`);
        }
      } else {
        bulkNote = 'n/a';
      }
    }
  } else if (final !== null && final !== 'PENDING') {
    // A failed task: no run_id, a reason, and no result for its run.
    if (last.run_id != null) ctx.problems.push(`${final} with run_id ${JSON.stringify(last.run_id)}`);
    if (last.exception_reason == null) ctx.notes.push(`${final} without exception_reason`);
    const runId = task?.run_id;
    if (Number.isInteger(runId)) {
      for (const r of k.results) {
        const name = r.label ? `result(${r.label})` : 'result';
        try {
          const out = await sdk(ctx, name, r, () => r.call(client, runId, { timeoutInSeconds: resultTimeout, maxRetries: 0 }));
          ctx.problems.push(`${r.sdk} returned a result for the ${final} task's run ${runId}: ${JSON.stringify(out)?.slice(0, 80)}`);
        } catch (e) {
          if (e instanceof CambApiError && e.statusCode === 404) results.push(`no result (404)`);
          else ctx.problems.push(`${r.sdk} for the ${final} task's run: ${errorKind(e)}, expected 404`);
        }
      }
      if (k.bulk) {
        try {
          const bulk = await sdk(ctx, 'bulk', k.bulk, () => k.bulk.call(client, [runId], {}));
          if (bulk && String(runId) in bulk) ctx.problems.push(`bulk answer has an entry for the ${final} task's run ${runId}`);
          else bulkNote = 'run left out';
        } catch (e) {
          ctx.problems.push(`bulk failed: ${errorKind(e)}`);
        }
      } else {
        bulkNote = 'n/a';
      }
    }
  }

  for (const [op, codes] of Object.entries(MUST_SEE[scenario] ?? {})) {
    const seen = ctx.log
      .filter((l) => l.startsWith(op + ':') || l.startsWith(op + '('))
      .flatMap((l) => l.slice(l.indexOf(':') + 1).split('!')[0].split('>'))
      .map((c) => parseInt(c, 10));
    const missing = [...codes];
    for (const c of seen) {
      const at = missing.indexOf(c);
      if (at >= 0) missing.splice(at, 1);
    }
    if (missing.length) ctx.problems.push(`expected the SDK to meet ${codes.join(',')} on ${op} (and retry), met ${seen.join(',') || 'none'}`);
  }

  scenarioFindings.push(...(await proxyFindings(mark)));
  const counts = new Map();
  for (const f of scenarioFindings) counts.set(f, (counts.get(f) ?? 0) + 1);
  const found = [...counts].map(([f, n]) => (n > 1 ? `${f} (x${n})` : f));
  ctx.problems.push(...found.map((f) => `VIOLATION ${f}`));
  return { kind: kindName, scenario, pass: ctx.problems.length === 0, statuses, results, bulkNote, ctx, violations: found.length, ms: Date.now() - started };
}

// ---- main ---------------------------------------------------------------
const t0 = Date.now();
const health = await adminJSON('GET', '/__admin/health');
if (health.status !== 200) usage(`GET ${admin}/__admin/health answered ${health.status}`);
if (health.body.clock !== 'manual') console.log(`note: the mock runs on the ${health.body.clock} clock; polls will wait 1s each (start it with --clock manual)`);

// The mock must serve each kind's operations where the SDK calls them.
const served = (await adminJSON('GET', '/__admin/kinds')).body;
const mockPrefix = '/apis';
const setupProblems = [];
const servedNames = served.map((s) => s.name);
for (const s of served) {
  const k = KINDS[s.name];
  if (!k) {
    setupProblems.push(`the mock serves the kind ${s.name}, which run-family.mjs does not know how to drive with the SDK`);
    continue;
  }
  const want = { create: k.create.op, status: k.status.op };
  const own = k.results.find((r) => !r.other);
  if (own) want.result = own.op;
  if (k.bulk) want.bulk = k.bulk.op;
  for (const [role, op] of Object.entries(want)) {
    const [m, p] = op.split(' ');
    const got = s.operations[role];
    if (got !== `${m} ${mockPrefix}${p}`) setupProblems.push(`${s.name} ${role}: the SDK calls ${m} ${p}; the mock serves ${got ?? 'no such operation'}`);
  }
  for (const role of Object.keys(s.operations)) {
    if (!(role in want)) setupProblems.push(`${s.name} ${role}: the mock serves ${s.operations[role]}, which the SDK has no method for`);
  }
}
const kinds = opt.kinds ? opt.kinds.split(',') : Object.keys(KINDS).filter((n) => servedNames.includes(n));
for (const n of kinds) if (!KINDS[n]) usage(`--kinds: ${n} is not one of ${Object.keys(KINDS).join(', ')}`);
let scenarios = opt.scenarios.split(',');
if (opt.scenarios === 'all') {
  scenarios = (await adminJSON('GET', '/__admin/scenarios')).body.filter((sc) => !sc.off_spec).map((sc) => sc.name);
}

const label = opt.label ? `${opt.label}: ` : '';
console.log(`${label}@camb-ai/sdk 1.0.1, baseUrl ${opt.base}, via ${opt.via}, scenario by header; ${kinds.length} kinds x ${scenarios.length} scenarios (${scenarios.join(', ')})`);
for (const p of setupProblems) console.log(`FAIL  ${p}`);
if (opt['show-calls']) {
  for (const n of kinds) {
    const k = KINDS[n];
    const calls = [k.create, k.status, ...k.results, ...(k.bulk ? [k.bulk] : [])].map((e) => `${e.sdk.split('.')[1]} ${e.op}${e.query ? '?' + e.query : ''}`);
    console.log(`  ${n}: ${[...new Set(calls)].join(' · ')}${k.create.multipart ? ' (create: multipart/form-data)' : ''}`);
  }
}
const out = [];
const kw = Math.max(...kinds.map((n) => n.length));
const sw = Math.max(...scenarios.map((n) => n.length));
for (const kindName of kinds) {
  // A scenario's create script plays per server, not per task (the first
  // create of create-rate-limited gets the 429): reset for each kind.
  await adminJSON('POST', '/__admin/reset');
  for (const scenario of scenarios) {
    const r = await runOne(kindName, scenario);
    out.push(r);
    console.log(`${r.pass ? 'PASS' : 'FAIL'}  ${kindName.padEnd(kw)}  ${scenario.padEnd(sw)}  statuses ${r.statuses.join(',') || '-'}  result ${r.results.join(' + ') || '-'}  bulk ${r.bulkNote}  ${(r.ms / 1000).toFixed(1)}s`);
    console.log(`      http ${r.ctx.log.join(' ')}${r.ctx.downloads ? ` download:${r.ctx.downloads}` : ''}`);
    for (const n of r.ctx.notes) console.log(`      note: ${n}`);
    for (const p of r.ctx.problems) console.log(`      problem: ${p}`);
  }
}
const failed = out.filter((r) => !r.pass);
const violations = out.reduce((n, r) => n + r.violations, 0);
console.log(`${label}${out.length - failed.length} passed, ${failed.length} failed${setupProblems.length ? `, ${setupProblems.length} setup problems` : ''}; ${violations} violations reported by the proxy; ${((Date.now() - t0) / 1000).toFixed(1)}s`);
process.exit(failed.length || setupProblems.length ? 1 : 0);
