import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { CACHE_STORE, CacheStore } from '@app/cache';
import { TollgateError } from './errors';
import { Public } from '@app/auth';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(CACHE_STORE) private readonly cache: CacheStore,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @ApiOkResponse({ schema: { example: { status: 'healthy' } } })
  live() {
    return { status: 'healthy' };
  }

  /** Readiness: PostgreSQL and the cache (`redis` or in-process `cache`); else 503 naming what is down. */
  @Get('ready')
  @HealthCheck()
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  async ready(): Promise<HealthCheckResult> {
    const cache = this.cache.kind === 'redis' ? 'redis' : 'cache';
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: 2000 }),
        async () => {
          const indicator = this.indicators.check(cache);
          return (await this.cache.ping()) ? indicator.up() : indicator.down();
        },
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {});
      throw new TollgateError(
        down.includes('database') ? 'DATABASE_UNAVAILABLE' : 'CACHE_UNAVAILABLE',
        `Not ready: ${down.join(' and ')} down`,
        { 'Retry-After': '2' },
        { ...result },
      );
    }
  }
}
