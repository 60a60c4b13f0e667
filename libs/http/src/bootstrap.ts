import { writeFileSync } from 'node:fs';
import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, getSchemaPath, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoLogger } from 'nestjs-pino';
import type { Request, Response, NextFunction } from 'express';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { ApiErrorDto } from './api-error.dto';
import { refuseUnacceptableInput, verifyUtf8 } from './input-checks';
import { ShutdownCoordinator } from './shutdown';
import { tollgateValidationPipe } from './validation';

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

/** Everything both services set up the same way: body limits, validation, logs, CORS, docs. */
export function configureApp(app: NestExpressApplication, spec: DocsSpec): TollgateConfig {
  const config = app.get<TollgateConfig>(TOLLGATE_CONFIG);
  app.useLogger(app.get(PinoLogger));
  // Nest's typing leaves out `verify` (it is used for rawBody, which is off); passed as it is.
  const json = { limit: config.http.maxBodyBytes, verify: verifyUtf8 };
  app.useBodyParser('json', json);
  app.useBodyParser('urlencoded', { limit: config.http.maxBodyBytes, extended: false });
  app.use(refuseUnacceptableInput);
  app.useGlobalPipes(tollgateValidationPipe());
  app.disable('x-powered-by');
  // no ETag: a SHA-1 of every JSON body (a chat answer is never revalidated) cost ~0.3 % of a loaded gateway
  app.set('etag', false);
  app.set('query parser', 'extended');
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins,
    });
  }
  app.use((req: Request, res: Response, next: NextFunction) => {
    const id = (req as Request & { id?: unknown }).id;
    if (typeof id === 'string') res.setHeader('X-Request-Id', id);
    next();
  });
  app.use(app.get(ShutdownCoordinator).middleware);
  const document = buildOpenApi(app, spec);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return config;
}

/** `node main.js --openapi FILE`: writes the OpenAPI document without connecting to anything. */
async function writeOpenApi(
  module: Parameters<typeof NestFactory.create>[0],
  spec: DocsSpec,
  file: string,
) {
  const app = await NestFactory.create<NestExpressApplication>(module, {
    preview: true,
    logger: false,
  });
  const document = buildOpenApi(app, spec);
  writeFileSync(file, JSON.stringify(document, null, 2) + '\n');
  await app.close();
}

/** Creates, configures and starts one service; logs the warnings of dev defaults. */
export async function startApp(
  module: Parameters<typeof NestFactory.create>[0],
  spec: DocsSpec,
): Promise<NestExpressApplication | null> {
  const flag = process.argv.indexOf('--openapi');
  if (flag > 0 && process.argv[flag + 1]) {
    await writeOpenApi(module, spec, process.argv[flag + 1]);
    return null;
  }
  const app = await NestFactory.create<NestExpressApplication>(module, {
    bufferLogs: true,
    bodyParser: false,
  });
  const config = configureApp(app, spec);
  const logger = new Logger(config.app);
  for (const warning of config.warnings) logger.warn(warning);
  app.get(ShutdownCoordinator).install(app, config.http.shutdownTimeoutMs);
  await app.listen(config.http.port, config.http.host);
  const url = await app.getUrl();
  logger.log(`${config.app} listening on ${url} (docs at ${url}/docs)`);
  return app;
}
