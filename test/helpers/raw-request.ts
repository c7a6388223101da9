/** A raw HTTP request to a local agent (so that bodies, lengths and headers can be anything). */
import * as http from 'node:http';

/** What came back. */
export interface Answer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** Send `method reqPath` to `url` with `body` and `headers`; resolves with the whole answer. */
export function request(url: string, method: string, reqPath: string, body?: Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(url + reqPath, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
