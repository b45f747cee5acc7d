import http from 'node:http';
import https from 'node:https';

/**
 * A Response whose body is already a string. Node's Response reads a body
 * through web streams, which costs several times more CPU than the request
 * itself; the OpenAI client only calls json() and text() on it.
 */
function textResponse(text: string, init: ResponseInit): Response {
  return Object.defineProperties(new Response(null, init), {
    text: { value: async () => text },
    json: { value: async () => JSON.parse(text) },
  });
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const record: Record<string, string> = {};
  if (headers instanceof Headers) headers.forEach((value, name) => (record[name] = value));
  else if (headers) new Headers(headers).forEach((value, name) => (record[name] = value));
  return record;
}

/**
 * A `fetch` for the OpenAI client over node:http with a keep-alive socket pool
 * of `maxSockets` per host, sized to the endpoint's concurrency rather than
 * left to a default. Node's built-in fetch costs several times more CPU per
 * request than node:http, which matters at thousands of turns a second.
 * Bodies are read whole: fine for completions, not for streaming.
 */
export function keepAliveFetch(maxSockets: number): { fetch: typeof fetch; close(): void } {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets }),
    'https:': new https.Agent({ keepAlive: true, maxSockets }),
  };
  const request = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new TypeError(`cannot fetch ${url.href}: only http: and https: are supported`));
    const body = init.body;
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      return Promise.reject(new TypeError('keepAliveFetch sends only string or byte bodies'));
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const options = { method: init.method ?? 'GET', agent: agents[url.protocol as 'http:' | 'https:'], headers: headerRecord(init.headers), signal: init.signal ?? undefined };
      const req = transport.request(url, options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' }));
        });
        res.on('end', () => {
          const headers = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          resolve(textResponse(text, { status: res.statusCode ?? 502, statusText: res.statusMessage, headers }));
        });
      });
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  };
  return {
    fetch: request as typeof fetch,
    close: () => {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
