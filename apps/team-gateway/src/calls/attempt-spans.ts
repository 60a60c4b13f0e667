import type { Attributes, Span } from '@opentelemetry/api';
import type { CallRecord, Settlement } from '@app/billing';
import { tracingApi } from '@app/tracing';
import type { ChatRequest, ProviderTarget } from '../providers/provider.types';
import type { Deployment } from '../routing/resolver';

/** One upstream attempt's span (OpenTelemetry GenAI conventions); none is made while tracing is off. */
export type AttemptSpan = Span;

/** What an attempt span is opened with (a PreparedCall provides it). */
interface AttemptOf {
  principal: { teamId: string };
  jobId: string;
  body: { model: string };
  streamed: boolean;
  operation?: string;
  attempts: unknown[];
}

/** gen_ai.provider.name: the well-known value where there is one, else Tollgate's own name. */
const PROVIDER_NAMES: Record<ProviderTarget['provider'], string> = {
  openai: 'openai',
  'openai-compatible': 'openai-compatible',
  anthropic: 'anthropic',
  'azure-openai': 'azure.ai.openai',
  gemini: 'gcp.gemini',
  bedrock: 'aws.bedrock',
  mock: 'mock',
};

/** gen_ai.operation.name of a call: a chat completion unless its surface says otherwise. */
function operationName(operation: string | undefined): string {
  if (!operation) return 'chat';
  if (operation === 'embeddings') return 'embeddings';
  return operation.startsWith('legacy completions') ? 'text_completion' : operation;
}

/**
 * Opens the span of one upstream attempt, a child of the request's span (the active context).
 * Never anything secret: no key, no prompt, no upstream error text.
 */
export function startAttemptSpan(
  call: AttemptOf,
  deployment: Deployment,
  request: Pick<ChatRequest, 'max_tokens' | 'temperature' | 'top_p'>,
): AttemptSpan | null {
  const otel = tracingApi();
  if (!otel) return null;
  const operation = operationName(call.operation);
  const provider = PROVIDER_NAMES[deployment.provider] ?? deployment.provider;
  const attributes: Attributes = {
    'gen_ai.operation.name': operation,
    'gen_ai.provider.name': provider,
    'gen_ai.system': provider,
    'gen_ai.request.model': deployment.providerModel,
    'gen_ai.request.max_tokens': request.max_tokens,
    'gen_ai.request.temperature': request.temperature,
    'gen_ai.request.top_p': request.top_p,
    'tollgate.team_id': call.principal.teamId,
    'tollgate.job_id': call.jobId,
    'tollgate.model': call.body.model,
    'tollgate.model_name': deployment.modelName,
    'tollgate.deployment_id': deployment.modelId,
    'tollgate.provider': deployment.provider,
    'tollgate.attempt': call.attempts.length + 1,
    'tollgate.streamed': call.streamed,
    ...serverOf(deployment.apiBase),
  };
  return otel.trace
    .getTracer('tollgate-team-gateway')
    .startSpan(`${operation} ${deployment.providerModel}`, {
      kind: otel.SpanKind.CLIENT,
      attributes,
    });
}

/** A failed attempt (the call falls back, or fails): its class, never the upstream's words. */
export function endFailedAttempt(
  span: AttemptSpan | null,
  row: CallRecord,
  upstreamStatus: number | undefined,
): void {
  if (!span) return;
  span.setAttributes({ 'tollgate.status': row.status, 'tollgate.call_id': row.call_id });
  if (upstreamStatus) span.setAttribute('http.response.status_code', upstreamStatus);
  if (row.status === 'error') fail(span, row.error_class ?? 'error');
  span.end();
}

/**
 * The attempt that answered: the model the provider named (a stream's first chunk names it) is
 * noted, and its span stays open until the call is settled (a stream's, once it has ended).
 */
export function answeredBy(span: AttemptSpan, value: unknown): AttemptSpan {
  const answer = value as { model?: unknown; first?: { value?: { model?: unknown } } };
  const model = answer.model ?? answer.first?.value?.model;
  if (typeof model === 'string' && model) span.setAttribute('gen_ai.response.model', model);
  return span;
}

/**
 * Ends the answering attempt's span with the call's usage, cost and credits charged once the
 * settlement is done; a settlement that fails marks it as failed.
 */
export function traceSettlement<T extends Settlement>(
  span: AttemptSpan | undefined,
  row: CallRecord | undefined,
  settling: Promise<T>,
): Promise<T> {
  if (!span || !row) return settling;
  return settling.then(
    (settlement) => {
      endAnswered(span, row, settlement.charged);
      return settlement;
    },
    (err: unknown) => {
      endAnswered(span, row, null);
      throw err;
    },
  );
}

function endAnswered(span: AttemptSpan, row: CallRecord, charged: number | null): void {
  span.setAttributes({
    'gen_ai.usage.input_tokens': row.prompt_tokens,
    'gen_ai.usage.output_tokens': row.completion_tokens,
    'tollgate.status': row.status,
    'tollgate.call_id': row.call_id,
    'tollgate.cost_usd': row.client_cost_usd,
  });
  if (row.cached_tokens)
    span.setAttribute('gen_ai.usage.cache_read.input_tokens', row.cached_tokens);
  if (row.cache_write_tokens) {
    span.setAttribute('gen_ai.usage.cache_creation.input_tokens', row.cache_write_tokens);
  }
  if (row.finish_reason) span.setAttribute('gen_ai.response.finish_reasons', [row.finish_reason]);
  if (charged === null) fail(span, 'settlement_failed');
  else span.setAttribute('tollgate.cost_credits', charged);
  if (row.status === 'error') fail(span, row.error_class ?? 'error');
  span.end();
}

function fail(span: AttemptSpan, errorType: string): void {
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: tracingApi()?.SpanStatusCode.ERROR ?? 2, message: errorType });
}

/** server.address and server.port of a deployment's api_base (no path, no credentials). */
function serverOf(apiBase: string | null): Attributes {
  if (!apiBase) return {};
  try {
    const url = new URL(apiBase);
    const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
    return { 'server.address': url.hostname, 'server.port': port };
  } catch {
    return {};
  }
}
