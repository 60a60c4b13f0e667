import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { renderError, requestIdOf } from '@app/http';
import { isAnthropicPath, writeAnthropicError } from '../anthropic/anthropic-error';
import { isOpenAiPath, paramOf, toOpenAiError } from './openai-error';

/** The gateway's one filter: `{detail, code}` on /api, OpenAI's `{error:{…}}` under /v1. */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    // before routing (malformed JSON, too large, no such route): /v1/messages speaks Anthropic's shape
    if (isAnthropicPath(req.path)) return writeAnthropicError(exception, req, res, this.logger);
    const err = renderError(exception, this.logger, requestIdOf(req));
    if (res.headersSent) {
      res.end();
      return;
    }
    res.set(err.headers).status(err.status);
    if (isOpenAiPath(req.path)) {
      res.json(toOpenAiError(err.code, err.detail, paramOf(exception, err.code)));
    } else res.json({ ...err.body, detail: err.detail, code: err.code });
  }
}
