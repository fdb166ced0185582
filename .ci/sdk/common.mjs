// common.mjs: what run-sdk.mjs and run-family.mjs share: naming how an SDK
// call failed, telling a WAV file, and the mock's admin API over plain
// HTTP (not the SDK).
import { CambApiError, CambApiTimeoutError } from '@camb-ai/sdk';

// errorKind names how an SDK call failed. In @camb-ai/sdk 1.0.1 a request
// timeout does not raise CambApiTimeoutError: its timer aborts with the
// string "timeout" as reason, fetch rejects with that string (not an
// AbortError), and the SDK wraps it as CambApiError('"timeout"') with no
// statusCode.
export function errorKind(e) {
  if (e instanceof CambApiTimeoutError) return 'timeout';
  if (e instanceof CambApiError && e.statusCode) return `http${e.statusCode}`;
  if (e instanceof CambApiError && e.message === '"timeout"') return 'timeout';
  if (e instanceof CambApiError) return `net(${String(e.message).split('\n')[0].slice(0, 40)})`;
  return `${e?.name ?? 'error'}(${String(e?.message ?? e).slice(0, 60)})`;
}

// isWav says whether b starts as a RIFF/WAVE file does.
export function isWav(b) {
  return b.length >= 44 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WAVE';
}

// mockAdmin talks to the mock's admin API at admin (its root URL).
// advanceClock moves the mock's manual clock by step, or, once the mock
// says it runs on the real clock (409), waits a second of real time.
export function mockAdmin(admin, step) {
  async function adminJSON(method, path, body) {
    const res = await fetch(admin + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
  let manualClock = true;
  async function advanceClock() {
    if (!manualClock) return new Promise((r) => setTimeout(r, 1000));
    const { status } = await adminJSON('POST', '/__admin/clock', { by: step });
    if (status === 409) {
      manualClock = false; // the mock runs on the real clock
      return new Promise((r) => setTimeout(r, 1000));
    }
    if (status !== 200) throw new Error(`POST /__admin/clock answered ${status}`);
  }
  return { adminJSON, advanceClock };
}
