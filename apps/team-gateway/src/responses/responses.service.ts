import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TeamPrincipal } from '@app/auth';
import { TollgateError } from '@app/http';
import { CallBody, CallsService } from '../calls/calls.service';

import { InvalidParamError } from '../openai/openai-error';
import { jobIdOf } from '../openai/openai.service';
import { RoutingService } from '../routing/routing.service';
import { StreamCallService } from '../streaming/stream-call.service';
import type { ResponsesBody } from './responses-body';
import { ResponsesEncoder } from './responses-stream.encoder';
import {
  responseId,
  toCallBody,
  toOneCallJob,
  toResponse,
  withPublicModel,
} from './responses.mapper';

/**
 * OpenAI's Responses API over the one call pipeline: each request joins the open job named by
 * `X-Job-Id` or runs as a one-call job of type `responses`. OpenAI deployments get the client's
 * body as is (the adapter's pass-through); others get it translated through chat completions.
 */
@Injectable()
export class ResponsesService {
  constructor(
    private readonly calls: CallsService,
    private readonly routing: RoutingService,
    private readonly streams: StreamCallService,
  ) {}

  /** `onJob` learns the job as soon as it is known, so a failed call's answer names it too. */
  async create(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    { req, raw }: ResponsesBody,
    onJob: (jobId: string) => void,
  ): Promise<Record<string, unknown>> {
    const body = await this.callBody(principal, { req, raw });
    const joined = jobIdOf(jobHeader);
    if (joined) onJob(joined);
    const done = joined
      ? await this.calls.call(principal, joined, body)
      : await this.calls.callOneCallJob(principal, toOneCallJob(req), body, onJob);
    const model = done.answered.deployment.modelName;
    if (done.value.raw) return withPublicModel(done.value.raw, model);
    return toResponse(responseId(done.settled.callId), done.value, model, req);
  }

  /** `stream: true`: the Responses API's events written to `res`, X-Job-Id set. */
  async stream(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    { req, raw }: ResponsesBody,
    httpReq: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const body = await this.callBody(principal, { req, raw });
    const options = { includeUsage: false, encoder: new ResponsesEncoder(req) };
    const joined = jobIdOf(jobHeader);
    if (joined) {
      const headers = { 'X-Job-Id': joined };
      await this.streams.stream(principal, joined, body, httpReq, res, { headers, ...options });
      return;
    }
    await this.streams.streamOneCallJob(principal, toOneCallJob(req), body, httpReq, res, options);
  }

  /** Responses are never stored: there is nothing to fetch. */
  retrieve(id: string): never {
    throw new TollgateError(
      'NOT_FOUND',
      `Response '${id.slice(0, 100)}' is not stored: this gateway is stateless (store is always false). Keep the output items you need and send them back as input.`,
    );
  }

  /**
   * The call body, after what a stateless gateway cannot do is refused, and after checking that
   * every deployment the request may reach can take it (translated ones: no built-in tools…).
   */
  private async callBody(principal: TeamPrincipal, { req, raw }: ResponsesBody): Promise<CallBody> {
    if (req.previous_response_id) {
      throw new InvalidParamError(
        'previous_response_id is not supported: this gateway stores no responses. Send the whole conversation as input (earlier output items included).',
        'previous_response_id',
      );
    }
    for (const field of ['conversation', 'background'] as const) {
      if (raw[field] !== undefined && raw[field] !== null && raw[field] !== false) {
        throw new InvalidParamError(
          `${field} is not supported: this gateway stores no responses or conversations.`,
          field,
        );
      }
    }
    const { body, problems } = toCallBody(req, raw);
    if (problems.length > 0) {
      const plan = await this.routing.plan(principal, req.model);
      // only OpenAI deployments take the body as is; any other one needs the translation
      if (plan.some((d) => d.provider !== 'openai')) throw problems[0];
    }
    return body;
  }
}
