import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TeamPrincipal } from '@app/auth';
import { CallsService, CallSurface } from '../calls/calls.service';
import type { ChatResult } from '../providers/provider.types';
import { ProvidersService } from '../providers/providers.service';
import { StreamCallService, StreamSurface } from '../streaming/stream-call.service';
import { CompletionRequestDto } from './dto/completion-request.dto';
import {
  TextCompletion,
  TextCompletionEncoder,
  toCompletionCallBody,
  toCompletionsJob,
  toTextCompletion,
  toTextRequest,
} from './completions.mapper';
import { jobIdOf } from './openai.service';

/**
 * `POST /v1/completions` (legacy text completions) over the one call pipeline, for deployments
 * whose adapter speaks it (openai, openai-compatible, mock): a one-call job of type
 * `completions`, or a call in the X-Job-Id job; streams go through the same metered stream.
 */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly calls: CallsService,
    private readonly providers: ProvidersService,
    private readonly streams: StreamCallService,
  ) {}

  async complete(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    req: CompletionRequestDto,
    onJob: (jobId: string) => void,
  ): Promise<TextCompletion> {
    const body = toCompletionCallBody(req);
    const surface: CallSurface<ChatResult> = {
      run: (target, request, signal) =>
        this.providers.adapterFor(target.provider).completeText!(
          target,
          toTextRequest(req, request),
          signal,
        ),
      ...this.spec(),
    };
    const joined = jobIdOf(jobHeader);
    if (joined) onJob(joined);
    const done = joined
      ? await this.calls.call(principal, joined, body, surface)
      : await this.calls.callOneCallJob(principal, toCompletionsJob(req), body, onJob, surface);
    return toTextCompletion(done.settled.callId, done.value, done.answered.deployment.modelName);
  }

  /** `stream: true`: text_completion chunks, then `data: [DONE]`; X-Job-Id set. */
  async stream(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    req: CompletionRequestDto,
    httpReq: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const body = toCompletionCallBody(req);
    const includeUsage = req.stream_options?.include_usage === true;
    const surface: StreamSurface = {
      stream: (target, request, signal) =>
        this.providers.adapterFor(target.provider).streamText!(
          target,
          toTextRequest(req, request),
          signal,
        ),
      ...this.spec(),
    };
    const options = {
      includeUsage,
      surface,
      encoder: new TextCompletionEncoder(`cmpl-${randomUUID()}`, includeUsage),
    };
    const joined = jobIdOf(jobHeader);
    if (joined) {
      const headers = { 'X-Job-Id': joined };
      await this.streams.stream(principal, joined, body, httpReq, res, { headers, ...options });
      return;
    }
    await this.streams.streamOneCallJob(
      principal,
      toCompletionsJob(req),
      body,
      httpReq,
      res,
      options,
    );
  }

  private spec() {
    return {
      operation: 'legacy completions (/v1/completions)',
      canServe: (provider: Parameters<ProvidersService['supports']>[0]) =>
        this.providers.supports(provider, 'completeText'),
    };
  }
}
