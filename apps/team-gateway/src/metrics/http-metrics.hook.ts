import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { GatewayMetrics } from './gateway-metrics';

/**
 * Observes every request once its response has closed (streams, refusals by the auth guard and
 * unmatched paths included; route 'unmatched' when no route took it). A Fastify `onRequest` hook:
 * neither a Nest interceptor (Nest would run its per-request rxjs pipeline, ~3 % of a loaded
 * gateway's CPU) nor a Nest middleware (which needs @fastify/middie on every request).
 */
export function httpMetricsHook(metrics: GatewayMetrics) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const stop = metrics.httpDuration.startTimer({ method: request.method });
    reply.raw.once('close', () => {
      const path = request.routeOptions.url;
      // no route, or the catch-all that answers 404 for paths no controller has
      const route = path && !path.includes('*') ? path : 'unmatched';
      stop({ route, status: String(reply.raw.statusCode) });
    });
    done();
  };
}
