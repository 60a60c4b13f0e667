import type * as OtelApi from '@opentelemetry/api';
import type { TracingSdk } from './sdk';

/** The running SDK and the API it registered; both null while tracing is off. */
let sdk: TracingSdk | null = null;
let api: typeof OtelApi | null = null;

/**
 * Whether the environment asks for traces: an OTLP endpoint (or an explicit trace exporter such
 * as `console`), unless the OpenTelemetry SDK is disabled or the trace exporter is `none`.
 */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || exporter === 'none') return false;
  return Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ||
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    exporter,
  );
}

/**
 * Starts OpenTelemetry tracing (the official Node SDK, configured by the OTEL_* variables) when
 * the environment asks for it; otherwise loads nothing. Runs before Nest and Express are loaded
 * (the first import of each main.ts), so it reads the environment itself, before the config.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk) return true;
  if (!tracingWanted(env)) return false;
  // Required here, not imported: with tracing off the SDK is never loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require('./sdk') as typeof import('./sdk');
  sdk = loaded.startSdk(serviceName, env);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  api = require('@opentelemetry/api') as typeof OtelApi;
  return true;
}

/** The OpenTelemetry API once tracing runs; null while it is off (callers skip their spans). */
export function tracingApi(): typeof OtelApi | null {
  return api;
}

/** Exports the spans still buffered and stops the SDK (at shutdown); gives up after `timeoutMs`. */
export async function stopTracing(timeoutMs = 5000): Promise<void> {
  const running = sdk;
  if (!running) return;
  sdk = null;
  api = null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([running.shutdown().catch(() => undefined), timeout]);
  clearTimeout(timer);
}
