// cambmock dashboard: plain JavaScript, no build step, no dependencies.
// It reads the admin API of the server that serves it (see the package
// documentation of mockserver/dashboard for the endpoints and the data-*
// hooks tests rely on) and updates itself from GET /__admin/events.
(function () {
  'use strict';

  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // h builds an element; attrs holds attributes, with "text" for its text
  // and "on…" for listeners. Text is always set as text, never as HTML.
  function h(tag, attrs, ...kids) {
    return build(document.createElement(tag), attrs, kids);
  }
  function s(tag, attrs, ...kids) {
    return build(document.createElementNS(SVG, tag), attrs, kids);
  }
  function build(el, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  // Durations come from Go as strings such as "1.5s", "2m30s", "250ms".
  function seconds(d) {
    if (typeof d === 'number') return d;
    if (!d) return 0;
    const units = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ns: 1e-9 };
    let total = 0;
    const re = /([0-9.]+)(ns|us|µs|μs|ms|s|m|h)/g;
    let m;
    while ((m = re.exec(d)) !== null) total += parseFloat(m[1]) * units[m[2]];
    return d.startsWith('-') ? -total : total;
  }
  function validDuration(v) {
    return /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(v) && seconds(v) > 0;
  }
  // fmt writes seconds for a person: 0.25s, 12s, 4m05s, 2h03m.
  function fmt(sec) {
    if (!isFinite(sec)) return '—';
    const neg = sec < 0 ? '-' : '';
    sec = Math.abs(sec);
    if (sec === 0) return '0s';
    if (sec < 0.001) return neg + Math.round(sec * 1e6) + 'µs';
    if (sec < 1) return neg + Math.round(sec * 1000) + 'ms';
    if (sec < 10) return neg + (Math.round(sec * 10) / 10) + 's';
    if (sec < 60) return neg + Math.round(sec) + 's';
    if (sec < 3600) {
      const m = Math.floor(sec / 60), r = Math.floor(sec % 60);
      return neg + m + 'm' + String(r).padStart(2, '0') + 's';
    }
    const hh = Math.floor(sec / 3600), mm = Math.floor((sec % 3600) / 60);
    return neg + hh + 'h' + String(mm).padStart(2, '0') + 'm';
  }
  function clockText(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return String(iso || '');
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, '') + ' UTC';
  }
  function timeOfDay(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const p = (n, w) => String(n).padStart(w || 2, '0');
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3);
  }
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : (many || one + 's'));

  // What an answer was, for colours and words.
  const IN_PROGRESS = new Set(['PENDING', 'QUEUED', 'RUNNING', 'IN_PROGRESS', 'PROCESSING', 'STARTED']);
  function statusClass(st) {
    if (!st) return 'none';
    if (st === 'SUCCESS') return 'success';
    if (IN_PROGRESS.has(st)) return 'progress';
    return 'failure';
  }
  function served(e) {
    if (!e.delivered && !e.fault && e.code !== 0) return 'undelivered';
    if (e.fault || e.code === 0) return 'fault';
    if (e.code >= 500) return 'http5';
    if (e.code >= 400) return 'http4';
    if (e.status) return statusClass(e.status);
    return 'progress';
  }
  const COLOURS = {
    progress: '#3b82f6', success: '#16a34a', failure: '#dc2626', http4: '#f59e0b',
    http5: '#a21caf', fault: '#111827', undelivered: '#ffffff', none: '#94a3b8',
  };
  function servedWords(e) {
    const what = e.fault ? 'fault ' + e.fault : e.code === 0 ? 'connection dropped' :
      e.status ? e.status + (e.code !== 200 ? ' (HTTP ' + e.code + ')' : '') : 'HTTP ' + e.code;
    return what + (e.delivered ? '' : ', not delivered whole');
  }

  // The state of the page.
  const state = {
    service: '',
    mock: false,
    clockKind: '',
    filters: { status: '', scenario: '', kind: '', limit: 50, offset: 0 },
    total: 0,
    tasks: [],
    rows: new Map(), // task id -> its element
    known: new Set(), // task ids seen, to flash new ones
    open: '', // the task whose detail is open
    timeline: null,
    axis: '', // '' (automatic), 'scenario' or 'real'
    journal: [],
    journalTotal: 0,
    jf: { text: '', method: '', code: '', admin: false },
    scenarios: [],
    kinds: [],
    statuses: new Set(['PENDING', 'SUCCESS', 'ERROR', 'TIMEOUT', 'PAYMENT_REQUIRED']),
    live: 'offline',
    forcePoll: new URLSearchParams(location.search).get('live') === 'poll',
    source: null,
    pollTimer: 0,
    loadedAt: 0,
  };
  const MAX_JOURNAL = 1000;
  const SHOWN_JOURNAL = 300;

  async function api(path, opts) {
    const init = Object.assign({ credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } }, opts || {});
    const r = await fetch(path, init);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const err = new Error((body && body.detail) || ('HTTP ' + r.status));
      err.status = r.status;
      throw err;
    }
    return body;
  }
  function post(path, value) {
    const init = { method: 'POST' };
    if (value !== undefined) {
      init.headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
      init.body = JSON.stringify(value);
    }
    return api(path, init);
  }

  function showError(msg) {
    const b = $('[data-error]');
    if (!msg) { b.hidden = true; b.textContent = ''; return; }
    b.className = 'banner';
    b.textContent = msg;
    b.hidden = false;
  }

  // throttle runs fn at most once per ms, never twice at once, and once
  // more after a call that came while it ran.
  function throttle(fn, ms) {
    let timer = 0, running = false, again = false;
    const run = async () => {
      timer = 0;
      running = true;
      try { await fn(); } catch (e) { showError(e.message); }
      running = false;
      if (again) { again = false; schedule(); }
    };
    function schedule() {
      if (running) { again = true; return; }
      if (!timer) timer = setTimeout(run, ms);
    }
    return schedule;
  }

  // ---- Server and controls -------------------------------------------

  async function loadServer() {
    const health = await api('/__admin/health');
    state.service = health.service || 'server';
    state.mock = health.service === 'cambmock';
    state.clockKind = health.clock || '';
    $('[data-service-name]').textContent = state.mock ? 'mock server' : health.service === 'cambmock proxy' ? 'checking proxy' : state.service;
    if (!state.mock) {
      $('[data-tagline]').textContent = 'The tasks that went through this proxy to ' + (health.upstream || 'the upstream') +
        ', how the client polled each one, and what the upstream answered.';
    }
    document.title = 'cambmock ' + $('[data-service-name]').textContent;
    document.body.dataset.mode = state.mock ? 'mock' : 'proxy';
    $('[data-scenarios-box]').hidden = !state.mock;
    $('[data-reset-box]').hidden = !state.mock;
    $('[data-clock-box]').hidden = !state.mock;
    // On the real clock the controls stay in view, off, saying why.
    $('[data-advance-box]').hidden = !state.mock;
    const still = state.mock && state.clockKind !== 'manual';
    for (const el of $$('[data-advance-box] button, [data-advance-box] input')) {
      el.disabled = still;
      if (still) el.title = 'this server runs on the real clock, which cannot be moved; start it with --clock manual';
    }
    $('[data-advance-box] .label').textContent = still ? 'Real clock: cannot be moved' : 'Advance the clock';
    if (state.mock) {
      setClock(health.clock, health.now);
      const [scs, kinds] = await Promise.all([api('/__admin/scenarios'), api('/__admin/kinds')]);
      state.scenarios = scs || [];
      state.kinds = kinds || [];
      renderScenarios();
    }
    fillSelect('scenario', state.scenarios.map((x) => x.name));
    fillSelect('kind', state.kinds.map((x) => x.name));
    fillSelect('status', Array.from(state.statuses));
  }

  function setClock(kind, now) {
    $('[data-clock-kind]').textContent = kind === 'manual' ? 'manual clock' : 'real clock';
    $('[data-clock]').textContent = clockText(now);
    $('[data-clock]').setAttribute('datetime', now || '');
  }

  function fillSelect(name, values) {
    const sel = $('[data-filter="' + name + '"]');
    const have = new Set($$('option', sel).map((o) => o.value));
    const want = Array.from(new Set(values)).filter((v) => v && !have.has(v)).sort();
    for (const v of want) sel.append(h('option', { value: v, text: v }));
  }

  async function advance(by) {
    const input = $('[data-input="advance-by"]');
    if (!by) {
      by = input.value.trim();
      if (!validDuration(by)) {
        input.classList.add('bad');
        showError('"' + by + '" is not a duration such as 90s, 2m30s or 500ms');
        return;
      }
    }
    input.classList.remove('bad');
    const c = await post('/__admin/clock', { by: by });
    showError('');
    setClock(c.clock, c.now);
    refreshTasks();
    refreshDetail();
  }

  async function reset() {
    await post('/__admin/reset');
    showError('');
    afterReset();
  }

  function afterReset() {
    closeDetail();
    journalGen++; // a load on its way holds what came before
    state.journal = [];
    state.journalTotal = 0;
    state.filters.offset = 0;
    renderJournal();
    refreshTasks();
  }

  // ---- Tasks ---------------------------------------------------------

  function taskQuery() {
    const f = state.filters;
    const q = new URLSearchParams({ limit: String(f.limit), offset: String(f.offset), history: 'true', verdicts: 'true' });
    for (const k of ['status', 'scenario', 'kind']) if (f[k]) q.set(k, f[k]);
    return '/__admin/tasks?' + q.toString();
  }

  const refreshTasks = throttle(async () => {
    const page = await api(taskQuery());
    state.total = page.total;
    state.tasks = page.tasks || [];
    state.loadedAt = performance.now();
    if (state.filters.offset > 0 && state.tasks.length === 0 && state.total > 0) {
      state.filters.offset = Math.max(0, Math.floor((state.total - 1) / state.filters.limit) * state.filters.limit);
      refreshTasks();
      return;
    }
    for (const t of state.tasks) {
      if (t.last_status) state.statuses.add(t.last_status);
    }
    fillSelect('status', Array.from(state.statuses));
    if (!state.mock) {
      fillSelect('scenario', state.tasks.map((t) => t.scenario));
      fillSelect('kind', state.tasks.map((t) => t.kind));
    }
    renderTasks();
  }, 200);

  function renderTasks() {
    const list = $('[data-task-list]');
    if (state.known.size > 20000) state.known.clear(); // bounded: it only decides which rows flash
    const f = state.filters;
    const seen = new Set();
    let prev = null;
    for (const t of state.tasks) {
      seen.add(t.task_id);
      let el = state.rows.get(t.task_id);
      if (!el) {
        el = h('div', { class: 'task', 'data-task-id': t.task_id, role: 'rowgroup' });
        state.rows.set(t.task_id, el);
        if (state.known.size > 0 && !state.known.has(t.task_id)) {
          el.classList.add('fresh');
          setTimeout(() => el.classList.remove('fresh'), 1700);
        }
      }
      state.known.add(t.task_id);
      updateRow(el, t);
      const after = prev ? prev.nextSibling : list.firstChild;
      if (after !== el) list.insertBefore(el, after);
      prev = el;
    }
    for (const [id, el] of state.rows) {
      if (!seen.has(id)) {
        el.remove();
        state.rows.delete(id);
      }
    }
    if (state.open && !seen.has(state.open)) closeDetail();
    const filtered = f.status || f.scenario || f.kind;
    $('[data-filter-clear]').hidden = !filtered;
    $('[data-task-total]').textContent = state.total ? '(' + state.total.toLocaleString('en') + (filtered ? ' match' : '') + ')' : '';
    const first = state.total ? f.offset + 1 : 0, last = f.offset + state.tasks.length;
    $('[data-page-info]').textContent = state.total ? first.toLocaleString('en') + '–' + last.toLocaleString('en') + ' of ' + state.total.toLocaleString('en') : '';
    $('[data-page="newer"]').disabled = f.offset === 0;
    $('[data-page="older"]').disabled = last >= state.total;
    const empty = $('[data-tasks-empty]');
    empty.hidden = state.total > 0;
    if (!empty.hidden) renderEmpty(empty, filtered);
  }

  function renderEmpty(box, filtered) {
    box.replaceChildren();
    if (filtered) {
      box.append('No task matches these filters. ', h('button', { type: 'button', class: 'link', text: 'Clear filters', onclick: clearFilters }));
      return;
    }
    if (!state.mock) {
      box.append('No task has gone through this proxy yet. Point your client\'s base URL at ', h('code', { text: location.origin + '/apis' }), ' and create one.');
      return;
    }
    const kind = state.kinds.find((k) => k.default) || state.kinds[0];
    const create = kind && kind.operations && kind.operations.create ? kind.operations.create.split(' ') : ['POST', '/apis/text-to-sound'];
    box.append('No tasks yet. Point your client\'s base URL at ', h('code', { text: location.origin + '/apis' }),
      ' (any non-empty API key works unless the server was given keys) and create a task, for example:',
      h('pre', { text: 'curl -s -X ' + create[0] + ' ' + location.origin + create[1] + " \\\n  -H 'x-api-key: YOUR_KEY' -H 'Content-Type: application/json' \\\n" +
        "  -H 'X-Cambmock-Scenario: rate-limited' -d '{\"prompt\": \"rain on a tin roof\"}'" }),
      'It appears here at once; poll it and watch its timeline grow.');
  }

  function scenarioInfo(name) {
    return state.scenarios.find((x) => x.name === name);
  }

  function rowSignature(t) {
    return [t.last_status, t.polls, t.results, t.poll_step, t.elapsed, t.in_flight, (t.history || []).length,
      (t.violations || []).join('|'), state.open === t.task_id].join('/');
  }

  function updateRow(el, t) {
    el.dataset.status = t.last_status || '';
    el.dataset.scenario = t.scenario || '';
    el.dataset.kind = t.kind || '';
    const sig = rowSignature(t);
    if (el._sig === sig) return;
    el._sig = sig;
    const open = state.open === t.task_id;
    el.classList.toggle('open', open);
    const sc = scenarioInfo(t.scenario);
    const violations = t.violations || [];
    const names = Array.from(new Set(violations.map((v) => v.split(':')[0])));
    let verdict;
    if (t.polls === 0 && t.results === 0) verdict = h('span', { class: 'verdict none', text: 'not polled yet' });
    else if (names.length === 0) verdict = h('span', { class: 'verdict clean', text: '✓ polled well' });
    else verdict = h('span', { class: 'verdict bad', title: violations.join('\n'), text: '✗ ' + names.join(' · ') });
    const row = h('div', {
      class: 'row', role: 'row', tabindex: '0', 'aria-expanded': open ? 'true' : 'false',
      title: 'Click for the timeline of task ' + t.task_id,
    },
    h('span', { class: 'c-id', role: 'cell', title: t.task_id, text: t.task_id }),
    h('span', { class: 'c-kind', role: 'cell', text: t.kind || '—' }),
    h('span', { class: 'c-scenario', role: 'cell', title: sc ? sc.description : '' }, t.scenario || '—',
      sc && sc.off_spec ? h('em', { class: 'badge off', text: 'off-spec' }) : null),
    h('span', { class: 'c-status', role: 'cell' },
      t.last_status ? h('span', { class: 'pill ' + statusClass(t.last_status), text: t.last_status }) : h('span', { class: 'pill none', title: t.polls ? 'polled, but no answer held a status yet' : '', text: t.polls ? 'no status yet' : 'not polled' }),
      t.in_flight ? h('em', { class: 'badge def', title: 'requests arrived and not answered yet', text: t.in_flight + ' waiting' }) : null),
    h('span', { class: 'c-polls num', role: 'cell', text: t.polls }),
    h('span', { class: 'c-step num', role: 'cell', title: t.poll_step ? 'step ' + t.poll_step + ' of the ' + t.poll_steps + ' of its scenario\'s poll script answered last' : 'not polled yet', text: !t.poll_step ? '–' : t.poll_steps ? t.poll_step + '/' + t.poll_steps : t.poll_step }),
    h('span', { class: 'c-age num', role: 'cell', 'data-age': seconds(t.elapsed), title: 'created ' + clockText(t.created_at), text: fmt(seconds(t.elapsed)) }),
    h('span', { class: 'c-spark', role: 'cell' }, open ? null : spark(t)),
    h('span', { class: 'c-verdict', role: 'cell' }, verdict));
    row.addEventListener('click', () => toggle(t.task_id));
    row.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(t.task_id); }
    });
    const old = $(':scope > .row', el);
    if (old) old.replaceWith(row);
    else el.prepend(row);
  }

  // spark is a task's compact timeline: a tick per poll, a low square per
  // result or file request.
  function spark(t) {
    const W = 300, H = 22;
    const evs = t.history || [];
    const end = Math.max(...evs.map((e) => seconds(e.at)), 0.5) * 1.04;
    const x = (sec) => 4 + (sec / end) * (W - 8);
    const svg = s('svg', { class: 'spark', viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', 'data-timeline': t.task_id, role: 'img',
      'aria-label': plural(t.polls, 'poll') + ' over ' + fmt(end) });
    svg.append(s('line', { x1: 1, x2: W - 1, y1: H - 3, y2: H - 3, stroke: '#cbd5e1', 'stroke-width': 1 }));
    let lastX = -99, stack = 0;
    for (const e of evs) {
      const kind = served(e);
      const at = x(seconds(e.at));
      stack = Math.abs(at - lastX) < 5 ? stack + 1 : 0;
      lastX = at;
      const cx = Math.min(at + Math.min(stack, 6) * 5, W - 3);
      const tip = (e.endpoint === 'poll' ? 'poll ' : e.endpoint + ' request ') + e.seq + ' at ' + fmt(seconds(e.at)) + ': ' + servedWords(e);
      if (e.endpoint === 'poll') {
        svg.append(s('rect', {
          x: cx - 2.5, y: 1, width: 5, height: H - 6, rx: 1, fill: kind === 'undelivered' ? '#cbd5e1' : COLOURS[kind],
          'data-poll': e.seq, 'data-status': e.status || '', 'data-code': e.code, 'data-fault': e.fault || '',
        }, s('title', { text: tip })));
      } else {
        svg.append(s('rect', { x: cx - 2, y: H - 5, width: 4, height: 4, fill: '#0d9488', 'data-result': e.seq }, s('title', { text: tip })));
      }
    }
    return svg;
  }

  function toggle(id) {
    if (state.open === id) { closeDetail(); return; }
    closeDetail();
    state.open = id;
    state.axis = '';
    const el = state.rows.get(id);
    const t = state.tasks.find((x) => x.task_id === id);
    if (el && t) {
      el._sig = '';
      updateRow(el, t);
      el.append(h('div', { class: 'detail', 'data-detail': id }, h('p', { class: 'help', text: 'Loading the timeline…' })));
    }
    refreshDetail();
  }

  function closeDetail() {
    const id = state.open;
    state.open = '';
    state.timeline = null;
    const el = id && state.rows.get(id);
    if (el) {
      const d = $(':scope > .detail', el);
      if (d) d.remove();
      const t = state.tasks.find((x) => x.task_id === id);
      el._sig = '';
      if (t) updateRow(el, t);
    }
  }

  const refreshDetail = throttle(async () => {
    const id = state.open;
    if (!id) return;
    let tl;
    try {
      tl = await api('/__admin/tasks/' + encodeURIComponent(id) + '/timeline');
    } catch (e) {
      if (e.status === 404 && state.open === id) { closeDetail(); return; }
      throw e;
    }
    if (state.open !== id) return;
    state.timeline = tl;
    renderDetail();
  }, 150);

  function renderDetail() {
    const tl = state.timeline;
    const el = tl && state.rows.get(tl.task_id);
    if (!el) return;
    const old = $(':scope > .detail', el);
    const width = Math.max(520, Math.round((el.clientWidth || 900) - 16));
    const d = tl.discipline || {};
    const t = state.tasks.find((x) => x.task_id === tl.task_id) || {};
    const sc = scenarioInfo(tl.scenario);
    const box = h('div', { class: 'detail', 'data-detail': tl.task_id });

    box.append(h('div', { class: 'facts' },
      h('span', null, h('b', { text: 'task' }), h('span', { class: 'mono', text: tl.task_id })),
      h('span', null, h('b', { text: 'kind' }), tl.kind || '—'),
      tl.scenario ? h('span', null, h('b', { text: 'scenario' }), tl.scenario, sc ? ' — ' + sc.description : '') : null,
      t.created_at ? h('span', null, h('b', { text: 'created' }), clockText(t.created_at)) : null,
      t.run_id ? h('span', null, h('b', { text: 'run id' }), h('span', { class: 'mono', text: t.run_id })) : null,
      h('span', null, h('b', { text: 'age' }), fmt(seconds(tl.elapsed))),
      t.in_flight ? h('span', null, h('b', { text: 'waiting' }), plural(t.in_flight, 'request') + ' arrived and not answered yet (a hang or a latency): drawn once answered') : null));

    const axis = axisOf(tl);
    box.append(big(tl, width, axis));
    if (tl.manual_clock) {
      const pick = (a) => h('button', {
        type: 'button', class: 'link', disabled: axis === a, text: a === 'real' ? 'real time' : 'the scenario clock',
        onclick: () => { state.axis = a; renderDetail(); },
      });
      box.append(h('p', { class: 'axis-switch' },
        axis === 'real' ? 'Drawn in real time: the manual clock did not move between these polls. Draw on ' : 'Drawn on the scenario (manual) clock. Draw in ',
        pick(axis === 'real' ? 'scenario' : 'real')));
    }
    if (tl.history_dropped) {
      box.append(h('p', { class: 'help', text: 'The ' + plural(tl.history_dropped, 'oldest answer') + ' are no longer kept one by one and are not drawn; the verdict still counts them.' }));
    }

    box.append(h('h3', { text: 'Verdict' }), verdictList(tl));

    const steps = h('table', { class: 'small' },
      h('thead', null, h('tr', null, h('th', { text: 'step' }), h('th', { text: 'serves' }), h('th', { text: 'lasts' }), h('th', { text: 'from' }), h('th', { text: 'until' }))),
      h('tbody', null, (tl.steps || []).map((st) => h('tr', { class: st.step === tl.poll_step ? 'current' : '' },
        h('td', { text: st.step + (st.step === tl.poll_step ? ' (now)' : '') }),
        h('td', { text: st.serves }),
        h('td', { text: st.polls ? plural(st.polls, 'poll') : st.for ? fmt(seconds(st.for)) : 'forever' }),
        h('td', { class: 'mono', text: st.from !== undefined ? fmt(seconds(st.from)) : '—' }),
        h('td', { class: 'mono', text: st.until !== undefined ? fmt(seconds(st.until)) : '—' })))));
    const disc = h('dl', { class: 'disc' },
      dt('polls', d.polls + (d.polls ? ' over ' + fmt(seconds(d.span)) : '')),
      d.polls > 1 ? dt('between polls', 'min ' + fmt(seconds(d.min_interval)) + ' · median ' + fmt(seconds(d.median_interval)) + ' · max ' + fmt(seconds(d.max_interval))) : null,
      (d.retry_after || []).length ? dt('Retry-After', plural(d.retry_after_honoured || 0, 'honoured', 'honoured') + ', ' + (d.retry_after_early || 0) + ' early') : null,
      d.terminal ? dt('terminal status', d.terminal + (d.polls_after_terminal ? ', then ' + plural(d.polls_after_terminal, 'poll') : ', no poll after it')) : null,
      d.unknown_status ? dt('unknown status', d.unknown_status + (d.polls_after_unknown ? ', then ' + plural(d.polls_after_unknown, 'poll') : '')) : null,
      dt('results fetched', String(d.results || 0) + (d.early_results ? ', ' + d.early_results + ' asked for too early' : '')),
      d.undelivered ? dt('not delivered', plural(d.undelivered, 'answer')) : null);
    box.append(h('div', { class: 'cols' },
      h('div', null, h('h3', { text: tl.steps && tl.steps.length ? 'Scenario steps' : 'Steps' }), tl.steps && tl.steps.length ? steps : h('p', { class: 'help', text: state.mock ? 'This task\'s scenario has no poll script.' : 'The proxy plays no scenario: it shows what went through it.' })),
      h('div', null, h('h3', { text: 'How it was polled' }), disc)));

    const evs = tl.events || [];
    const details = h('details', { class: 'events' }, h('summary', { text: 'Every answer (' + evs.length + ')' }),
      h('table', { class: 'small' },
        h('thead', null, h('tr', null, ['#', 'at', 'request', 'answer', 'step', 'Retry-After', 'took'].map((x) => h('th', { text: x })))),
        h('tbody', null, evs.map((e) => h('tr', null,
          h('td', { text: e.seq }), h('td', { class: 'mono', text: fmt(seconds(e.at)) }), h('td', { text: e.endpoint }),
          h('td', { text: servedWords(e) }), h('td', { text: e.step || '' }),
          h('td', { text: e.retry_after ? fmt(seconds(e.retry_after)) : '' }),
          h('td', { class: 'mono', text: fmt(seconds(e.real_sent) - seconds(e.real)) }))))));
    if (old && $('details.events', old) && $('details.events', old).open) details.open = true;
    box.append(details);
    box.append(h('div', { class: 'detail-actions' },
      h('button', { type: 'button', text: 'Show its requests in the journal', onclick: () => { setJournalText(tl.task_id); } }),
      h('button', { type: 'button', text: 'Close', onclick: closeDetail })));
    if (old) old.replaceWith(box);
    else el.append(box);
  }

  function dt(term, value) {
    return [h('dt', { text: term }), h('dd', { text: value })];
  }

  function verdictList(tl) {
    const d = tl.discipline || {};
    const ul = h('ul', { class: 'verdicts' });
    if (!d.polls && !(tl.events || []).length) {
      ul.append(h('li', { class: 'note', text: 'Not polled yet: the verdict comes with the first poll.' }));
      return ul;
    }
    const marks = tl.marks || [];
    for (const v of d.violations || []) {
      const i = v.indexOf(':');
      const name = i >= 0 ? v.slice(0, i) : v;
      const at = marks.filter((m) => m.violation === name).map((m) => '#' + m.seq);
      ul.append(h('li', { class: 'bad' }, h('b', { text: '✗ ' + name }), i >= 0 ? v.slice(i + 1).trim() : '',
        at.length ? ' — marked on ' + (at.length > 8 ? at.slice(0, 8).join(', ') + ', …' : at.join(', ')) : ''));
    }
    if (!(d.violations || []).length) {
      ul.append(h('li', { class: 'good' }, h('b', { text: '✓ clean' }), 'This client polled by the rules: far enough apart, Retry-After honoured, no poll after a final status.'));
    }
    for (const n of d.notes || []) ul.append(h('li', { class: 'note', text: n }));
    return ul;
  }

  function axisOf(tl) {
    if (state.axis) return state.axis;
    if (!tl.manual_clock) return 'scenario';
    const polls = (tl.events || []).filter((e) => e.endpoint === 'poll');
    if (polls.length < 2) return 'scenario';
    const ats = new Set(polls.map((e) => e.at));
    return ats.size === 1 ? 'real' : 'scenario';
  }

  function niceStep(span, max) {
    const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400];
    for (const st of steps) if (span / st <= max) return st;
    return steps[steps.length - 1];
  }

  // big is a task's full timeline, drawn as SVG.
  function big(tl, W, axis) {
    const real = axis === 'real';
    const evs = tl.events || [];
    const polls = evs.filter((e) => e.endpoint === 'poll');
    const scale = tl.scale || 1;
    const T = (e) => seconds(real ? e.real : e.at);
    const Tsent = (e) => seconds(real ? e.real_sent : e.sent);
    const raEnd = (e) => Tsent(e) + (real ? seconds(e.retry_after) : seconds(e.retry_after) / scale);
    const now = real ? Math.max(0, ...evs.map((e) => seconds(e.real_sent))) : seconds(tl.elapsed);
    const marksBySeq = new Map();
    for (const m of tl.marks || []) {
      if (!marksBySeq.has(m.seq)) marksBySeq.set(m.seq, []);
      marksBySeq.get(m.seq).push(m);
    }
    const steps = real ? [] : (tl.steps || []);
    // The axis spans what happened; "now" joins it unless it lies far beyond.
    const hasRA = (e) => e.retry_after && e.code >= 400;
    let last = evs.length ? Math.max(0.001, ...evs.map(T), ...evs.filter(hasRA).map(raEnd)) : Math.max(now, 5);
    // Show the next step boundary ahead, if it is near.
    for (const st of steps) {
      const u = st.until !== undefined ? seconds(st.until) : NaN;
      if (isFinite(u) && u > last && u <= Math.max(last * 3, 10)) { last = u; break; }
    }
    const nowShown = now <= Math.max(last * 1.6, last + 2);
    let end = (nowShown ? Math.max(last, now) : last) * 1.05;
    const L = 14, R = 14, H = 196;
    const x = (sec) => L + (Math.max(0, sec) / end) * (W - L - R);
    const Y = { bands: 6, bandH: 24, flag: 56, poll: 86, ra: 104, result: 128, axis: 150 };
    const svg = s('svg', {
      class: 'big', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'data-timeline': tl.task_id, role: 'img',
      'aria-label': 'Timeline of task ' + tl.task_id + ': ' + plural(polls.length, 'poll') + (real ? ', in real time' : ' on the scenario clock'),
    });
    const defs = s('defs', null,
      s('pattern', { id: 'after-' + cssId(tl.task_id), width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
        s('rect', { width: 6, height: 6, fill: '#fef2f2' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#fecaca', 'stroke-width': 3 })));
    svg.append(defs);

    // The scenario's steps, as bands along the top, and their boundaries.
    steps.forEach((st, i) => {
      if (st.from === undefined) return;
      const from = seconds(st.from);
      if (from > end) return;
      const until = st.until !== undefined ? Math.min(seconds(st.until), end) : (steps[i + 1] && steps[i + 1].from !== undefined ? seconds(steps[i + 1].from) : end);
      const x0 = x(from), x1 = Math.max(x(until), x0 + 2);
      const colour = COLOURS[st.fault ? 'fault' : st.code >= 500 ? 'http5' : st.code >= 400 ? 'http4' : statusClass(st.status)];
      const current = st.step === tl.poll_step;
      const g = s('g', { 'data-step': st.step });
      g.append(s('rect', { x: x0, y: Y.bands, width: x1 - x0, height: Y.bandH, fill: current ? '#eff6ff' : '#f8fafc', stroke: '#e2e8f0' }));
      g.append(s('rect', { x: x0, y: Y.bands + Y.bandH - 4, width: x1 - x0, height: 4, fill: colour, opacity: 0.85 }));
      const label = 'step ' + st.step + ': ' + st.serves + (st.polls ? ' × ' + st.polls : st.for ? ' for ' + fmt(seconds(st.for)) : '');
      if (x1 - x0 > 40) {
        const clip = 'clip-' + cssId(tl.task_id) + '-' + st.step;
        defs.append(s('clipPath', { id: clip }, s('rect', { x: x0 + 2, y: Y.bands, width: x1 - x0 - 4, height: Y.bandH })));
        g.append(s('text', { x: x0 + 6, y: Y.bands + 14, 'font-size': 11.5, fill: '#334155', 'clip-path': 'url(#' + clip + ')', text: label }));
      }
      g.append(s('title', { text: label + (st.until !== undefined ? ', from ' + fmt(from) + ' until ' + fmt(seconds(st.until)) : ', from ' + fmt(from)) }));
      svg.append(g);
      if (from > 0) {
        svg.append(s('line', { x1: x0, x2: x0, y1: Y.bands, y2: Y.axis, stroke: '#94a3b8', 'stroke-dasharray': '3 3', 'stroke-width': 1 }));
      }
    });

    // The terminal status, and what came after it.
    const d = tl.discipline || {};
    const stop = (status, label, colour) => {
      const e = polls.find((p) => p.delivered && p.status === status);
      if (!e) return;
      const tx = x(T(e));
      const after = polls.filter((p) => p.seq > e.seq).length;
      if (after) {
        svg.append(s('rect', { x: tx, y: Y.flag - 12, width: Math.max(0, x(Math.min(now, end)) - tx), height: Y.result - Y.flag + 16, fill: 'url(#after-' + cssId(tl.task_id) + ')', opacity: 0.9 }));
      }
      svg.append(s('line', { x1: tx, x2: tx, y1: Y.flag - 14, y2: Y.result + 6, stroke: colour, 'stroke-width': 2 }));
      const text = label + (after ? ' — then ' + plural(after, 'more poll') : '');
      const anchorEnd = tx > W * 0.6;
      svg.append(s('text', { x: anchorEnd ? tx - 5 : tx + 5, y: Y.flag - 4, 'font-size': 11.5, 'font-weight': 600, fill: colour, 'text-anchor': anchorEnd ? 'end' : 'start', text: text }));
    };
    if (d.terminal) stop(d.terminal, 'final status ' + d.terminal, d.terminal === 'SUCCESS' ? '#15803d' : '#b91c1c');
    if (d.unknown_status) stop(d.unknown_status, 'unknown status ' + d.unknown_status, '#7c3aed');

    // Retry-After windows: from the answer that advised one to when the
    // next poll was allowed; red when the next poll came inside it.
    const lanes = [];
    polls.forEach((e) => {
      if (!hasRA(e)) return;
      const next = polls.find((p) => p.seq > e.seq);
      const early = next && (marksBySeq.get(next.seq) || []).some((m) => m.violation === 'retry-after');
      const colour = !next ? '#d97706' : early ? '#dc2626' : '#16a34a';
      const x0 = x(Tsent(e)), x1 = Math.max(x(raEnd(e)), x0 + 2);
      let lane = lanes.findIndex((endX) => endX <= x0);
      if (lane < 0) lane = lanes.length < 3 ? lanes.length : 0;
      lanes[lane] = x1 + 2;
      const y = Y.ra + lane * 8;
      const words = 'Retry-After ' + fmt(seconds(e.retry_after)) + ' after poll ' + e.seq + ': ' +
        (!next ? 'no poll since' : early ? 'the next poll (#' + next.seq + ') came too early' : 'the next poll (#' + next.seq + ') waited');
      svg.append(s('g', { 'data-retry-after': e.seq, 'data-early': early ? 'true' : 'false' },
        s('rect', { x: x0, y: y - 3, width: x1 - x0, height: 6, rx: 2, fill: early ? '#fecaca' : '#fde68a', stroke: colour, 'stroke-width': 1 }),
        s('line', { x1: x1, x2: x1, y1: y - 6, y2: y + 6, stroke: colour, 'stroke-width': 2 }),
        s('title', { text: words })));
    });

    // Now.
    if (nowShown) {
      svg.append(s('line', { x1: x(now), x2: x(now), y1: Y.flag - 14, y2: Y.axis, stroke: '#2563eb', 'stroke-width': 1, 'stroke-dasharray': '2 2' }));
      const left = x(now) < 40;
      svg.append(s('text', { x: x(now) + (left ? 3 : -3), y: Y.axis - 4, 'font-size': 10.5, fill: '#2563eb', 'text-anchor': left ? 'start' : 'end', text: 'now' }));
    } else {
      svg.append(s('text', { x: W - R, y: Y.axis - 4, 'font-size': 10.5, fill: '#2563eb', 'text-anchor': 'end', text: 'now: ' + fmt(now) + ' →' }));
    }

    // The axis.
    const stepSec = niceStep(end, Math.max(3, Math.floor(W / 90)));
    svg.append(s('line', { x1: L, x2: W - R, y1: Y.axis, y2: Y.axis, stroke: '#94a3b8' }));
    for (let t = 0; t <= end + 1e-9; t += stepSec) {
      svg.append(s('line', { x1: x(t), x2: x(t), y1: Y.axis, y2: Y.axis + 5, stroke: '#94a3b8' }));
      svg.append(s('text', { x: x(t), y: Y.axis + 18, 'font-size': 11, fill: '#64748b', 'text-anchor': t === 0 ? 'start' : 'middle', text: fmt(t) }));
    }
    svg.append(s('text', { x: W - R, y: H - 4, 'font-size': 11, fill: '#64748b', 'text-anchor': 'end',
      text: !state.mock ? 'time since the proxy saw the task created' : real ? 'real time since the task was created' : 'time since the task was created, on the ' + (tl.manual_clock ? 'manual ' : '') + 'scenario clock' }));
    svg.append(s('text', { x: L, y: Y.poll - 16, 'font-size': 10.5, fill: '#94a3b8', text: 'polls' }));
    if (evs.some((e) => e.endpoint !== 'poll')) svg.append(s('text', { x: L, y: Y.result - 9, 'font-size': 10.5, fill: '#94a3b8', text: 'results' }));

    // The answers: a dot per poll, a square per result or file request,
    // and a flag on each where a rule was broken.
    let lastX = -99, stack = 0;
    for (const e of evs) {
      const cx = x(T(e));
      const kind = served(e);
      const marks = marksBySeq.get(e.seq) || [];
      const tip = (e.endpoint === 'poll' ? 'poll ' : e.endpoint + ' request ') + e.seq + ' at ' + fmt(T(e)) + ': ' + servedWords(e) +
        (e.step ? ' (step ' + e.step + ')' : '') + marks.map((m) => '\n✗ ' + m.violation + ': ' + m.what).join('');
      if (e.endpoint === 'poll') {
        stack = Math.abs(cx - lastX) < 4 ? stack + 1 : 0;
        lastX = cx;
        const cy = Y.poll - (stack % 4) * 5;
        const g = s('g', { 'data-poll': e.seq, 'data-status': e.status || '', 'data-code': e.code, 'data-fault': e.fault || '', 'data-marks': marks.map((m) => m.violation).join(' ') || null });
        if (kind === 'fault') {
          g.append(s('circle', { cx: cx, cy: cy, r: 7, fill: '#ffffff', stroke: COLOURS.fault, 'stroke-width': 1.5 }));
          g.append(s('path', { d: 'M' + (cx - 4) + ' ' + (cy - 4) + 'L' + (cx + 4) + ' ' + (cy + 4) + 'M' + (cx + 4) + ' ' + (cy - 4) + 'L' + (cx - 4) + ' ' + (cy + 4), stroke: COLOURS.fault, 'stroke-width': 2 }));
        } else {
          g.append(s('circle', {
            cx: cx, cy: cy, r: 7, fill: COLOURS[kind], stroke: marks.length ? '#dc2626' : kind === 'undelivered' ? '#64748b' : '#ffffff',
            'stroke-width': marks.length ? 2.5 : 1.5, 'stroke-dasharray': kind === 'undelivered' ? '3 2' : null,
          }));
        }
        if (marks.length) {
          g.append(s('path', { d: 'M' + (cx - 5) + ' ' + (Y.flag - 6) + 'L' + (cx + 5) + ' ' + (Y.flag - 6) + 'L' + cx + ' ' + (Y.flag + 4) + 'Z', fill: '#dc2626' }));
          g.append(s('line', { x1: cx, x2: cx, y1: Y.flag + 4, y2: cy - 8, stroke: '#fca5a5', 'stroke-width': 1 }));
        }
        g.append(s('title', { text: tip }));
        svg.append(g);
      } else {
        const g = s('g', { 'data-result': e.seq, 'data-code': e.code });
        g.append(s('rect', { x: cx - 5, y: Y.result - 5, width: 10, height: 10, fill: kind === 'undelivered' || kind === 'fault' ? '#ffffff' : '#0d9488', stroke: marks.length ? '#dc2626' : '#0f766e', 'stroke-width': marks.length ? 2.5 : 1 }));
        if (marks.length) g.append(s('path', { d: 'M' + (cx - 5) + ' ' + (Y.flag - 6) + 'L' + (cx + 5) + ' ' + (Y.flag - 6) + 'L' + cx + ' ' + (Y.flag + 4) + 'Z', fill: '#dc2626' }));
        g.append(s('title', { text: tip }));
        svg.append(g);
      }
    }
    if (!evs.length) {
      svg.append(s('text', { x: W / 2, y: Y.poll + 4, 'font-size': 13, fill: '#94a3b8', 'text-anchor': 'middle', text: 'no poll yet: each poll will appear here as a dot at its time' }));
    }
    return svg;
  }

  function cssId(id) {
    return String(id).replace(/[^A-Za-z0-9_-]/g, '_');
  }

  function clearFilters() {
    Object.assign(state.filters, { status: '', scenario: '', kind: '', offset: 0 });
    for (const k of ['status', 'scenario', 'kind']) $('[data-filter="' + k + '"]').value = '';
    refreshTasks();
  }

  // ---- The journal ---------------------------------------------------

  // The journal is loaded whole, then grows by the stream's request
  // events. An event that comes while a load is on its way is kept unless
  // the load brought the same request.
  let journalGen = 0;
  async function loadJournal() {
    const gen = ++journalGen;
    const j = await api('/__admin/requests?limit=' + MAX_JOURNAL);
    if (gen !== journalGen) return;
    const fetched = j.requests || [];
    const keys = new Set(fetched.map(journalKey));
    const extra = state.journal.filter((r) => r._gen === gen && !keys.has(journalKey(r)));
    state.journal = extra.concat(fetched).slice(0, MAX_JOURNAL);
    state.journalTotal = (j.total || fetched.length) + extra.length;
    renderJournal();
  }
  function journalKey(r) {
    return [r.method, r.path, r.query, r.status, r.task, r.duration].join(' ');
  }

  function isAdmin(r) {
    return r.path === '/__admin' || r.path.startsWith('/__admin/') || r.path === '/favicon.ico';
  }

  function journalMatches(r) {
    const f = state.jf;
    if (!f.admin && isAdmin(r)) return false;
    if (f.method && r.method !== f.method) return false;
    if (f.code !== '' && String(Math.floor((r.status || 0) / 100)) !== f.code) return false;
    if (f.text) {
      const hay = [r.path, r.query, r.task, r.scenario, r.step, r.fault, String(r.status)].join(' ').toLowerCase();
      if (!hay.includes(f.text.toLowerCase())) return false;
    }
    return true;
  }

  let journalFrame = 0;
  function renderJournalSoon() {
    if (!journalFrame) journalFrame = requestAnimationFrame(() => { journalFrame = 0; renderJournal(); });
  }

  function renderJournal() {
    const list = $('[data-journal]');
    const shown = [];
    for (const r of state.journal) {
      if (journalMatches(r)) shown.push(r);
      if (shown.length >= SHOWN_JOURNAL) break;
    }
    const items = shown.map((r) => {
      const cls = r.status === 0 ? 'c0' : r.status >= 500 ? 'c5' : r.status >= 400 ? 'c4' : 'ok';
      const li = h('li', { 'data-request': '', 'data-method': r.method, 'data-status': r.status, 'data-path': r.path, 'data-task': r.task || null, class: r._fresh ? 'fresh' : null },
        h('span', { class: 'm', text: r.method }),
        h('span', { class: 'p', title: r.path + (r.query ? '?' + r.query : ''), text: shortPath(r) + (r.query ? '?' + r.query : '') }),
        h('span', { class: 'c ' + cls, title: r.status === 0 ? 'the connection was dropped without an answer' : 'HTTP ' + r.status, text: r.status === 0 ? '—' : r.status }),
        h('span', { class: 'sub' },
          h('span', { class: 't', title: r.at, text: timeOfDay(r.at) }),
          r.task ? h('button', { type: 'button', class: 'task-link', title: 'Show only this task\'s requests', text: 'task ' + r.task, onclick: () => setJournalText(r.task) }) : null,
          r.scenario ? h('span', { text: r.scenario }) : null,
          r.step ? h('span', { text: stepWords(r.step) }) : null,
          r.fault ? h('span', { class: 'fault', text: 'fault ' + r.fault }) : null,
          h('span', { text: fmt(seconds(r.duration)) }),
          r.api_key ? h('span', { class: 'key', title: 'an API key was sent; the journal never keeps it', text: 'key ' + r.api_key }) : null));
      r._fresh = false;
      return li;
    });
    list.replaceChildren(...items);
    const hidden = state.journal.length - shown.length;
    $('[data-journal-total]').textContent = state.journalTotal ? '(' + shown.length + (shown.length >= SHOWN_JOURNAL ? '+' : '') + ' shown of ' + state.journalTotal.toLocaleString('en') + ' seen)' : '';
    const empty = $('[data-journal-empty]');
    empty.hidden = shown.length > 0;
    if (!empty.hidden) {
      const onlyAdmin = state.journal.length > 0 && state.journal.every(isAdmin);
      empty.textContent = state.journal.length === 0 || (onlyAdmin && !state.jf.admin && !state.jf.text && !state.jf.method && state.jf.code === '') ?
        'No API request yet.' + (onlyAdmin ? ' The admin API\'s own requests (this page\'s among them) are hidden: tick "admin API" to see them.' : '') :
        'No request matches these filters' + (!state.jf.admin && hidden ? ' (the admin API\'s own requests are hidden; tick "admin API" to see them).' : '.');
    }
  }

  // shortPath shortens the task id in a request's path: the line under it
  // names the task in full.
  function shortPath(r) {
    if (r.task && r.task.length > 12 && r.path.endsWith('/' + r.task)) return r.path.slice(0, r.path.length - r.task.length) + r.task.slice(0, 8) + '…';
    return r.path;
  }

  // stepWords turns the journal's "poll 3" or "create normal" into words.
  function stepWords(step) {
    let m = /^(\w+) (\d+)$/.exec(step);
    if (m) return m[1] + ' step ' + m[2];
    m = /^(\w+) normal$/.exec(step);
    if (m) return m[1] + ': normal answer';
    return step;
  }

  function setJournalText(text) {
    state.jf.text = text;
    $('[data-jfilter="text"]').value = text;
    renderJournal();
    $('[data-journal]').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  // ---- Scenarios -----------------------------------------------------

  function renderScenarios() {
    const grid = $('[data-scenarios]');
    $('[data-scenario-total]').textContent = '(' + state.scenarios.length + ')';
    grid.replaceChildren(...state.scenarios.map((sc) => h('article', { class: 'scenario' + (sc.off_spec ? ' off' : ''), 'data-scenario-card': sc.name },
      h('h3', null, sc.name, sc.default ? h('em', { class: 'badge def', text: 'default' }) : null, sc.off_spec ? h('em', { class: 'badge off', text: 'off-spec' }) : null),
      h('p', { text: sc.description }),
      sc.off_spec && (sc.violations || []).length ? [h('div', { class: 'breaks', text: 'What it breaks:' }), h('ul', null, sc.violations.map((v) => h('li', { text: v })))] : null,
      h('button', { type: 'button', class: 'link', text: 'show its tasks', onclick: () => {
        state.filters.scenario = sc.name;
        state.filters.offset = 0;
        $('[data-filter="scenario"]').value = sc.name;
        refreshTasks();
        $('.panel.tasks').scrollIntoView({ behavior: 'smooth' });
      } }))));
  }

  // ---- Live updates ----------------------------------------------------

  function setLive(mode) {
    state.live = mode;
    const el = $('[data-live]');
    el.dataset.live = mode;
    el.textContent = mode === 'events' ? 'live' : mode === 'polling' ? 'live (polling every 2s)' : 'offline: retrying…';
  }

  async function loadAll() {
    await Promise.all([refreshTasksNow(), loadJournal(), state.open ? refreshDetail() : null]);
  }
  function refreshTasksNow() {
    refreshTasks();
    return Promise.resolve();
  }

  function startEvents() {
    if (state.forcePoll || typeof EventSource !== 'function') { startPolling(); return; }
    const src = new EventSource('/__admin/events');
    state.source = src;
    src.addEventListener('hello', () => {
      stopPolling();
      setLive('events');
      loadAll().catch((e) => showError(e.message));
    });
    src.addEventListener('task', (ev) => {
      const te = JSON.parse(ev.data);
      refreshTasks();
      if (te.task_id === state.open) refreshDetail();
    });
    src.addEventListener('request', (ev) => {
      const r = JSON.parse(ev.data);
      r._fresh = true;
      r._gen = journalGen;
      state.journal.unshift(r);
      if (state.journal.length > MAX_JOURNAL) state.journal.length = MAX_JOURNAL;
      state.journalTotal++;
      if (journalMatches(r)) renderJournalSoon();
    });
    src.addEventListener('clock', (ev) => {
      const c = JSON.parse(ev.data);
      setClock(c.clock, c.now);
      refreshTasks();
      refreshDetail();
    });
    src.addEventListener('reset', () => afterReset());
    src.addEventListener('lost', () => loadAll().catch((e) => showError(e.message)));
    src.addEventListener('error', () => {
      if (state.live === 'events') setLive('offline');
      startPolling();
    });
  }

  function startPolling() {
    if (state.pollTimer) return;
    if (state.forcePoll) setLive('polling');
    const tick = async () => {
      try {
        const health = await api('/__admin/health');
        if (state.mock && health.now) setClock(health.clock, health.now);
        await loadAll();
        if (state.live !== 'events') setLive('polling');
        showError('');
      } catch (e) {
        if (state.live !== 'events') setLive('offline');
      }
    };
    state.pollTimer = setInterval(tick, 2000);
  }
  function stopPolling() {
    if (state.pollTimer) clearInterval(state.pollTimer);
    state.pollTimer = 0;
  }

  // Ages tick on the real clock between refreshes.
  setInterval(() => {
    if (state.clockKind === 'manual' || !state.loadedAt) return;
    const extra = (performance.now() - state.loadedAt) / 1000;
    for (const el of $$('[data-age]')) el.textContent = fmt(parseFloat(el.dataset.age) + extra);
  }, 1000);

  // ---- Wiring --------------------------------------------------------

  function wire() {
    for (const b of $$('[data-action="advance"]')) {
      b.addEventListener('click', () => advance(b.dataset.by).catch((e) => showError(e.message)));
    }
    $('[data-input="advance-by"]').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') advance().catch((e) => showError(e.message));
    });
    $('[data-action="reset"]').addEventListener('click', () => reset().catch((e) => showError(e.message)));
    for (const k of ['status', 'scenario', 'kind', 'limit']) {
      $('[data-filter="' + k + '"]').addEventListener('change', (ev) => {
        state.filters[k] = k === 'limit' ? parseInt(ev.target.value, 10) : ev.target.value;
        state.filters.offset = 0;
        refreshTasks();
      });
    }
    $('[data-filter-clear]').addEventListener('click', clearFilters);
    $('[data-page="newer"]').addEventListener('click', () => {
      state.filters.offset = Math.max(0, state.filters.offset - state.filters.limit);
      refreshTasks();
    });
    $('[data-page="older"]').addEventListener('click', () => {
      state.filters.offset += state.filters.limit;
      refreshTasks();
    });
    $('[data-jfilter="text"]').addEventListener('input', (ev) => { state.jf.text = ev.target.value.trim(); renderJournal(); });
    $('[data-jfilter="method"]').addEventListener('change', (ev) => { state.jf.method = ev.target.value; renderJournal(); });
    $('[data-jfilter="code"]').addEventListener('change', (ev) => { state.jf.code = ev.target.value; renderJournal(); });
    $('[data-jfilter="admin"]').addEventListener('change', (ev) => { state.jf.admin = ev.target.checked; renderJournal(); });
    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { if (state.timeline) renderDetail(); }, 150);
    });
  }

  async function main() {
    wire();
    try {
      await loadServer();
    } catch (e) {
      showError('This page could not read the admin API: ' + e.message);
      setLive('offline');
      return;
    }
    await loadAll().catch((e) => showError(e.message));
    startEvents();
  }

  main();
})();
