import { Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
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
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { CompletionsService } from './completions.service';
import { CompletionRequestDto } from './dto/completion-request.dto';
import { OpenAiBody } from './openai-body';

@ApiTags('OpenAI-compatible')
@TeamAuth()
@Controller()
export class CompletionsController {
  constructor(private readonly completions: CompletionsService) {}

  /** OpenAI legacy text completions, for openai, openai-compatible and mock deployments. */
  @Post('v1/completions')
  @HttpCode(200)
  @ApiBody({ type: CompletionRequestDto })
  @ApiHeader({
    name: 'X-Job-Id',
    required: false,
    description:
      'Join this open job; without it the request is a one-call job (id returned in X-Job-Id)',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    description: 'A text_completion object, or SSE text_completion chunks then `data: [DONE]`',
  })
  @ApiBadRequestResponse({
    description:
      'Malformed body (`param` names the field), or a model whose provider has no legacy completions',
  })
  @ApiForbiddenResponse({ description: 'Model not allowed, insufficient credits, team suspended' })
  @ApiNotFoundResponse({ description: 'Unknown model (code model_not_found) or X-Job-Id' })
  @ApiConflictResponse({ description: 'The X-Job-Id job is already completed or failed' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited (Retry-After)' })
  @ApiBadGatewayResponse({ description: 'Every upstream attempt failed' })
  @ApiGatewayTimeoutResponse({ description: 'Upstream timed out' })
  async create(
    @CurrentTeam() principal: TeamPrincipal,
    @Headers('x-job-id') jobId: string | undefined,
    @OpenAiBody(CompletionRequestDto) body: CompletionRequestDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (body.stream === true) return this.completions.stream(principal, jobId, body, req, res);
    const completion = await this.completions.complete(principal, jobId, body, (id) =>
      res.setHeader('X-Job-Id', id),
    );
    res.json(completion);
  }
}
