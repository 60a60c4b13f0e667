import { Injectable } from '@nestjs/common';
import {
  InjectMetric,
  makeCounterProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';

const HTTP_DURATION = 'tollgate_http_request_duration_seconds';
const UPSTREAM_DURATION = 'tollgate_upstream_request_duration_seconds';
const TOKENS = 'tollgate_llm_tokens_total';
const CREDITS = 'tollgate_credits_charged_total';
const CALLS = 'tollgate_llm_calls_total';
const METERED = 'tollgate_metered_calls_total';
const BACKGROUND = 'tollgate_background_db_statements_total';

export const METRIC_PROVIDERS = [
  makeHistogramProvider({
    name: HTTP_DURATION,
    help: 'Gateway HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  makeHistogramProvider({
    name: UPSTREAM_DURATION,
    help: 'Upstream provider request duration by provider and outcome',
    labelNames: ['provider', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  }),
  makeCounterProvider({ name: TOKENS, help: 'Tokens metered', labelNames: ['model', 'kind'] }),
  makeCounterProvider({ name: CREDITS, help: 'Credits charged', labelNames: ['budget_mode'] }),
  makeCounterProvider({ name: CALLS, help: 'LLM call attempts', labelNames: ['model', 'status'] }),
  makeCounterProvider({
    name: METERED,
    help: 'Calls settled, by how their credits were reserved (lease: in memory; exact: in PostgreSQL)',
    labelNames: ['path'],
  }),
  makeCounterProvider({
    name: BACKGROUND,
    help: 'PostgreSQL statements off the request path (journal batches, lease grants and renewals)',
    labelNames: ['kind'],
  }),
];

/** The gateway's Prometheus instruments, in one place. */
@Injectable()
export class GatewayMetrics {
  constructor(
    @InjectMetric(HTTP_DURATION) readonly httpDuration: Histogram<string>,
    @InjectMetric(UPSTREAM_DURATION) readonly upstreamDuration: Histogram<string>,
    @InjectMetric(TOKENS) private readonly tokens: Counter<string>,
    @InjectMetric(CREDITS) private readonly credits: Counter<string>,
    @InjectMetric(CALLS) private readonly calls: Counter<string>,
    @InjectMetric(METERED) private readonly metered: Counter<string>,
    @InjectMetric(BACKGROUND) private readonly background: Counter<string>,
  ) {}

  recordMetering(path: 'lease' | 'exact'): void {
    this.metered.inc({ path });
  }

  recordBackgroundStatement(kind: 'journal' | 'lease'): void {
    this.background.inc({ kind });
  }

  recordCall(model: string, status: string, promptTokens: number, completionTokens: number): void {
    this.calls.inc({ model, status });
    if (promptTokens > 0) this.tokens.inc({ model, kind: 'prompt' }, promptTokens);
    if (completionTokens > 0) this.tokens.inc({ model, kind: 'completion' }, completionTokens);
  }

  recordUpstream(provider: string, outcome: string, seconds: number): void {
    this.upstreamDuration.observe({ provider, outcome }, seconds);
  }

  recordCredits(budgetMode: string, credits: number): void {
    if (credits > 0) this.credits.inc({ budget_mode: budgetMode }, credits);
  }
}
