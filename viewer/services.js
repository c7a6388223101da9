// The services page of the local viewer: per service and resource, requests per second, error rate and
// p50/p95/p99 latency over the last minutes, drawn from the trace stats the tracer sends (GET
// api/trace-stats), so the numbers count every request even when unsampled traces are dropped. Each row
// links to that resource's sampled traces in the trace list. Charts are small inline SVGs; names come from
// the traced app and are only ever written with textContent.
// viewer.js calls window.DDServicesPage(helpers) once and drives the returned page.
(function () {
  'use strict';

  var SVG = 'http://www.w3.org/2000/svg';
  var W = 150;
  var H = 34;

  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }

  function formatRate(rps) {
    if (!(rps > 0)) return '0/s';
    if (rps >= 100) return rps.toFixed(0) + '/s';
    if (rps >= 1) return rps.toFixed(1) + '/s';
    return rps.toFixed(2) + '/s';
  }

  function formatPercent(r) {
    if (!(r > 0)) return '0%';
    var p = r * 100;
    return (p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toFixed(2)) + '%';
  }

  // A line (and, with `area`, the surface under it) per series of values; null values break the line, and a
  // value alone between two gaps is drawn as a dot (a single 10 s bucket must still show).
  function chart(kind, lines, max, title) {
    var svg = svgEl('svg', { class: 'chart chart-' + kind, viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, preserveAspectRatio: 'none', role: 'img' });
    var t = svgEl('title', {});
    t.textContent = title;
    svg.appendChild(t);
    svg.appendChild(svgEl('line', { class: 'chart-base', x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5 }));
    var top = max > 0 ? max : 1;
    lines.forEach(function (line) {
      var n = line.values.length;
      var step = n > 1 ? W / (n - 1) : 0;
      var runs = [];
      var run = null;
      line.values.forEach(function (v, i) {
        if (v === null || v === undefined) { run = null; return; }
        if (!run) runs.push(run = []);
        run.push([n > 1 ? i * step : W / 2, H - 2 - (Math.min(v, top) / top) * (H - 4)]);
      });
      var d = '';
      var area = '';
      runs.forEach(function (r) {
        if (r.length === 1) {
          svg.appendChild(svgEl('circle', { class: 'chart-dot ' + line.cls, cx: r[0][0].toFixed(1), cy: r[0][1].toFixed(1), r: 2 }));
          return;
        }
        var seg = r.map(function (p, i) { return (i ? 'L' : 'M') + p[0].toFixed(1) + ' ' + p[1].toFixed(1); }).join('');
        d += seg;
        if (line.area) area += seg + 'L' + r[r.length - 1][0].toFixed(1) + ' ' + H + 'L' + r[0][0].toFixed(1) + ' ' + H + 'Z';
      });
      if (area) svg.insertBefore(svgEl('path', { class: 'chart-area ' + line.cls, d: area }), svg.childNodes[2] || null);
      if (d) svg.appendChild(svgEl('path', { class: 'chart-line ' + line.cls, d: d }));
    });
    return svg;
  }

  function pick(series, key) {
    return series.map(function (p) { return p[key]; });
  }

  function maxOf(values) {
    var m = 0;
    values.forEach(function (v) { if (v !== null && v > m) m = v; });
    return m;
  }

  window.DDServicesPage = function (h) {
    var el = h.el;
    var $ = h.$;
    var loading = false;

    function tracesHref(service, resource) {
      var q = new URLSearchParams();
      q.set('service', service);
      q.set('resource', resource);
      return '#/?' + q.toString();
    }

    function metricCell(cls, value, sub, svg) {
      var td = el('td', cls);
      var top = el('div', 'metric');
      top.appendChild(el('span', 'metric-value', value));
      if (sub) top.appendChild(el('span', 'metric-sub', sub));
      td.appendChild(top);
      if (svg) td.appendChild(svg);
      return td;
    }

    function latencyText(t) {
      if (t.p50 === null) return '—';
      return h.formatDuration(t.p50) + ' · ' + h.formatDuration(t.p95) + ' · ' + h.formatDuration(t.p99);
    }

    function resourceRow(r) {
      var tr = el('tr', 'stats-row' + (r.totals.errors > 0 ? ' has-errors' : ''));
      tr.dataset.href = tracesHref(r.service, r.resource);
      tr.dataset.service = r.service;
      tr.dataset.resource = r.resource;

      var name = el('td', 'c-res');
      var link = el('a', 'stats-link resource', r.resource);
      link.href = tr.dataset.href;
      link.title = 'Sampled traces of ' + r.service + ' · ' + r.resource;
      name.appendChild(link);
      name.appendChild(el('div', 'op', r.names.join(', ') + (r.types.length ? ' · ' + r.types.join(', ') : '')));
      tr.appendChild(name);

      var s = r.series;
      var rps = pick(s, 'rps');
      tr.appendChild(metricCell('c-rps', formatRate(r.totals.rps), r.totals.hits + ' hits',
        chart('rps', [{ values: rps, cls: 's-rps', area: true }], maxOf(rps), 'Requests per second, every 10 s')));

      var errorRates = s.map(function (p) { return p.hits > 0 ? p.errorRate : null; });
      tr.appendChild(metricCell('c-err', formatPercent(r.totals.errorRate), r.totals.errors + ' errors',
        chart('errors', [{ values: errorRates, cls: 's-err', area: true }], Math.max(maxOf(errorRates), 0.05), 'Error rate, every 10 s')));

      var p99 = pick(s, 'p99');
      tr.appendChild(metricCell('c-lat', latencyText(r.totals), 'p50 · p95 · p99',
        chart('latency', [
          { values: p99, cls: 's-p99' },
          { values: pick(s, 'p95'), cls: 's-p95' },
          { values: pick(s, 'p50'), cls: 's-p50' },
        ], maxOf(p99), 'Latency p50, p95 and p99, every 10 s')));

      var go = el('td', 'c-go');
      var traces = el('a', 'traces-link', 'Traces →');
      traces.href = tr.dataset.href;
      go.appendChild(traces);
      tr.appendChild(go);
      return tr;
    }

    function serviceBlock(svc) {
      var box = el('section', 'svc-block');
      box.dataset.service = svc.service;
      var head = el('div', 'svc-head');
      var title = el('h2', 'svc-title');
      title.appendChild(h.serviceDot(svc.service));
      title.appendChild(el('span', '', svc.service));
      head.appendChild(title);
      var facts = el('div', 'svc-facts');
      var t = svc.totals;
      [['Requests', formatRate(t.rps)], ['Errors', formatPercent(t.errorRate)], ['p50', t.p50 === null ? '—' : h.formatDuration(t.p50)],
        ['p95', t.p95 === null ? '—' : h.formatDuration(t.p95)], ['p99', t.p99 === null ? '—' : h.formatDuration(t.p99)]].forEach(function (f) {
        var span = el('span', 'fact');
        span.appendChild(el('span', 'fact-label', f[0]));
        span.appendChild(el('span', 'fact-value', f[1]));
        facts.appendChild(span);
      });
      head.appendChild(facts);
      box.appendChild(head);

      var table = el('table', 'stats-table');
      var thead = el('thead');
      var hr = el('tr');
      ['Resource', 'Requests', 'Error rate', 'Latency', ''].forEach(function (label) { hr.appendChild(el('th', '', label)); });
      thead.appendChild(hr);
      table.appendChild(thead);
      var tbody = el('tbody');
      svc.resources.forEach(function (r) { tbody.appendChild(resourceRow(r)); });
      table.appendChild(tbody);
      box.appendChild(table);
      return box;
    }

    function render(body) {
      var root = $('stats-services');
      var frag = document.createDocumentFragment();
      body.services.forEach(function (svc) { frag.appendChild(serviceBlock(svc)); });
      root.textContent = '';
      root.appendChild(frag);
      $('stats-empty').hidden = body.services.length !== 0;
      var from = new Date(body.from);
      var to = new Date(body.to + body.slotSeconds * 1000);
      $('stats-sub').textContent = 'From the trace stats the tracer sends every 10 seconds (they count every request, sampled or not): ' +
        from.toLocaleTimeString() + ' – ' + to.toLocaleTimeString() + ', one point per ' + body.slotSeconds + ' s.';
    }

    function load() {
      if (loading) return Promise.resolve();
      loading = true;
      var minutes = $('stats-minutes').value;
      return h.getJson('api/trace-stats?minutes=' + encodeURIComponent(minutes)).then(render).catch(h.showError).then(function () {
        loading = false;
      });
    }

    function open(target) {
      if (target.closest && target.closest('a')) return;
      var row = target.closest && target.closest('tr.stats-row');
      if (row) location.hash = row.dataset.href;
    }

    $('stats-services').addEventListener('click', function (e) { open(e.target); });
    $('stats-minutes').addEventListener('change', load);

    return { load: load };
  };
})();
