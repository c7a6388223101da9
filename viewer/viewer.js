// The local agent's trace viewer: a list of recent traces and a waterfall per trace, kept live by the
// agent's event stream. Plain DOM code, no build step, no network access beyond the agent itself.
// Span data comes from the traced app and is untrusted: it is only ever written with textContent.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };

  var state = {
    route: { view: 'list', id: '' },
    listVersion: -1,
    trace: null,
    expanded: Object.create(null),
    collapsed: Object.create(null),
    refreshTimer: 0,
    lastRefresh: 0,
    live: false,
  };

  // ---- formatting ---------------------------------------------------------------------------------------

  function formatDuration(ns) {
    if (!(ns > 0)) return '0 ms';
    if (ns < 1e3) return ns.toFixed(0) + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 0) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : ns < 1e8 ? 1 : 0) + ' ms';
    if (ns < 60e9) return (ns / 1e9).toFixed(2) + ' s';
    return (ns / 60e9).toFixed(1) + ' min';
  }

  function pad(n, w) { n = String(n); while (n.length < w) n = '0' + n; return n; }

  function formatClock(ms) {
    var d = new Date(ms);
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  }

  function formatAgo(ms) {
    var s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 5) return 'just now';
    if (s < 60) return Math.floor(s) + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    return Math.floor(s / 3600) + 'h ago';
  }

  // A stable colour per service, so the same service looks the same in the list and the waterfall.
  function serviceHue(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    return ((h % 360) + 360) % 360;
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function serviceDot(name) {
    var d = el('span', 'svc-dot');
    d.style.backgroundColor = 'hsl(' + serviceHue(name) + ' 62% 52%)';
    return d;
  }

  // ---- data -------------------------------------------------------------------------------------------

  function getJson(url) {
    return fetch(url, { cache: 'no-store' }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.error ? body.error : res.status + ' ' + res.statusText);
        return body;
      });
    });
  }

  function filterQuery() {
    var q = new URLSearchParams();
    var service = $('f-service').value;
    var resource = $('f-resource').value.trim();
    var error = $('f-error').value;
    if (service) q.set('service', service);
    if (resource) q.set('resource', resource);
    if (error) q.set('error', error);
    q.set('limit', '200');
    return q.toString();
  }

  // ---- trace list -------------------------------------------------------------------------------------

  function loadList() {
    return Promise.all([getJson('api/traces?' + filterQuery()), getJson('api/services')]).then(function (r) {
      renderServices(r[1].services);
      renderList(r[0]);
    }).catch(showError);
  }

  function renderServices(services) {
    var select = $('f-service');
    var current = select.value;
    var names = services.map(function (s) { return s.name; });
    if (current && names.indexOf(current) === -1) names.push(current);
    var existing = Array.prototype.slice.call(select.options, 1).map(function (o) { return o.value; });
    if (existing.join('\n') === names.join('\n')) return;
    while (select.options.length > 1) select.remove(1);
    names.forEach(function (name) {
      var o = el('option', '', name);
      o.value = name;
      select.appendChild(o);
    });
    select.value = current;
  }

  function renderList(body) {
    var rows = $('trace-rows');
    var traces = body.traces;
    var maxDuration = 1;
    traces.forEach(function (t) { if (t.duration > maxDuration) maxDuration = t.duration; });
    var frag = document.createDocumentFragment();
    traces.forEach(function (t) {
      var tr = el('tr', 'trace-row' + (t.error ? ' is-error' : ''));
      tr.dataset.traceId = t.traceId;
      tr.tabIndex = 0;

      var time = el('td', 'c-time');
      time.appendChild(el('span', 'clock', formatClock(t.start)));
      time.appendChild(el('span', 'ago', formatAgo(t.start)));
      time.title = new Date(t.start).toString();
      tr.appendChild(time);

      var svc = el('td', 'c-service');
      svc.appendChild(serviceDot(t.service));
      svc.appendChild(el('span', '', t.service));
      if (t.services.length > 1) svc.appendChild(el('span', 'more', '+' + (t.services.length - 1)));
      svc.title = t.services.join(', ');
      tr.appendChild(svc);

      var res = el('td', 'c-resource');
      var line = el('div', 'resource', t.resource || '(no resource)');
      if (t.path && (t.resource || '').indexOf(t.path) === -1) line.appendChild(el('span', 'path', t.path));
      res.appendChild(line);
      var op = el('div', 'op', t.name);
      if (t.status) op.appendChild(el('span', 'http-status' + (t.status >= '500' ? ' is-5xx' : t.status >= '400' ? ' is-4xx' : ''), t.status));
      res.appendChild(op);
      res.title = t.resource + (t.path ? '  ' + t.path : '');
      tr.appendChild(res);

      var dur = el('td', 'c-duration');
      var bar = el('div', 'dur-bar');
      var fill = el('div', 'dur-fill');
      fill.style.width = Math.max(2, (t.duration / maxDuration) * 100) + '%';
      bar.appendChild(fill);
      dur.appendChild(el('span', 'dur-text', formatDuration(t.duration)));
      dur.appendChild(bar);
      tr.appendChild(dur);

      tr.appendChild(el('td', 'c-spans', t.spanCount + (t.droppedSpans ? ' (+' + t.droppedSpans + ' dropped)' : '')));

      var status = el('td', 'c-status');
      status.appendChild(t.error
        ? el('span', 'badge badge-error', t.errorCount + (t.errorCount === 1 ? ' error' : ' errors'))
        : el('span', 'badge badge-ok', 'OK'));
      tr.appendChild(status);
      frag.appendChild(tr);
    });
    rows.textContent = '';
    rows.appendChild(frag);
    $('traces').hidden = traces.length === 0;
    $('empty').hidden = traces.length !== 0;
    var filtered = filterQuery() !== 'limit=200';
    $('empty').querySelector('.empty-title').textContent = filtered && body.total > 0 ? 'No trace matches these filters' : 'No traces yet';
    $('counts').textContent = body.total + (body.total === 1 ? ' trace' : ' traces') + ' kept';
    state.listVersion = body.version;
  }

  function openRow(target) {
    var row = target.closest && target.closest('tr.trace-row');
    if (row) location.hash = '#/trace/' + row.dataset.traceId;
  }

  // ---- trace view -------------------------------------------------------------------------------------

  function loadTrace(id) {
    return getJson('api/traces/' + encodeURIComponent(id)).then(function (trace) {
      if (state.route.view !== 'trace' || state.route.id !== id) return;
      state.trace = trace;
      $('trace-missing').hidden = true;
      $('waterfall').hidden = false;
      renderTrace(trace);
    }).catch(function (err) {
      if (state.route.view !== 'trace' || state.route.id !== id) return;
      $('trace-head').textContent = '';
      $('waterfall').hidden = true;
      $('trace-missing').hidden = false;
      $('trace-missing-text').textContent = err.message;
    });
  }

  // Spans in tree order: children after their parent, siblings by start; spans whose parent was not
  // received are shown as roots.
  function treeOrder(spans) {
    var byId = Object.create(null);
    var children = Object.create(null);
    spans.forEach(function (s) { byId[s.spanId] = s; });
    var roots = [];
    spans.forEach(function (s) {
      if (s.parentId !== '0' && byId[s.parentId] && s.parentId !== s.spanId) {
        (children[s.parentId] = children[s.parentId] || []).push(s);
      } else {
        roots.push(s);
      }
    });
    var out = [];
    var seen = Object.create(null);
    var stack = roots.slice().reverse().map(function (s) { return { span: s, depth: 0 }; });
    while (stack.length) {
      var item = stack.pop();
      var id = item.span.spanId;
      if (seen[id]) continue;
      seen[id] = true;
      var kids = children[id] || [];
      out.push({ span: item.span, depth: item.depth, childCount: kids.length });
      if (state.collapsed[id]) continue;
      for (var i = kids.length - 1; i >= 0; i--) stack.push({ span: kids[i], depth: item.depth + 1 });
    }
    return out;
  }

  function renderTraceHead(trace) {
    var head = $('trace-head');
    head.textContent = '';
    var title = el('h1', 'trace-title');
    title.appendChild(serviceDot(trace.service));
    title.appendChild(el('span', 'title-service', trace.service));
    var resource = el('span', 'title-resource', trace.resource || trace.name);
    if (trace.path && (trace.resource || '').indexOf(trace.path) === -1) resource.appendChild(el('span', 'path', trace.path));
    title.appendChild(resource);
    if (trace.status) title.appendChild(el('span', 'http-status' + (trace.status >= '500' ? ' is-5xx' : trace.status >= '400' ? ' is-4xx' : ''), trace.status));
    head.appendChild(title);
    var facts = el('div', 'trace-facts');
    var add = function (label, value, cls) {
      var f = el('span', 'fact' + (cls ? ' ' + cls : ''));
      f.appendChild(el('span', 'fact-label', label));
      f.appendChild(el('span', 'fact-value', value));
      facts.appendChild(f);
    };
    add('Duration', formatDuration(trace.duration));
    add('Spans', String(trace.spanCount) + (trace.droppedSpans ? ' (' + trace.droppedSpans + ' dropped)' : ''));
    add('Services', trace.services.join(', '));
    add('Errors', String(trace.errorCount), trace.errorCount ? 'fact-error' : '');
    add('Started', new Date(trace.start).toLocaleString());
    add('Trace ID', trace.traceIdHex + ' (' + trace.traceId + ')', 'fact-mono');
    head.appendChild(facts);
  }

  function renderAxis(total) {
    var axis = $('wf-axis');
    axis.textContent = '';
    for (var i = 0; i <= 4; i++) {
      var tick = el('span', 'tick', formatDuration((total * i) / 4));
      tick.style.left = (i * 25) + '%';
      if (i === 4) tick.classList.add('tick-last');
      axis.appendChild(tick);
    }
  }

  function renderTrace(trace) {
    renderTraceHead(trace);
    var total = Math.max(trace.duration, 1);
    renderAxis(total);
    var rows = $('wf-rows');
    var frag = document.createDocumentFragment();
    treeOrder(trace.spans).forEach(function (item) {
      var s = item.span;
      var row = el('div', 'wf-row' + (s.error ? ' is-error' : '') + (state.expanded[s.spanId] ? ' is-open' : ''));
      row.dataset.spanId = s.spanId;
      row.tabIndex = 0;

      var name = el('div', 'wf-name-col');
      name.style.paddingLeft = (10 + item.depth * 16) + 'px';
      var toggle = el('span', 'toggle', item.childCount ? (state.collapsed[s.spanId] ? '▸' : '▾') : '');
      if (item.childCount) toggle.dataset.toggle = s.spanId;
      name.appendChild(toggle);
      name.appendChild(serviceDot(s.service));
      var label = el('span', 'wf-label');
      label.appendChild(el('span', 'wf-op', s.name));
      var p = spanPath(s.meta || {});
      label.appendChild(el('span', 'wf-res', p && s.resource.indexOf(p) === -1 ? s.resource + ' ' + p : s.resource));
      name.appendChild(label);
      if (state.collapsed[s.spanId]) name.appendChild(el('span', 'more', '+' + item.childCount));
      name.title = s.service + ' · ' + s.name + '\n' + s.resource;
      row.appendChild(name);

      var time = el('div', 'wf-time-col');
      var bar = el('div', 'wf-bar');
      var left = (s.offset / total) * 100;
      var width = Math.max((s.duration / total) * 100, 0.3);
      bar.style.left = Math.min(left, 99.7) + '%';
      bar.style.width = Math.min(width, 100 - Math.min(left, 99.7)) + '%';
      if (!s.error) bar.style.backgroundColor = 'hsl(' + serviceHue(s.service) + ' 62% 52%)';
      time.appendChild(bar);
      // The duration label sits after the bar, or inside its end when the bar reaches the right edge,
      // or before it when the bar is both late and short.
      var t = el('span', 'wf-dur', formatDuration(s.duration));
      if (left + width <= 82) t.style.left = (left + width) + '%';
      else if (width >= 12) { t.classList.add('wf-dur-inside'); t.style.right = Math.max(0, 100 - left - width) + '%'; }
      else t.style.right = (100 - left) + '%';
      time.appendChild(t);
      row.appendChild(time);
      frag.appendChild(row);
      if (state.expanded[s.spanId]) frag.appendChild(renderDetails(s, trace));
    });
    rows.textContent = '';
    rows.appendChild(frag);
  }

  // The path of a web span (its resource is often only the method).
  function spanPath(meta) {
    if (meta['http.route']) return meta['http.route'];
    if (!meta['http.url']) return '';
    try { return new URL(meta['http.url'], location.href).pathname; } catch (e) { return ''; }
  }

  function kvTable(title, entries, cls) {
    var box = el('div', 'kv ' + (cls || ''));
    box.appendChild(el('h3', '', title));
    if (!entries.length) {
      box.appendChild(el('p', 'none', 'none'));
      return box;
    }
    var table = el('table');
    entries.forEach(function (e) {
      var tr = el('tr');
      tr.appendChild(el('th', '', e[0]));
      var td = el('td', '', e[1]);
      if (String(e[1]).indexOf('\n') !== -1) td.className = 'multiline';
      tr.appendChild(td);
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  function parseEvents(raw) {
    if (!raw) return [];
    try {
      var v = JSON.parse(raw);
      return Array.isArray(v) ? v : [];
    } catch (e) { return []; }
  }

  function renderDetails(s, trace) {
    var box = el('div', 'wf-details' + (s.error ? ' is-error' : ''));
    var meta = s.meta || {};
    if (s.error && (meta['error.message'] || meta['error.type'] || meta['error.stack'])) {
      var err = el('div', 'error-box');
      err.appendChild(el('div', 'error-title', (meta['error.type'] || 'Error') + (meta['error.message'] ? ': ' + meta['error.message'] : '')));
      if (meta['error.stack']) err.appendChild(el('pre', 'stack', meta['error.stack']));
      box.appendChild(err);
    }
    var cols = el('div', 'detail-cols');
    cols.appendChild(kvTable('Span', [
      ['service', s.service], ['name', s.name], ['resource', s.resource], ['type', s.type || '—'],
      ['span id', s.spanId], ['parent id', s.parentId], ['start', '+' + formatDuration(s.offset)],
      ['duration', formatDuration(s.duration)], ['error', String(s.error)],
    ]));
    var metaEntries = Object.keys(meta).filter(function (k) { return k !== 'events' && k !== 'error.stack'; }).sort()
      .map(function (k) { return [k, meta[k]]; });
    cols.appendChild(kvTable('Tags (meta)', metaEntries, 'kv-wide'));
    var metrics = s.metrics || {};
    cols.appendChild(kvTable('Metrics', Object.keys(metrics).sort().map(function (k) { return [k, String(metrics[k])]; }), 'kv-metrics'));
    box.appendChild(cols);

    var events = parseEvents(meta.events);
    if (events.length) {
      var ev = el('div', 'events');
      ev.appendChild(el('h3', '', 'Events'));
      var spanStartNs = Number(s.start);
      events.forEach(function (e) {
        var item = el('div', 'event');
        var at = typeof e.time_unix_nano === 'number' ? '+' + formatDuration(e.time_unix_nano - spanStartNs) : '';
        item.appendChild(el('span', 'event-time', at));
        item.appendChild(el('span', 'event-name', e.name || '(unnamed)'));
        var attrs = e.attributes && typeof e.attributes === 'object' ? e.attributes : {};
        var keys = Object.keys(attrs);
        if (keys.length) {
          var dl = el('div', 'event-attrs');
          keys.forEach(function (k) { dl.appendChild(el('span', 'attr', k + '=' + JSON.stringify(attrs[k]))); });
          item.appendChild(dl);
        }
        ev.appendChild(item);
      });
      box.appendChild(ev);
    }
    return box;
  }

  // ---- routing and live updates -------------------------------------------------------------------------

  // Routes: #/ (the list), #/?service=S&resource=R (the list with these filters, as the services page links
  // to it), #/services, #/trace/<id>.
  function parseRoute() {
    var hash = location.hash;
    var m = /^#\/trace\/([^/?#]+)/.exec(hash);
    if (m) return { view: 'trace', id: decodeURIComponent(m[1]) };
    if (/^#\/services\/?$/.test(hash)) return { view: 'services', id: '' };
    var q = /^#\/\?(.*)$/.exec(hash);
    return { view: 'list', id: '', query: q ? q[1] : '' };
  }

  // Set the list's filters from a link's query (service, resource, error); the service is added to the
  // select when the list has not seen it yet.
  function applyFilters(query) {
    var q = new URLSearchParams(query);
    var service = q.get('service') || '';
    var select = $('f-service');
    if (service && !Array.prototype.some.call(select.options, function (o) { return o.value === service; })) {
      var o = el('option', '', service);
      o.value = service;
      select.appendChild(o);
    }
    select.value = service;
    $('f-resource').value = q.get('resource') || '';
    $('f-error').value = q.get('error') || '';
  }

  function show() {
    var route = parseRoute();
    var changed = route.view !== state.route.view || route.id !== state.route.id;
    state.route = route;
    $('list-view').hidden = route.view !== 'list';
    $('trace-view').hidden = route.view !== 'trace';
    $('services-view').hidden = route.view !== 'services';
    $('tab-traces').classList.toggle('is-active', route.view !== 'services');
    $('tab-services').classList.toggle('is-active', route.view === 'services');
    if (route.view === 'services') {
      document.title = 'Services · ddtrace-run';
      if (services) services.load();
      return;
    }
    if (route.view === 'trace') {
      if (changed) {
        state.expanded = Object.create(null);
        state.collapsed = Object.create(null);
        $('trace-head').textContent = '';
        $('wf-rows').textContent = '';
      }
      document.title = 'Trace ' + route.id + ' · ddtrace-run';
      loadTrace(route.id);
    } else {
      document.title = 'Traces · ddtrace-run';
      if (route.query) applyFilters(route.query);
      loadList();
    }
  }

  function refresh() {
    state.lastRefresh = Date.now();
    if (state.route.view === 'trace') loadTrace(state.route.id);
    else if (state.route.view === 'services') { if (services) services.load(); }
    else loadList();
  }

  // At most one refresh per 500 ms however fast updates come.
  function scheduleRefresh() {
    if (state.refreshTimer) return;
    var wait = Math.max(0, state.lastRefresh + 500 - Date.now());
    state.refreshTimer = setTimeout(function () {
      state.refreshTimer = 0;
      refresh();
    }, wait);
  }

  function setLive(on, text) {
    state.live = on;
    $('live').classList.toggle('is-on', on);
    $('live-text').textContent = text;
  }

  function connect() {
    if (!window.EventSource) {
      setLive(false, 'polling');
      setInterval(refresh, 3000);
      return;
    }
    var source = new EventSource('api/events');
    source.addEventListener('open', function () { setLive(true, 'live'); });
    source.addEventListener('update', function () { scheduleRefresh(); });
    source.addEventListener('error', function () {
      // EventSource reconnects by itself (the agent asks for 2 s); say so meanwhile.
      setLive(false, source.readyState === 2 ? 'disconnected' : 'reconnecting…');
    });
  }

  function showError(err) {
    setLive(false, 'agent unreachable');
    if (window.console) console.warn('ddtrace-run viewer:', err);
  }

  function toggleDetails(row) {
    var id = row.dataset.spanId;
    if (state.expanded[id]) delete state.expanded[id];
    else state.expanded[id] = true;
    if (state.trace) renderTrace(state.trace);
  }

  var services = null;

  function init() {
    services = window.DDServicesPage ? window.DDServicesPage({
      $: $, el: el, formatDuration: formatDuration, serviceDot: serviceDot, getJson: getJson, showError: showError,
    }) : null;
    var rows = $('trace-rows');
    rows.addEventListener('click', function (e) { openRow(e.target); });
    rows.addEventListener('keydown', function (e) { if (e.key === 'Enter') openRow(e.target); });

    var wf = $('wf-rows');
    wf.addEventListener('click', function (e) {
      var toggle = e.target.closest('[data-toggle]');
      if (toggle) {
        var id = toggle.dataset.toggle;
        if (state.collapsed[id]) delete state.collapsed[id];
        else state.collapsed[id] = true;
        if (state.trace) renderTrace(state.trace);
        return;
      }
      var row = e.target.closest('.wf-row');
      if (row) toggleDetails(row);
    });
    wf.addEventListener('keydown', function (e) {
      var row = e.target.closest && e.target.closest('.wf-row');
      if (row && e.key === 'Enter') toggleDetails(row);
    });

    var typing = 0;
    $('f-resource').addEventListener('input', function () {
      clearTimeout(typing);
      typing = setTimeout(loadList, 200);
    });
    $('f-service').addEventListener('change', loadList);
    $('f-error').addEventListener('change', loadList);
    $('filters').addEventListener('submit', function (e) { e.preventDefault(); loadList(); });
    $('clear').addEventListener('click', function () {
      fetch('api/traces', { method: 'DELETE' }).then(loadList).catch(showError);
    });
    window.addEventListener('hashchange', show);
    // Relative times ("12s ago") age even when nothing new arrives.
    setInterval(function () { if (state.route.view === 'list') scheduleRefresh(); }, 15000);
    // Stats arrive every 10 s per process, without a trace event: the services page polls.
    setInterval(function () { if (state.route.view === 'services') scheduleRefresh(); }, 5000);
    show();
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
