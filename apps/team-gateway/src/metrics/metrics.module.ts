import { Global, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import type { FastifyInstance } from 'fastify';
import { GatewayMetrics, METRIC_PROVIDERS } from './gateway-metrics';
import { httpMetricsHook } from './http-metrics.hook';
import { MetricsController } from './metrics.controller';

@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', controller: MetricsController })],
  providers: [...METRIC_PROVIDERS, GatewayMetrics],
  exports: [GatewayMetrics],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** The gateway runs on Fastify (`main.ts`); the HTTP metrics are one of its hooks. */
  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') {
      throw new Error('the team-gateway runs on Fastify: its HTTP metrics are a Fastify hook');
    }
    adapter.getInstance<FastifyInstance>().addHook('onRequest', httpMetricsHook(this.metrics));
  }
}
