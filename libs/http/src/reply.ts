import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What a route handler or exception filter holds as "the response": Express's response (admin-api),
 * Fastify's reply (team-gateway) or Node's own response (a route that took the socket over). The
 * helpers below are the only places that tell them apart.
 */
export type AnyResponse = ServerResponse | FastifyReplyLike;

/** The part of Fastify's reply used here (no type import from fastify in shared code). */
interface FastifyReplyLike {
  raw: ServerResponse;
  sent: boolean;
  getHeaders(): Record<string, number | string | string[] | undefined>;
  hijack(): unknown;
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload?: unknown): unknown;
}

const isFastifyReply = (res: unknown): res is FastifyReplyLike =>
  typeof (res as { hijack?: unknown }).hijack === 'function' &&
  typeof (res as { raw?: unknown }).raw === 'object';

/** Node's response under any of them. */
export function rawResponse(res: AnyResponse): ServerResponse {
  return isFastifyReply(res) ? res.raw : res;
}

/**
 * Node's response for a route that writes it itself (SSE, `@Res()` routes): on Fastify the reply
 * is hijacked (Fastify sends nothing more) after the headers its hooks set (CORS) are copied onto
 * Node's response, where they go out with whatever the route writes.
 */
export function takeResponse(res: AnyResponse): ServerResponse {
  if (!isFastifyReply(res)) return res;
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (value !== undefined && !res.raw.hasHeader(name)) res.raw.setHeader(name, value);
  }
  res.hijack();
  return res.raw;
}

/**
 * Sends `body` as JSON with `status` and `headers` through whichever response this is; once bytes
 * are on the wire (a stream failed midway), only ends it.
 */
export function sendJson(
  res: AnyResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const raw = rawResponse(res);
  if (raw.headersSent) {
    raw.end();
    return;
  }
  if (isFastifyReply(res) && !res.sent) {
    res.headers(headers).code(status).send(body);
    return;
  }
  const express = raw as ServerResponse & { json?: (body: unknown) => void };
  raw.statusCode = status;
  for (const [name, value] of Object.entries(headers)) raw.setHeader(name, value);
  if (typeof express.json === 'function') return express.json(body);
  const text = JSON.stringify(body);
  raw.setHeader('Content-Type', 'application/json; charset=utf-8');
  raw.setHeader('Content-Length', Buffer.byteLength(text));
  raw.end(text);
}

/** The request's path without its query string (Express's `req.path`). */
export function requestPath(req: Pick<IncomingMessage, 'url'>): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Node's request under Express's or Fastify's. */
export function rawRequest(req: AnyRequest): IncomingMessage {
  return 'raw' in req ? req.raw : req;
}

/** What a route handler holds as "the request" under either adapter. */
export type AnyRequest = IncomingMessage | { raw: IncomingMessage };
