/**
 * `node app.js express|fastify PORT`: a minimal Nest service shaped like the gateway's hot route —
 * a guard on the bearer key, one interceptor, a class-validator body (NOVALID=1 leaves the
 * ValidationPipe out), a small JSON answer — for bench/framework/run.js. Plain JS with the
 * decorators applied by hand, so it runs without a build.
 */
'use strict';
require('reflect-metadata');
const {
  Module,
  Controller,
  Post,
  Get,
  Body,
  Injectable,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
} = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { IsString, IsArray, IsOptional, IsNumber, ValidateNested } = require('class-validator');
const { Type } = require('class-transformer');
const { tap } = require('rxjs');
class Msg {}
IsString()(Msg.prototype, 'role');
IsString()(Msg.prototype, 'content');
class Dto {}
IsString()(Dto.prototype, 'model');
IsArray()(Dto.prototype, 'messages');
ValidateNested({ each: true })(Dto.prototype, 'messages');
Type(() => Msg)(Dto.prototype, 'messages');
IsOptional()(Dto.prototype, 'max_tokens');
IsNumber()(Dto.prototype, 'max_tokens');
class Guard {
  canActivate(ctx) {
    const r = ctx.switchToHttp().getRequest();
    return r.headers.authorization === 'Bearer k';
  }
}
class Timing {
  intercept(ctx, next) {
    const t = Date.now();
    return next.handle().pipe(tap(() => Date.now() - t));
  }
}
class C {
  health() {
    return { status: 'ok' };
  }
  chat(body) {
    return {
      id: 'x',
      object: 'chat.completion',
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    };
  }
}
Controller()(C);
Reflect.decorate(
  [Get('health')],
  C.prototype,
  'health',
  Object.getOwnPropertyDescriptor(C.prototype, 'health'),
);
Reflect.decorate(
  [Post('v1/chat/completions'), UseGuards(Guard), UseInterceptors(Timing)],
  C.prototype,
  'chat',
  Object.getOwnPropertyDescriptor(C.prototype, 'chat'),
);
Body()(C.prototype, 'chat', 0);
Reflect.defineMetadata('design:paramtypes', [Dto], C.prototype, 'chat');
class M {}
Module({ controllers: [C] })(M);
(async () => {
  const kind = process.argv[2];
  let app;
  if (kind === 'fastify') {
    const { FastifyAdapter } = require('@nestjs/platform-fastify');
    app = await NestFactory.create(M, new FastifyAdapter(), { logger: false });
  } else app = await NestFactory.create(M, { logger: false });
  if (!process.env.NOVALID)
    app.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true }));
  await app.listen(+process.argv[3], '127.0.0.1');
  process.send?.('ready');
})();
