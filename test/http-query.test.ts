/**
 * The pure parts of the http integration: query-string redaction, client URLs, and the API frameworks use
 * to refine the server span. Everything that talks to sockets is in the http-server/http-client tests.
 */
import * as assert from 'node:assert/strict';
import { DEFAULT_QUERY_POLICY, queryPolicyOf, redactTarget, stripQuery, REDACTED } from '../integrations/http/query';
import { clientUrl } from '../integrations/http/client-span';
import { refineWebSpan, webSpanOf, WEB_SPAN } from '../integrations/http/web';
import { captureTracer } from './helpers/capture';
import { resetLogState, setLogSink } from '../lib/log';
import { resolveConfig } from '../lib/config';

describe('http: query strings on http.url', () => {
  const cases: Array<[string, string]> = [
    ['/a', '/a'],
    ['/a?', '/a?'],
    ['/a?flag', '/a?flag'],
    ['/a?q=books&page=2', '/a?q=books&page=2'],
    ['/login?password=hunter2', `/login?${REDACTED}`],
    ['/x?passwd=1&pwd=2&pass=3', `/x?${REDACTED}&${REDACTED}&${REDACTED}`],
    ['/x?token=t&access_token=u&q=1', `/x?${REDACTED}&${REDACTED}&q=1`],
    ['/x?api_key=k&apikey=k2&key=k3', `/x?${REDACTED}&${REDACTED}&${REDACTED}`],
    ['/x?client_secret=s&auth=a&Authorization=b', `/x?${REDACTED}&${REDACTED}&${REDACTED}`],
    ['/x?session_id=s&PHPSESSID=p&credentials=c', `/x?${REDACTED}&${REDACTED}&${REDACTED}`],
    ['/x?X-Amz-Signature=abc&sig=d&q=e', `/x?${REDACTED}&${REDACTED}&q=e`],
    // Encoded names are compared decoded.
    ['/x?api%5Fkey=k&pass%77ord=p', `/x?${REDACTED}&${REDACTED}`],
    // Secret-shaped values under harmless names.
    ['/x?v=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', `/x?v=${REDACTED}`],
    ['/x?h=Bearer%20abcdef', `/x?h=${REDACTED}`],
    // Empty values and repeated separators survive unchanged in shape.
    ['/x?token=&&q=1', `/x?${REDACTED}&&q=1`],
    ['/x?a=1&token', '/x?a=1&token'],
    // Malformed escapes do not throw.
    ['/x?%E0%A4%A=1&password=2', `/x?%E0%A4%A=1&${REDACTED}`],
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => {
      assert.equal(redactTarget(input), expected);
    });
  }

  it('returns the same string (no copy) when there is nothing to hide', () => {
    const target = '/search?q=books&page=2';
    assert.equal(redactTarget(target), target);
    const noQuery = '/plain/path';
    assert.equal(redactTarget(noQuery), noQuery);
  });

  it('DD_HTTP_SERVER_TAG_QUERY_STRING=false drops the query', () => {
    const policy = queryPolicyOf(resolveConfig({}, { DD_HTTP_SERVER_TAG_QUERY_STRING: 'false' }));
    assert.equal(redactTarget('/a?q=1&token=2', policy), '/a');
  });

  it('DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP replaces each match; empty turns redaction off', () => {
    const custom = queryPolicyOf(resolveConfig({}, { DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: 'card=\\d+' }));
    assert.equal(redactTarget('/pay?card=4111&token=x', custom), `/pay?${REDACTED}&token=x`);
    // Stateful global regexps must not carry lastIndex from one call to the next.
    assert.equal(redactTarget('/pay?card=4111', custom), `/pay?${REDACTED}`);
    const off = queryPolicyOf(resolveConfig({}, { DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: '' }));
    assert.equal(redactTarget('/a?password=1', off), '/a?password=1');
  });

  it('an invalid DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP warns once, naming it, and keeps the built-in rules', () => {
    const lines: string[] = [];
    resetLogState();
    const previous = setLogSink((line) => lines.push(line));
    try {
      const policy = queryPolicyOf(resolveConfig({}, { DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: '([' }));
      queryPolicyOf(resolveConfig({}, { DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: '([' }));
      assert.equal(policy, DEFAULT_QUERY_POLICY);
      assert.equal(redactTarget('/a?password=1', policy), `/a?${REDACTED}`);
    } finally {
      setLogSink(previous);
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0], /DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP/);
  });

  it('stripQuery keeps everything before the ?', () => {
    assert.equal(stripQuery('/a/b?c=d'), '/a/b');
    assert.equal(stripQuery('/a/b'), '/a/b');
  });
});

describe('http: client http.url', () => {
  it('omits default ports and the query, keeps other ports', () => {
    assert.equal(clientUrl({ method: 'GET', protocol: 'http:', host: 'example.com', port: 80, path: '/a?b=c' }), 'http://example.com/a');
    assert.equal(clientUrl({ method: 'GET', protocol: 'https:', host: 'example.com', port: 443, path: '/' }), 'https://example.com/');
    assert.equal(clientUrl({ method: 'GET', protocol: 'http:', host: '127.0.0.1', port: 8080, path: '/x' }), 'http://127.0.0.1:8080/x');
    assert.equal(clientUrl({ method: 'GET', protocol: 'https:', host: 'example.com', port: 80, path: '/x' }), 'https://example.com:80/x');
  });

  it('brackets IPv6 hosts, and takes a proxy request\'s absolute path as the URL', () => {
    assert.equal(clientUrl({ method: 'GET', protocol: 'http:', host: '::1', port: 3000, path: '/x' }), 'http://[::1]:3000/x');
    assert.equal(
      clientUrl({ method: 'GET', protocol: 'http:', host: 'proxy', port: 3128, path: 'http://target.example/y?z=1' }),
      'http://target.example/y',
    );
  });

  it('a Unix-socket request has no port', () => {
    assert.equal(clientUrl({ method: 'GET', protocol: 'http:', host: 'localhost', port: undefined, path: '/v1' }), 'http://localhost/v1');
  });
});

describe('http: the server-span API for frameworks', () => {
  it('webSpanOf finds the span under the shared symbol; refineWebSpan renames, tags the route and the resource', () => {
    const { tracer, exporter } = captureTracer();
    const span = tracer.startSpan('web.request', { type: 'web', resource: 'GET' });
    span.setTag('http.method', 'GET');
    span.setTag('component', 'http');
    const req: Record<PropertyKey, unknown> = {};
    assert.equal(webSpanOf(req), undefined);
    assert.equal(webSpanOf(null), undefined);
    req[WEB_SPAN] = span;
    assert.equal(WEB_SPAN, Symbol.for('ddtrace-run.http.web-span'));
    assert.equal(webSpanOf(req), span);

    assert.equal(refineWebSpan(req, { name: 'express.request', component: 'express', route: '/users/:id' }), span);
    span.finish();
    const out = exporter.one('express.request');
    assert.equal(out.resource, 'GET /users/:id');
    assert.equal(out.meta['http.route'], '/users/:id');
    assert.equal(out.meta.component, 'express');
  });

  it('an explicit resource wins; a request without a span is left alone', () => {
    const { tracer } = captureTracer();
    const span = tracer.startSpan('web.request');
    span.setTag('http.method', 'POST');
    const req = { [WEB_SPAN]: span };
    refineWebSpan(req, { route: '/a', resource: 'custom' });
    assert.equal(span.resource, 'custom');
    assert.equal(span.meta['http.route'], '/a');
    assert.equal(refineWebSpan({}, { route: '/b' }), undefined);
  });
});
