import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TeamPrincipal } from '@app/auth';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { TollgateError } from '@app/http';
import { CallsService } from '../calls/calls.service';
import { AnthropicAdapter } from '../providers/anthropic.adapter';
import { approxTokens, promptText } from '../providers/tokens';
import { RoutingService } from '../routing/routing.service';
import { StreamCallService } from '../streaming/stream-call.service';
import { CountTokensRequestDto, MessagesRequestDto } from './dto/messages-request.dto';
import { CountTokensResponseDto, MessageResponseDto } from './dto/messages-response.dto';
import {
  estimateInputTokens,
  toCallBody,
  toMessagesResponse,
  toOneCallJob,
} from './messages.mapper';
import { MessagesStreamEncoder } from './messages-stream.encoder';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Anthropic's Messages API over the one call pipeline: each request joins the open job named by
 * `X-Job-Id`, or runs as a one-call job of type `messages`; routing, fallback, holds, rate
 * limits and settlement are the pipeline's, exactly as for chat completions.
 */
@Injectable()
export class AnthropicService {
  private readonly logger = new Logger('Messages');

  constructor(
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
    private readonly calls: CallsService,
    private readonly streams: StreamCallService,
    private readonly routing: RoutingService,
    private readonly anthropic: AnthropicAdapter,
  ) {}

  /** A non-streaming Messages call; `onJob` learns the job id as soon as it is known. */
  async create(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    req: MessagesRequestDto,
    beta: string | undefined,
    onJob: (jobId: string) => void,
  ): Promise<MessageResponseDto> {
    const body = toCallBody(req, beta);
    const joined = jobIdOf(jobHeader);
    if (joined) {
      onJob(joined);
      const done = await this.calls.call(principal, joined, body);
      return toMessagesResponse(
        done.settled.callId,
        done.value,
        done.answered.deployment.modelName,
      );
    }
    const done = await this.calls.callOneCallJob(principal, toOneCallJob(req), body, onJob);
    return toMessagesResponse(done.settled.callId, done.value, done.answered.deployment.modelName);
  }

  /** `stream: true`: Anthropic's events written to `res` by the streaming service. */
  async stream(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    req: MessagesRequestDto,
    beta: string | undefined,
    httpReq: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const body = toCallBody(req, beta);
    const encoder = new MessagesStreamEncoder(approxTokens(promptText(body.messages)));
    const joined = jobIdOf(jobHeader);
    if (joined) {
      const headers = { 'X-Job-Id': joined };
      await this.streams.stream(principal, joined, body, httpReq, res, {
        includeUsage: false,
        headers,
        encoder,
      });
      return;
    }
    await this.streams.streamOneCallJob(principal, toOneCallJob(req), body, httpReq, res, {
      includeUsage: false,
      encoder,
    });
  }

  /**
   * The prompt's size, not billed: Anthropic's own count (its count_tokens, free upstream) when
   * the model is served by an Anthropic deployment, else the gateway's estimate. Needs model
   * access like a call (404 unknown model, 403 not allowed).
   */
  async countTokens(
    principal: TeamPrincipal,
    req: CountTokensRequestDto,
  ): Promise<CountTokensResponseDto> {
    const plan = await this.routing.plan(principal, req.model);
    const first = plan[0];
    if (first?.provider === 'anthropic') {
      try {
        const signal = AbortSignal.timeout(this.config.upstream.timeoutMs);
        const body = req as unknown as Record<string, unknown>;
        return {
          input_tokens: await this.anthropic.countTokens(this.routing.target(first), body, signal),
        };
      } catch (err) {
        // an estimate is still an answer; the failure is the operator's to see
        this.logger.warn(
          `count_tokens upstream failed, answering the estimate: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return { input_tokens: estimateInputTokens(req) };
  }
}

/** The job a request joins, from `X-Job-Id`; undefined (absent or empty) = a one-call job. */
function jobIdOf(header: string | undefined): string | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (!UUID.test(value)) throw new TollgateError('VALIDATION_ERROR', 'X-Job-Id must be a UUID');
  return value;
}
