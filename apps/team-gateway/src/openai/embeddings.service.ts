import { Injectable } from '@nestjs/common';
import type { TeamPrincipal } from '@app/auth';
import { CallsService, CallSurface } from '../calls/calls.service';
import { embeddingInputTokens } from '../providers/openai.adapter';
import type { EmbeddingResult } from '../providers/provider.types';
import { ProvidersService } from '../providers/providers.service';
import { EmbeddingsRequestDto } from './dto/embeddings-request.dto';
import {
  EmbeddingsResponse,
  toEmbeddingCallBody,
  toEmbeddingRequest,
  toEmbeddingsJob,
  toEmbeddingsResponse,
} from './embeddings.mapper';
import { jobIdOf } from './openai.service';

/**
 * `POST /v1/embeddings` over the one call pipeline: a one-call job of type `embeddings` (or a call
 * in the X-Job-Id job), held for its input tokens, served by deployments whose provider embeds.
 */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly calls: CallsService,
    private readonly providers: ProvidersService,
  ) {}

  async create(
    principal: TeamPrincipal,
    jobHeader: string | undefined,
    req: EmbeddingsRequestDto,
    onJob: (jobId: string) => void,
  ): Promise<EmbeddingsResponse> {
    const body = toEmbeddingCallBody(req);
    const surface: CallSurface<EmbeddingResult> = {
      operation: 'embeddings',
      canServe: (provider) => this.providers.supports(provider, 'embed'),
      promptTokens: embeddingInputTokens(req.input),
      run: (target, _chat, signal) =>
        this.providers.adapterFor(target.provider).embed!(
          target,
          toEmbeddingRequest(req, target.providerModel),
          signal,
        ),
    };
    const joined = jobIdOf(jobHeader);
    if (joined) onJob(joined);
    const done = joined
      ? await this.calls.call(principal, joined, body, surface)
      : await this.calls.callOneCallJob(principal, toEmbeddingsJob(req), body, onJob, surface);
    return toEmbeddingsResponse(
      done.value,
      done.answered.deployment.modelName,
      req.encoding_format ?? 'float',
    );
  }
}
