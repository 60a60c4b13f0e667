import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import { TollgateError } from '@app/http';
import { CallsService } from '../calls/calls.service';
import { LlmCallDto } from '../calls/dto/llm-call.dto';
import { JobsService } from '../jobs/jobs.service';
import { ProvidersService } from '../providers/providers.service';
import { RoutingService } from '../routing/routing.service';
import { StreamCallService } from '../streaming/stream-call.service';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import {
  ChatCompletion,
  OpenAiModel,
  toCallBody,
  toChatCompletion,
  toModel,
  toOneCallJob,
} from './openai.mapper';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The OpenAI-compatible surface over jobs and calls: each request joins the open job named by
 * `X-Job-Id`, or runs as a one-call job of type `chat.completions` (completed, or failed when the
 * call fails).
 */
@Injectable()
export class OpenAiService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly calls: CallsService,
    private readonly providers: ProvidersService,
    private readonly routing: RoutingService,
    private readonly jobs: JobsService,
    private readonly streams: StreamCallService,
  ) {}

  /** `onJob` learns the job as soon as it is known, so a failed call's answer names it too. */
  async complete(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    req: ChatCompletionRequestDto,
    onJob: (jobId: string) => void = () => undefined,
  ): Promise<{ jobId: string; completion: ChatCompletion }> {
    const body = toCallBody(req);
    const joined = jobIdOf(jobHeader);
    if (joined) {
      onJob(joined);
      return { jobId: joined, completion: await this.call(principal, joined, body) };
    }
    const done = await this.calls.callOneCallJob(principal, toOneCallJob(req), body, onJob);
    return {
      jobId: done.jobId,
      completion: toChatCompletion(
        done.settled.callId,
        done.value,
        done.answered.deployment.modelName,
      ),
    };
  }

  /** `stream: true`: SSE chunks written to `res` by the streaming service, X-Job-Id set. */
  async stream(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    req: ChatCompletionRequestDto,
    httpReq: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const body = toCallBody(req);
    const includeUsage = req.stream_options?.include_usage === true;
    const joined = jobIdOf(jobHeader);
    if (joined) {
      const headers = { 'X-Job-Id': joined };
      await this.streams.stream(principal, joined, body, httpReq, res, { includeUsage, headers });
      return;
    }
    await this.streams.streamOneCallJob(principal, toOneCallJob(req), body, httpReq, res, {
      includeUsage,
    });
  }

  /** Every value the key may send as `model`: model names and group names. */
  async listModels(principal: TeamPrincipal): Promise<{ object: 'list'; data: OpenAiModel[] }> {
    const models = await this.routing.usableModels(principal);
    return { object: 'list', data: models.map((m) => toModel(m.name, m.created)) };
  }

  /** One model or group name: 404 model_not_found when unknown, 403 when the key may not use it. */
  async getModel(principal: TeamPrincipal, model: string): Promise<OpenAiModel> {
    await this.routing.resolve(principal, model);
    return toModel(model, await this.routing.createdAt(model));
  }

  /** A non-streaming call inside an open job. */
  private async call(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
  ): Promise<ChatCompletion> {
    const done = await this.calls.call(principal, jobId, body);
    return toChatCompletion(done.settled.callId, done.value, done.answered.deployment.modelName);
  }
}

/** The job a request joins, from `X-Job-Id`; undefined (absent or empty) = a one-call job. */
export function jobIdOf(header: string | undefined): string | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (!UUID.test(value)) throw new TollgateError('VALIDATION_ERROR', 'X-Job-Id must be a UUID');
  return value;
}
