import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { parse as parseForm } from 'node:querystring';
import { INestApplication, Logger, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, getSchemaPath, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoLogger } from 'nestjs-pino';
import { storage, Store } from 'nestjs-pino/storage';
import { pinoHttp } from 'pino-http';
import * as qs from 'qs';
import type { Request, Response, NextFunction } from 'express';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { ApiErrorDto } from './api-error.dto';
import { parseJsonBody, refuseUnacceptableInput, verifyUtf8 } from './input-checks';
import { requestIdFor, requestLogOptions } from './logging.module';
import { ShutdownCoordinator } from './shutdown';
import { tollgateValidationPipe } from './validation';

/**
 * The HTTP framework under Nest: the admin-api stays on Express (it serves the console through
 * @nestjs/serve-static); the team-gateway runs on Fastify (about twice the requests per second
 * of Express for the same validated route, `npm run bench:framework`).
 */
export type HttpPlatform = 'express' | 'fastify';

export interface DocsSpec {
  title: string;
  description: string;
  security: (builder: DocumentBuilder) => DocumentBuilder;
}

export function buildOpenApi(app: INestApplication, spec: DocsSpec): OpenAPIObject {
  const builder = spec.security(
    new DocumentBuilder().setTitle(spec.title).setDescription(spec.description).setVersion('1.0'),
  );
  const document = SwaggerModule.createDocument(app, builder.build(), {
    extraModels: [ApiErrorDto],
  });
  documentErrorBodies(document);
  return document;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

/** Every error response under /api gets the `{detail, code}` schema, without repeating it per route. */
function documentErrorBodies(document: OpenAPIObject): void {
  const schema = { $ref: getSchemaPath(ApiErrorDto) };
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/')) continue; // /v1 answers errors in OpenAI's shape
    for (const method of METHODS) {
      for (const [status, response] of Object.entries(item[method]?.responses ?? {})) {
        if (Number(status) < 400 || !response || '$ref' in response || response.content) continue;
        response.content = { 'application/json': { schema } };
      }
    }
  }
}

/** A Nest app on `platform`, with no body parser yet (`configureApp` adds Tollgate's). */
export async function createApp(
  module: Parameters<typeof NestFactory.create>[0],
  platform: HttpPlatform,
  options: NestApplicationOptions = {},
): Promise<INestApplication> {
  if (platform === 'express') {
    return NestFactory.create<NestExpressApplication>(
      module,
      Object.assign({}, options, { bodyParser: false }),
    );
  }
  const adapter = new FastifyAdapter({
    // no Nest middleware on Fastify (the request log and the metrics are hooks): no middie
    skipMiddie: true,
    genReqId: requestIdFor, // X-Request-Id honoured, as pino-http did on Express
    // Express's defaults: no length limit on a path parameter, routes matched case-insensitively
    // and with or without a trailing slash, queries parsed by qs as Express's 'extended' parser
    routerOptions: {
      maxParamLength: 2048,
      caseSensitive: false,
      ignoreTrailingSlash: true,
      querystringParser: (query: string) => qs.parse(query, { allowPrototypes: true }),
    },
  });
  return NestFactory.create<NestFastifyApplication>(
    module,
    adapter,
    Object.assign({}, options, { bodyParser: false }),
  );
}

export const platformOf = (app: INestApplication): HttpPlatform =>
  app.getHttpAdapter().getType() === 'fastify' ? 'fastify' : 'express';

/** Everything both services set up the same way: body limits, validation, logs, CORS, docs. */
export function configureApp(app: INestApplication, spec: DocsSpec): TollgateConfig {
  const config = app.get<TollgateConfig>(TOLLGATE_CONFIG);
  app.useLogger(app.get(PinoLogger));
  if (platformOf(app) === 'fastify') configureFastify(app as NestFastifyApplication, config);
  else configureExpress(app as NestExpressApplication, config);
  app.useGlobalPipes(tollgateValidationPipe());
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins,
    });
  }
  const document = buildOpenApi(app, spec);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return config;
}

function configureExpress(app: NestExpressApplication, config: TollgateConfig): void {
  // Nest's typing leaves out `verify` (it is used for rawBody, which is off); passed as it is.
  const json = { limit: config.http.maxBodyBytes, verify: verifyUtf8 };
  app.useBodyParser('json', json);
  app.useBodyParser('urlencoded', { limit: config.http.maxBodyBytes, extended: false });
  app.use(refuseUnacceptableInput);
  app.disable('x-powered-by');
  // no ETag: a SHA-1 of every JSON body (a chat answer is never revalidated) cost ~0.3 % of a loaded gateway
  app.set('etag', false);
  app.set('query parser', 'extended');
  app.use((req: Request, res: Response, next: NextFunction) => {
    const id = (req as Request & { id?: unknown }).id;
    if (typeof id === 'string') res.setHeader('X-Request-Id', id);
    next();
  });
  app.use(app.get(ShutdownCoordinator).middleware);
}

