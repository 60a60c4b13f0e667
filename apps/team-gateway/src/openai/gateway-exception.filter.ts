import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AnyResponse, renderError, requestIdOf, requestPath, sendJson } from '@app/http';
import { isAnthropicPath, writeAnthropicError } from '../anthropic/anthropic-error';
import { isOpenAiPath, paramOf, toOpenAiError } from './openai-error';

/** The gateway's one filter: `{detail, code}` on /api, OpenAI's `{error:{…}}` under /v1. */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<AnyResponse>();
    const req = ctx.getRequest<IncomingMessage>();
    const path = requestPath(req);
    // before routing (malformed JSON, too large, no such route): /v1/messages speaks Anthropic's shape
    if (isAnthropicPath(path)) return writeAnthropicError(exception, req, res, this.logger);
    const err = renderError(exception, this.logger, requestIdOf(req));
    const body = isOpenAiPath(path)
      ? toOpenAiError(err.code, err.detail, paramOf(exception, err.code))
      : Object.assign({}, err.body, { detail: err.detail, code: err.code });
    sendJson(res, err.status, body, err.headers);
  }
}
