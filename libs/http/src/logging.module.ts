import { randomUUID } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { Options } from 'pino-http';
import type { TollgateConfig } from '@app/config';

/** The request's id: a sane `X-Request-Id` from the client, or a new UUID (logs and the answer's header). */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * pino-http's settings, the same on both platforms: one `request completed` line per request with
 * its id, method, URL, status and time; auth headers and bodies are never logged.
 */
export function requestLogOptions(config: TollgateConfig): Options {
  return {
    level: config.logLevel,
    base: { service: config.app },
    // on Fastify, the id Fastify gave the request (the same function) is kept
    genReqId: requestIdFor,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-admin-key"]',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
      }),
    },
    autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
  };
}

/**
 * Structured JSON logs with a request id. On Express nestjs-pino's middleware writes the request
 * line; on Fastify no Nest middleware runs (so @fastify/middie stays out of every request):
 * `configureApp` adds the same pino-http logger as a Fastify `onRequest` hook.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: TollgateConfig): DynamicModule {
    const pinoHttp = requestLogOptions(config);
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [HttpAdapterHost],
          useFactory: (host: HttpAdapterHost) =>
            host.httpAdapter?.getType() === 'fastify'
              ? // no routes: nestjs-pino registers no middleware (`useExisting` skips building
                // a pino-http it would not use); its Logger still writes with these options
                { pinoHttp, forRoutes: [], useExisting: true }
              : { pinoHttp },
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
