import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { CACHE_STORE, CacheStore } from '@app/cache';
import { Public } from './public.decorator';

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

  /** Readiness: PostgreSQL and the cache (Redis, or the in-process fallback) answer. */
  @Get('ready')
  @HealthCheck()
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  ready() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 2000 }),
      async () => {
        const indicator = this.indicators.check('cache');
        return (await this.cache.ping())
          ? indicator.up({ kind: this.cache.kind })
          : indicator.down({ kind: this.cache.kind });
      },
    ]);
  }
}
