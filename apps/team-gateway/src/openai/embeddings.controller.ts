import { Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { EmbeddingsRequestDto } from './dto/embeddings-request.dto';
import { EmbeddingsResponse } from './embeddings.mapper';
import { EmbeddingsService } from './embeddings.service';
import { OpenAiBody } from './openai-body';

@ApiTags('OpenAI-compatible')
@TeamAuth()
@Controller()
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  /** OpenAI embeddings; billed for `usage.prompt_tokens` at the deployment's input price. */
  @Post('v1/embeddings')
  @HttpCode(200)
  @ApiBody({ type: EmbeddingsRequestDto })
  @ApiHeader({
    name: 'X-Job-Id',
    required: false,
    description:
      'Join this open job; without it the request is a one-call job (id returned in X-Job-Id)',
  })
  @ApiOkResponse({ description: 'A list of embedding objects, with usage' })
  @ApiBadRequestResponse({
    description: 'Malformed body (`param` names the field), or a model whose provider cannot embed',
  })
  @ApiForbiddenResponse({ description: 'Model not allowed, insufficient credits, team suspended' })
  @ApiNotFoundResponse({ description: 'Unknown model (code model_not_found) or X-Job-Id' })
  @ApiConflictResponse({ description: 'The X-Job-Id job is already completed or failed' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited (Retry-After)' })
  @ApiBadGatewayResponse({ description: 'Every upstream attempt failed' })
  @ApiGatewayTimeoutResponse({ description: 'Upstream timed out' })
  create(
    @CurrentTeam() principal: TeamPrincipal,
    @Headers('x-job-id') jobId: string | undefined,
    @OpenAiBody(EmbeddingsRequestDto) body: EmbeddingsRequestDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EmbeddingsResponse> {
    return this.embeddings.create(principal, jobId, body, (id) => res.setHeader('X-Job-Id', id));
  }
}
