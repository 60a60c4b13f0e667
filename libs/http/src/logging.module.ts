import { randomUUID } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { TollgateConfig } from '@app/config';

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
            genReqId: (req: IncomingMessage) => {
              const given = req.headers['x-request-id'];
              return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given)
                ? given
                : randomUUID();
            },
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
