import { Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AnyResponse, rawResponse } from '@app/http';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { EmbeddingsRequestDto } from './dto/embeddings-request.dto';
import { EmbeddingsResponse } from './embeddings.mapper';
import { EmbeddingsService } from './embeddings.service';
import { OpenAiBody } from './openai-body';
import { CallRouteDocs } from '../calls/call-route.docs';

@ApiTags('OpenAI-compatible')
@TeamAuth()
@Controller()
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  /** OpenAI embeddings; billed for `usage.prompt_tokens` at the deployment's input price. */
  @Post('v1/embeddings')
  @HttpCode(200)
  @CallRouteDocs({
    body: EmbeddingsRequestDto,
    streams: false,
    ok: { description: 'A list of embedding objects, with usage' },
    badRequest: 'Malformed body (`param` names the field), or a model whose provider cannot embed',
  })
  create(
    @CurrentTeam() principal: TeamPrincipal,
    @Headers('x-job-id') jobId: string | undefined,
    @OpenAiBody(EmbeddingsRequestDto) body: EmbeddingsRequestDto,
    @Res({ passthrough: true }) res: AnyResponse,
  ): Promise<EmbeddingsResponse> {
    return this.embeddings.create(principal, jobId, body, (id) =>
      rawResponse(res).setHeader('X-Job-Id', id),
    );
  }
}