/**
 * The same behaviour on Fastify, as hooks rather than middleware: JSON and form bodies read as
 * Express's body-parser did (limit → 413, not UTF-8 → 400, malformed → 400), other content types
 * left unread as Express left them; the input checks before guards (`preValidation`); the request
 * id, the matched route (for metrics and trace names, where Express keeps it: `req.route.path`)
 * and the shutdown count on Node's request and response; then the request log (pino-http, the
 * same line as on Express) and, with LOG_REQUEST_CONTEXT=on, the request's logger as
 * nestjs-pino's context for the Nest `Logger` calls made while serving it. Hooks, not Nest
 * middleware: with none, @fastify/middie is never registered (`createApp` passes `skipMiddie`).
 * Fastify sends neither `X-Powered-By` nor an ETag.
 */
function configureFastify(app: NestFastifyApplication, config: TollgateConfig): void {
  const fastify = app.getHttpAdapter().getInstance();
  const bodyLimit = config.http.maxBodyBytes;
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit },
    (_req, body: Buffer, done) => {
      let parsed: unknown;
      try {
        parsed = parseJsonBody(body);
      } catch (err) {
        return done(err as Error, undefined);
      }
      done(null, parsed);
    },
  );
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit },
    (_req, body: string, done) => done(null, { ...parseForm(body) }),
  );
  fastify.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const shutdown = app.get(ShutdownCoordinator);
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw as IncomingMessage & { route?: { path: string } };
    const route = request.routeOptions.url;
    if (route !== undefined) raw.route = { path: route };
    reply.raw.setHeader('X-Request-Id', request.id);
    shutdown.middleware(raw, reply.raw, done);
  });
  const requestLog = pinoHttp(requestLogOptions(config));
  // pino-http writes its one line per request at `info`: above that level (LOG_LEVEL=warn) it
  // would still build a child logger per request (~9 µs and ~2 KB, measured) for nothing
  const logsRequests = requestLog.logger.isLevelEnabled('info');
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw as IncomingMessage & { id?: string; log?: Store['logger'] };
    raw.id = request.id; // pino-http logs it as it is
    if (logsRequests || config.logRequestContext) requestLog(raw, reply.raw);
    // what nestjs-pino's own middleware does: the request's logger for the Nest Logger calls
    // (LOG_REQUEST_CONTEXT=on; off by default: AsyncLocalStorage's promise hooks cost ~60 µs
    // of CPU per proxied call on Node 20, see docs/performance-profile.md)
    if (config.logRequestContext) storage.run(new Store(raw.log), done);
    else done();
  });
  fastify.addHook('preValidation', (request, reply, done) =>
    refuseUnacceptableInput(request, reply, done),
  );
}

/** `node main.js --openapi FILE`: writes the OpenAPI document without connecting to anything. */
async function writeOpenApi(
  module: Parameters<typeof NestFactory.create>[0],
  spec: DocsSpec,
  platform: HttpPlatform,
  file: string,
) {
  const app = await createApp(module, platform, { preview: true, logger: false });
  const document = buildOpenApi(app, spec);
  writeFileSync(file, JSON.stringify(document, null, 2) + '\n');
  await app.close();
}

/** Creates, configures and starts one service; logs the warnings of dev defaults. */
export async function startApp(
  module: Parameters<typeof NestFactory.create>[0],
  spec: DocsSpec,
  platform: HttpPlatform,
): Promise<INestApplication | null> {
  const flag = process.argv.indexOf('--openapi');
  if (flag > 0 && process.argv[flag + 1]) {
    await writeOpenApi(module, spec, platform, process.argv[flag + 1]);
    return null;
  }
  const app = await createApp(module, platform, { bufferLogs: true });
  const config = configureApp(app, spec);
  const logger = new Logger(config.app);
  for (const warning of config.warnings) logger.warn(warning);
  app.get(ShutdownCoordinator).install(app, config.http.shutdownTimeoutMs);
  await app.listen(config.http.port, config.http.host);
  const url = await app.getUrl();
  logger.log(`${config.app} listening on ${url} (docs at ${url}/docs)`);
  return app;
}
