import type { IncomingMessage } from 'node:http';
import type { Span } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

export type TracingSdk = Pick<NodeSDK, 'shutdown'>;

/** Query parameters never written into a span (the SDK's own list is for signed cloud URLs). */
const SECRET_QUERY_PARAMS = [
  'key',
  'api_key',
  'api-key',
  'apikey',
  'token',
  'access_token',
  'sig',
  'signature',
  'Signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Goog-Signature',
  'AWSAccessKeyId',
];

/** Probes and scrapes would drown the traces that matter. */
const UNTRACED = /^\/(health|metrics)(\/|\?|$)/;

/**
 * The OpenTelemetry Node SDK: a server span per incoming request (named by its route, with its
 * status) from the HTTP instrumentation, the exporters, sampler, propagators and resource from the
 * OTEL_* variables. Traces only: metrics stay on /metrics unless OTEL_METRICS_EXPORTER asks.
 */
export function startSdk(serviceName: string, env: NodeJS.ProcessEnv): TracingSdk {
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || serviceName,
    instrumentations: [
      new HttpInstrumentation({
        disableOutgoingRequestInstrumentation: true,
        ignoreIncomingRequestHook: (req) => UNTRACED.test(req.url ?? ''),
        redactedQueryParamsServer: SECRET_QUERY_PARAMS,
        applyCustomAttributesOnSpan: (span, request) => nameByRoute(span, request),
      }),
    ],
    ...(env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  return sdk;
}

/** Express's matched route (`/v1/chat/completions`, `/api/teams/:team_id`) names the server span. */
function nameByRoute(span: Span, request: unknown): void {
  const req = request as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };
  const path = req.route?.path;
  if (typeof path !== 'string') return;
  const route = `${req.baseUrl ?? ''}${path}`;
  span.setAttribute('http.route', route);
  span.updateName(`${req.method ?? 'GET'} ${route}`);
}
