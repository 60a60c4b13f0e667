import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Global, Injectable, Logger, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { stopTracing } from '@app/tracing';

/**
 * Graceful shutdown: on SIGTERM stop accepting connections, let in-flight requests (streams
 * included) finish up to a deadline, then fire `deadline` so long streams abort and settle their
 * billing, then close the app (pools, Redis), export the last spans and exit 0.
 */
@Injectable()
export class ShutdownCoordinator {
  private readonly logger = new Logger('Shutdown');
  private inFlight = 0;
  /** Requests received since the process started (tells a quiet spell from a busy one). */
  private received = 0;
  private readonly idle: Array<() => void> = [];
  private readonly deadlineController = new AbortController();
  private draining = false;

  /** Fires when the drain deadline passes: long-running work should stop and settle now. */
  get deadline(): AbortSignal {
    return this.deadlineController.signal;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Counts a request in flight until its response closes (Node's response: either adapter). */
  readonly middleware = (_req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (this.draining) res.setHeader('Connection', 'close');
    this.inFlight++;
    this.received++;
    res.once('close', () => {
      this.inFlight--;
      if (this.inFlight === 0) this.idle.splice(0).forEach((resolve) => resolve());
    });
    next();
  };

  /** How many requests were received so far: unchanged over a spell = no request in it. */
  get requestsReceived(): number {
    return this.received;
  }

  /** Runs `fn` once no request is in flight (at once when none is). */
  onIdle(fn: () => void): void {
    if (this.inFlight === 0) fn();
    else this.idle.push(fn);
  }

  install(app: INestApplication, timeoutMs: number): void {
    const onSignal = (signal: string) => {
      void this.shutdown(app, timeoutMs, signal).then(
        () => process.exit(0),
        (err: unknown) => {
          this.logger.error(err instanceof Error ? err.message : String(err));
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  async shutdown(app: INestApplication, timeoutMs: number, signal = 'SIGTERM'): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const server = app.getHttpServer() as Server;
    this.logger.log(
      `${signal}: no longer accepting connections; ${this.inFlight} request(s) in flight`,
    );
    server.close();
    server.closeIdleConnections();
    if (this.inFlight > 0 && !(await this.waitIdle(timeoutMs))) {
      this.logger.warn(`Deadline of ${timeoutMs} ms reached: aborting ${this.inFlight} request(s)`);
      this.deadlineController.abort();
      await this.waitIdle(5000);
    }
    await app.close();
    await stopTracing(); // the last requests' spans are exported before the process exits
    this.logger.log('Shut down cleanly');
  }

  private waitIdle(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** One coordinator per app, injectable where long-running work must honour the deadline. */
@Global()
@Module({ providers: [ShutdownCoordinator], exports: [ShutdownCoordinator] })
export class ShutdownModule {}
