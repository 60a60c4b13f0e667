import { randomUUID } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { TollgateConfig } from '@app/config';

/** The request's id: a sane `X-Request-Id` from the client, or a new UUID (logs and the answer's header). */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

/** Structured JSON logs with a request id; auth headers and bodies are never logged. */
@Module({})
export class LoggingModule {
  static forRoot(config: TollgateConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
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
          },
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
